"""Clusters (docs/clusters.md): what can be done to them, for the web UI, the API and the
admin alike, and when their baseline CPU is computed again.

- `add_cluster`, `update_cluster` (name, description), `delete_cluster` (only an empty one):
  the provider's staff; anyone else gets PermissionDenied (the rule of hosts). Refused input
  is a ValidationError keyed by the field.
- `compute_baseline_now`: staff start the `cluster_baseline` job by hand.
- `queue_baseline`: the panel starts it when a host joins or leaves the cluster, or a host's
  check reads a CPU other than the one it had (apps.hosts.services). A job already queued
  for the cluster serves.
- `compute_baseline`: the job's work: libvirt's baseline of the CPUs its hosts offer their
  guests (read by the host checks), computed by one of its hosts (apps.virt.cpu).
"""

import logging

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Cluster, HostStatus
from apps.hosts.services import check_may_manage_hosts, save_checked
from apps.virt.domain_xml import cpu_model_name

logger = logging.getLogger("vmmanager.hosts")
OPERATION = "cluster_baseline"
SETTINGS = ("name", "description")


def add_cluster(actor, **settings):
    """Create an empty cluster (its setup comes from its first host). Returns it."""
    check_may_manage_hosts(actor)
    cluster = Cluster(**_settings(settings))
    _save(cluster)
    return cluster


def update_cluster(actor, cluster, **settings):
    """Rename `cluster` or change its description. Returns it."""
    check_may_manage_hosts(actor)
    for field, value in _settings(settings).items():
        setattr(cluster, field, value)
    _save(cluster)
    return cluster


def delete_cluster(actor, cluster):
    """Delete an empty cluster; one with hosts is refused (ValidationError on `cluster`)."""
    check_may_manage_hosts(actor)
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        count = cluster.hosts.count()
        if count:
            message = _("Cluster %(cluster)s has %(count)d host(s): move them to another cluster first.") % {
                "cluster": cluster.name,
                "count": count,
            }
            raise ValidationError({"cluster": ValidationError(message, code="protected")})
        cluster.delete()


def compute_baseline_now(actor, cluster, *, request_id=None):
    """Start the `cluster_baseline` job on `cluster` (staff; always a new one). Returns the Job."""
    from apps.jobs import runner

    check_may_manage_hosts(actor)
    return runner.submit(OPERATION, cluster, actor=actor, request_id=request_id)


def queue_baseline(cluster, *, actor=None, request_id=None):
    """Have `cluster`'s baseline computed again by a job, once the transaction commits; a
    job still queued for it is returned instead of a second one."""
    from apps.jobs import runner
    from apps.jobs.models import Job, JobStatus

    queued = Job.objects.filter(
        kind=OPERATION,
        target_type=ContentType.objects.get_for_model(Cluster),
        target_id=cluster.pk,
        status=JobStatus.QUEUED,
    ).first()
    return queued or runner.submit(OPERATION, cluster, actor=actor, request_id=request_id)


def compute_baseline(cluster, note):
    """Compute and save `cluster`'s baseline CPU; `note(text)` tells what was done. Hosts
    whose CPU is unknown (never reached yet, or their libvirt cannot tell: the test driver)
    are left out and named. Without any known CPU the baseline is emptied (guests get QEMU's
    default CPU). Raises the driver's errors (the previous baseline is then kept)."""
    hosts = list(cluster.hosts.order_by("name"))
    known = [host for host in hosts if host.cpu_xml]
    unknown = [host.name for host in hosts if not host.cpu_xml]
    lines = []
    if unknown:
        lines.append(f"CPU unknown, left out: {', '.join(unknown)}")
    if not known:
        xml = ""
        lines.append("no host of the cluster told its CPU: no baseline, guests get QEMU's default CPU")
    else:
        online = [host for host in known if host.status == HostStatus.ONLINE]
        computer = (online or known)[0]
        xml = hypervisor_for(computer).baseline_cpu([host.cpu_xml for host in known], cluster.domain_type)
        lines.append(
            f"baseline {cpu_model_name(xml)} of {len(known)} host(s) ({', '.join(h.name for h in known)}), "
            f"for {cluster.domain_type} guests, computed by {computer.name}"
        )
    for line in lines:
        note(line)
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        cluster.cpu_xml = xml
        cluster.cpu_model = cpu_model_name(xml)[:64]
        cluster.cpu_note = "; ".join(lines)
        cluster.cpu_computed_at = timezone.now()
        cluster.save(update_fields=["cpu_xml", "cpu_model", "cpu_note", "cpu_computed_at", "updated_at"])
    if cluster.cpu_model:
        logger.info("cluster %s: baseline CPU %s", cluster.name, cluster.cpu_model)
    return cluster


def _settings(settings):
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise TypeError(f"not a cluster setting: {', '.join(sorted(unknown))}")
    return settings


def _save(cluster):
    save_checked(cluster, {"name": _("A cluster with this name was just added.")})
