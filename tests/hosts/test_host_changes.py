"""Adding a host, changing its settings and checking it again (apps.hosts.services): staff
only; the model's rules and a name or URI already taken are refused on their field, also
when two adds of the same host arrive at the same moment."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.hosts.models import Cluster, Host
from apps.hosts.services import add_host, refresh_host_now, update_host
from apps.jobs.models import Job
from tests.concurrency import first_commits_once_the_second_waits

KVM2 = {"name": "kvm-2", "uri": "qemu+ssh://root@203.0.113.7/system", "domain_type": "kvm"}


def test_staff_add_a_host_and_its_check_is_queued(admin_user):
    host, job = add_host(admin_user, request_id="add-host-0001", **KVM2)

    assert Host.objects.get(name="kvm-2") == host and host.storage_pool == "vmmanager"  # the model's default
    assert (job.kind, job.target, job.actor, job.request_id) == ("host_refresh", host, admin_user, "add-host-0001")


@pytest.mark.parametrize("who", ["reseller", "customer"])
def test_no_one_but_staff_adds_changes_or_checks_a_host(request, who, test_host):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied, match="Only the provider's staff"):
        add_host(user, **KVM2)
    with pytest.raises(PermissionDenied):
        update_host(user, test_host, name="renamed")
    with pytest.raises(PermissionDenied):
        refresh_host_now(user, test_host)
    assert not Job.objects.exists() and Host.objects.get().name == "test-host"


def test_the_models_rules_are_refused_on_their_fields(admin_user):
    with pytest.raises(ValidationError) as refused:
        add_host(admin_user, **{**KVM2, "uri": "http://example.com/"})
    assert list(refused.value.message_dict) == ["uri"]
    with pytest.raises(ValidationError) as refused:
        add_host(admin_user, **{**KVM2, "storage_path": "pool"})
    assert list(refused.value.message_dict) == ["storage_path"]
    assert not Host.objects.exists() and not Job.objects.exists()


def test_a_name_or_uri_already_taken_is_refused_on_its_field(admin_user, test_host):
    with pytest.raises(ValidationError) as refused:
        add_host(admin_user, **{**KVM2, "name": "test-host"})
    assert list(refused.value.message_dict) == ["name"]
    other, _job = add_host(admin_user, **KVM2, cluster=Cluster.objects.create(name="kvm"))
    with pytest.raises(ValidationError) as refused:
        update_host(admin_user, other, uri="test:///default")
    assert list(refused.value.message_dict) == ["uri"]
    assert Host.objects.get(pk=other.pk).uri == KVM2["uri"]


def test_staff_change_a_hosts_settings(admin_user, test_host):
    update_host(admin_user, test_host, network="", storage_pool="fast")
    test_host.refresh_from_db()
    assert (test_host.network, test_host.storage_pool) == ("", "fast")


def test_check_now_queues_another_host_refresh(admin_user, test_host):
    job = refresh_host_now(admin_user, test_host)
    assert (job.kind, job.target, job.status) == ("host_refresh", test_host, "queued")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("taken", ["name", "uri"])
def test_two_adds_of_one_host_at_the_same_moment_refuse_the_second_on_the_field(admin_user, monkeypatch, taken):
    monkeypatch.setattr("apps.jobs.runner.enqueue", lambda job, sync=None: None)  # no worker here
    second = {**KVM2, **{"name": "kvm-3", "uri": "qemu+ssh://root@203.0.113.8/system"}, taken: KVM2[taken]}

    with first_commits_once_the_second_waits(lambda: add_host(admin_user, **KVM2)):
        with pytest.raises(ValidationError) as refused:
            add_host(admin_user, **second)

    assert list(refused.value.message_dict) == [taken]
    assert Host.objects.count() == 1 and Job.objects.count() == 1
