import threading

import pytest

from apps.hosts.health import connection_lost
from apps.hosts.models import Host, HostStatus
from apps.virt import connection

pytestmark = pytest.mark.django_db(transaction=True)


def lose(uri, reason):
    """Call the listener as the driver does: from another thread (its event loop)."""
    thread = threading.Thread(target=connection_lost, args=(uri, reason))
    thread.start()
    thread.join(10)


def test_the_panel_listens_for_lost_connections():
    assert connection_lost in connection._listeners


def test_a_lost_connection_marks_its_host_unreachable_with_the_reason(test_host):
    other = Host.objects.create(name="other", uri="qemu+tcp://127.0.0.12/system", status=HostStatus.ONLINE)

    lose("test:///default", "keepalive timeout")

    test_host.refresh_from_db()
    other.refresh_from_db()
    assert test_host.status == HostStatus.UNREACHABLE
    assert "keepalive timeout" in test_host.status_reason
    assert other.status == HostStatus.ONLINE


def test_a_host_in_maintenance_stays_in_maintenance_when_its_connection_drops(test_host):
    Host.objects.filter(pk=test_host.pk).update(status=HostStatus.MAINTENANCE)

    lose("test:///default", "daemon gone")

    test_host.refresh_from_db()
    assert test_host.status == HostStatus.MAINTENANCE
