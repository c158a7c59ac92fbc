"""Clusters (docs/clusters.md): every host is in exactly one (the default unless chosen);
the first host of an empty cluster sets its setup and a host that does not match is refused
naming the field; staff alone manage clusters; a cluster with hosts is not deleted; the
baseline CPU is computed again by a job when a host joins or leaves or its CPU changes."""

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError

from apps.hosts import clusters
from apps.hosts.models import Cluster, Host
from apps.hosts.services import add_host, refresh_host, update_host
from apps.jobs.models import Job
from tests.api.conftest import client_for

KVM = {"uri": "qemu+ssh://root@203.0.113.7/system", "domain_type": "kvm", "storage_path": "/srv/pool"}


def baseline_jobs(cluster):
    return Job.objects.filter(kind="cluster_baseline", target_id=cluster.pk).count()


def test_a_host_goes_to_the_default_cluster_unless_another_is_chosen_and_must_match_it(admin_user, test_host):
    default = Cluster.default()
    assert test_host.cluster == default and default.name == "default"
    assert (default.domain_type, default.network, default.storage_path) == ("qemu", "default", "/default-pool")
    # Not chosen: a host whose setup differs from the default cluster's gets a cluster of its
    # own, named after it (as `manage.py host add`, which names no cluster, needs).
    own, _job = add_host(admin_user, name="kvm-0", **{**KVM, "uri": "qemu+ssh://root@203.0.113.9/system"})
    assert own.cluster != default
    assert (own.cluster.name, own.cluster.domain_type, own.cluster.storage_path) == ("kvm-0", "kvm", "/srv/pool")
    # Chosen: the host must match it.
    with pytest.raises(ValidationError) as refused:
        add_host(admin_user, name="kvm-1", cluster=default, **KVM)
    errors = refused.value.message_dict
    assert set(errors) == {"domain_type", "storage_path"}
    assert errors["domain_type"] == [
        "The hosts of cluster default have domain type 'qemu', this host 'kvm': hosts of one cluster share "
        "virtualization type, network and storage path. Change it, or choose another cluster."
    ]
    # An empty cluster takes the setup of its first host; the next must match it.
    east = clusters.add_cluster(admin_user, name="east", description="rack 2")
    first, _job = add_host(admin_user, name="kvm-1", cluster=east, **KVM)
    east.refresh_from_db()
    assert first.cluster == east and (east.domain_type, east.storage_path) == ("kvm", "/srv/pool")
    with pytest.raises(ValidationError) as refused:
        add_host(
            admin_user,
            name="kvm-2",
            cluster=east.pk,
            **{**KVM, "uri": "qemu+ssh://root@203.0.113.8/system"},
            network="",
        )
    assert list(refused.value.message_dict) == ["network"]
    # Through the API: 400 naming the field; a cluster that does not exist is said on `cluster`.
    api = client_for(admin_user)
    body = {"name": "kvm-2", "cluster": east.pk, **KVM, "uri": "qemu+ssh://root@203.0.113.8/system", "network": ""}
    answer = api.post("/api/v1/hosts/", body, format="json")
    assert answer.status_code == 400 and [e["field"] for e in answer.json()["errors"]] == ["network"]
    answer = api.post("/api/v1/hosts/", {**body, "network": "default", "cluster": 999999}, format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "cluster"
    answer = api.post("/api/v1/hosts/", {**body, "network": "default"}, format="json")
    assert answer.status_code == 201 and answer.json()["host"]["cluster"] == east.pk


@pytest.mark.django_db(transaction=True)
def test_two_hosts_joining_an_empty_cluster_at_once_with_different_setups_are_checked_in_turn(admin_user, monkeypatch):
    """Both have passed their checks (the cluster empty) before the first commits: the second
    waits for it, then sees it there and is refused on the field that differs."""
    from tests.concurrency import first_commits_once_the_second_waits

    monkeypatch.setattr("apps.jobs.runner.enqueue", lambda job, sync=None: None)  # no worker here
    east = clusters.add_cluster(admin_user, name="east")
    with first_commits_once_the_second_waits(lambda: add_host(admin_user, name="kvm-1", cluster=east, **KVM)):
        with pytest.raises(ValidationError) as refused:
            add_host(
                admin_user, name="qemu-1", cluster=east, uri="qemu+ssh://root@203.0.113.8/system", domain_type="qemu"
            )
    assert set(refused.value.message_dict) == {"domain_type", "storage_path"}
    east.refresh_from_db()
    assert [h.name for h in east.hosts.all()] == ["kvm-1"] and (east.domain_type, east.storage_path) == (
        "kvm",
        "/srv/pool",
    )


def test_a_host_alone_in_its_cluster_changes_its_setup_and_moving_a_host_recomputes_both_baselines(
    admin_user, test_host
):
    default = test_host.cluster
    update_host(admin_user, test_host, network="")
    default.refresh_from_db()
    assert default.network == ""  # alone there: the cluster follows
    east = Cluster.objects.create(name="east")
    before = (baseline_jobs(default), baseline_jobs(east))
    answer = client_for(admin_user).patch(f"/api/v1/hosts/{test_host.pk}/", {"cluster": east.pk}, format="json")
    assert answer.status_code == 200 and answer.json()["cluster"] == east.pk
    assert Host.objects.get(pk=test_host.pk).cluster == east
    assert (baseline_jobs(default), baseline_jobs(east)) == (before[0] + 1, before[1] + 1)
    entry = LogEntry.objects.get_for_object(test_host).latest("timestamp")
    assert entry.actor == admin_user and "cluster" in entry.changes


def test_a_changed_cpu_read_by_the_check_recomputes_the_baseline(
    admin_user, test_host, django_capture_on_commit_callbacks
):
    """The test driver cannot tell its CPU: a host that told one before no longer does, so the
    baseline is computed again, and without any known CPU it is emptied, naming the host."""
    Host.objects.filter(pk=test_host.pk).update(cpu_xml="<cpu mode='custom'><model>EPYC</model></cpu>")
    Cluster.objects.filter(pk=test_host.cluster_id).update(cpu_xml="<cpu/>", cpu_model="EPYC")
    test_host.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        refresh_host(test_host)
    job = Job.objects.get(kind="cluster_baseline")
    assert job.status == "succeeded", job.error
    cluster = Cluster.objects.get(pk=test_host.cluster_id)
    assert (cluster.cpu_xml, cluster.cpu_model) == ("", "")
    assert "CPU unknown, left out: test-host" in cluster.cpu_note and cluster.cpu_computed_at
    with django_capture_on_commit_callbacks(execute=True):
        refresh_host(test_host)  # nothing changed: no new job
    assert Job.objects.filter(kind="cluster_baseline").count() == 1


def test_only_staff_manage_clusters_and_one_with_hosts_is_not_deleted(admin_user, reseller, customer, test_host):
    for user in (reseller, customer):
        with pytest.raises(PermissionDenied):
            clusters.add_cluster(user, name="mine")
        with pytest.raises(PermissionDenied):
            clusters.compute_baseline_now(user, test_host.cluster)
        assert client_for(user).get("/api/v1/clusters/").status_code == 403
    with pytest.raises(ValidationError) as refused:
        clusters.delete_cluster(admin_user, test_host.cluster)
    assert refused.value.message_dict == {
        "cluster": ["Cluster default has 1 host(s): move them to another cluster first."]
    }
    api = client_for(admin_user)
    answer = api.delete(f"/api/v1/clusters/{test_host.cluster_id}/")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "cluster"
    made = api.post("/api/v1/clusters/", {"name": "spare"}, format="json")
    assert made.status_code == 201, made.content
    assert api.post("/api/v1/clusters/", {"name": "spare"}, format="json").json()["errors"][0]["field"] == "name"
    spare = Cluster.objects.get(name="spare")
    assert LogEntry.objects.get_for_object(spare).latest("timestamp").actor == admin_user
    assert api.patch(f"/api/v1/clusters/{spare.pk}/", {"description": "later"}, format="json").status_code == 200
    answer = api.post(f"/api/v1/clusters/{spare.pk}/baseline/")
    assert answer.status_code == 202 and answer.json()["job"]["kind"] == "cluster_baseline"
    assert api.delete(f"/api/v1/clusters/{spare.pk}/").status_code == 204
    assert not Cluster.objects.filter(name="spare").exists()


def test_the_cluster_pages_show_hosts_and_baseline_to_staff_only(admin_user, customer, test_host):
    from django.test import Client
    from django.urls import reverse

    cluster = test_host.cluster
    Cluster.objects.filter(pk=cluster.pk).update(
        cpu_model="EPYC", cpu_xml="<cpu mode='custom'><model>EPYC</model></cpu>"
    )
    staff = Client()
    staff.force_login(admin_user)
    listed = staff.get(reverse("ui:cluster_list")).content.decode()
    assert "default" in listed and "test-host" in listed and "EPYC" in listed
    page = staff.get(reverse("ui:cluster_detail", args=[cluster.pk])).content.decode()
    assert "test-host" in page and "CPU definition" in page and "/default-pool" in page
    assert staff.get(reverse("ui:cluster_edit", args=[cluster.pk])).status_code == 200
    assert staff.get(reverse("ui:cluster_add")).status_code == 200
    host_page = staff.get(reverse("ui:host_detail", args=[test_host.pk])).content.decode()
    assert "data-host-cluster" in host_page and "guest CPU EPYC" in host_page
    assert 'name="cluster"' in staff.get(reverse("ui:host_edit", args=[test_host.pk])).content.decode()
    assert 'name="cluster"' in staff.get(reverse("ui:vm_create")).content.decode()
    other = Client()
    other.force_login(customer)
    for url in (reverse("ui:cluster_list"), reverse("ui:cluster_detail", args=[cluster.pk])):
        assert other.get(url).status_code == 404
    assert 'name="cluster"' not in other.get(reverse("ui:vm_create")).content.decode()
