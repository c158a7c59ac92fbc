from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.hosts.services import refresh_host


def test_a_reachable_host_is_online_with_its_capacity(test_host):
    Host.objects.filter(pk=test_host.pk).update(status=HostStatus.UNREACHABLE)
    test_host.refresh_from_db()

    refresh_host(test_host)

    info = hypervisor_for(test_host).host_info()
    assert test_host.status == HostStatus.ONLINE
    assert test_host.cpus == info.cpus > 0
    assert test_host.memory_mb == info.memory_mb > 0
    assert test_host.disk_bytes > 0
    assert test_host.last_seen_at is not None
    assert test_host.status_reason == ""


def test_an_unreachable_host_is_marked_so_with_the_reason(db):
    host = Host.objects.create(name="gone", uri="qemu+tcp://127.0.0.1:1/system", status=HostStatus.ONLINE)

    refresh_host(host)

    assert host.status == HostStatus.UNREACHABLE
    assert host.status_reason
    assert not host.accepts_vms


def test_a_host_in_maintenance_stays_in_maintenance(test_host):
    Host.objects.filter(pk=test_host.pk).update(status=HostStatus.MAINTENANCE)
    test_host.refresh_from_db()

    refresh_host(test_host)

    assert test_host.status == HostStatus.MAINTENANCE
    assert test_host.cpus > 0
