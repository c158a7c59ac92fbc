"""Maintenance mode (docs/migration.md): staff put a host into maintenance and take it out;
while in it, no new VM is placed there (an order naming it is refused saying so), and the
change is in the audit log with who made it."""

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError

from apps.hosts.models import Host, HostStatus
from apps.hosts.services import set_maintenance
from apps.jobs.models import Job
from apps.vms.create import create_vm
from tests.api.conftest import client_for

ROOM = {"cpus": 8, "memory_mb": 16384, "disk_bytes": 200 * 2**30}
ORDER = {"vcpus": 1, "memory_mb": 1024, "disk_gb": 4, "password": "Correct-Horse-7"}


@pytest.fixture
def two_hosts(test_host):
    Host.objects.filter(pk=test_host.pk).update(**ROOM)
    test_host.refresh_from_db()
    other = Host.objects.create(name="other", uri="test:///default?other", status=HostStatus.ONLINE, **ROOM)
    return test_host, other


def test_a_host_in_maintenance_takes_no_new_vms_and_an_order_naming_it_is_refused(
    admin_user, customer, two_hosts, ready_image
):
    host, other = two_hosts
    api = client_for(admin_user)
    answer = api.post(f"/api/v1/hosts/{host.pk}/maintenance/", {"on": True}, format="json")
    assert answer.status_code == 200 and answer.json()["job"] is None, answer.content
    host.refresh_from_db()
    assert host.status == HostStatus.MAINTENANCE
    entry = LogEntry.objects.get_for_object(host).latest("timestamp")
    assert entry.actor == admin_user and "maintenance" in str(entry.changes)

    vm, _job = create_vm(customer, name="a", image=ready_image, **ORDER)
    assert vm.host == other  # placement skips the host in maintenance

    body = {"name": "b", "image": ready_image.pk, "owner": customer.pk, "host": host.pk, **ORDER}
    answer = api.post("/api/v1/vms/", body, format="json")
    assert answer.status_code == 400, answer.content
    [error] = answer.json()["errors"]
    assert error["field"] == "host"
    assert error["message"] == f"Host {host.name} is in maintenance: it takes no new VMs."


def test_taking_a_host_out_of_maintenance_checks_it_again(admin_user, two_hosts):
    host, _other = two_hosts
    set_maintenance(admin_user, host, True)
    answer = client_for(admin_user).post(f"/api/v1/hosts/{host.pk}/maintenance/", {"on": False}, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["job"]["kind"] == "host_refresh"
    host.refresh_from_db()
    assert host.status == HostStatus.UNREACHABLE and "being checked" in host.status_reason
    # Asking again for what already is changes nothing and starts nothing.
    jobs = Job.objects.count()
    assert set_maintenance(admin_user, host, False) == (host, None) and Job.objects.count() == jobs


def test_only_staff_set_maintenance_and_only_with_a_boolean(admin_user, reseller, two_hosts):
    host, _other = two_hosts
    with pytest.raises(PermissionDenied):
        set_maintenance(reseller, host, True)
    with pytest.raises(ValidationError) as refused:
        set_maintenance(admin_user, host, "yes")
    assert "on" in refused.value.message_dict
    answer = client_for(admin_user).post(f"/api/v1/hosts/{host.pk}/maintenance/", {"on": "true"}, format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "on"
    assert Host.objects.get(pk=host.pk).status == HostStatus.ONLINE
