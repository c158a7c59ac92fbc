"""Compute a cluster's baseline CPU (apps/hosts/clusters.py; docs/clusters.md): the richest
CPU every host of the cluster runs for its guests, from the CPUs the hosts' checks read.
Queued when a host joins or leaves the cluster or a host's CPU changed; staff may start it."""

from apps.hosts.clusters import compute_baseline

STEPS = ["Compute the baseline CPU"]


def run(ctx, cluster):
    with ctx.step("Compute the baseline CPU"):
        compute_baseline(cluster, ctx.note)
