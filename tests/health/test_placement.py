"""A host the watcher marked unreachable takes no new VMs, until it is online again; only
while it was lost less than the outage window ago, and no online host has room, is it
chosen (an order during a libvirtd restart is not refused: its deploy waits)."""

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.hosts.health import connection_lost
from apps.hosts.models import Host, HostStatus
from apps.vms.placement import NoCapacity, choose_host

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = {"vcpus": 1, "memory_mb": 512, "disk_gb": 5}


@pytest.fixture
def two_hosts():
    room = {"status": HostStatus.ONLINE, "cpus": 8, "memory_mb": 16384, "disk_bytes": 100 * 2**30}
    big = Host.objects.create(name="big", uri="qemu+tcp://127.0.0.11/system", **{**room, "memory_mb": 65536})
    small = Host.objects.create(name="small", uri="qemu+tcp://127.0.0.12/system", **room)
    return big, small


def lose(host, reason):
    """What the driver does when a host's connection closes: the listener, from its own thread."""
    thread = threading.Thread(target=connection_lost, args=(host.uri, reason))
    thread.start()
    thread.join(10)


def place(**kwargs):
    with transaction.atomic():
        return choose_host(**SIZE, **kwargs)


def test_an_unreachable_host_is_skipped_and_taken_again_once_online(two_hosts):
    big, small = two_hosts
    assert place() == big  # spread: the most free memory

    lose(big, "host stopped answering keepalive probes")
    assert place() == small

    Host.objects.filter(pk=big.pk).update(status=HostStatus.ONLINE)
    assert place() == big


def test_an_unreachable_host_cannot_be_chosen_by_hand_either(two_hosts):
    big, _ = two_hosts
    lose(big, "connection closed by the host")
    big.refresh_from_db()
    with pytest.raises(NoCapacity, match="not online"):
        place(host=big)


def test_with_every_host_unreachable_nothing_is_placed(two_hosts):
    for host in two_hosts:
        lose(host, "gone")
    with pytest.raises(NoCapacity, match="No online host"):
        place()


def test_an_order_during_a_restart_goes_to_a_host_lost_a_moment_ago_when_no_online_one_has_room(two_hosts, settings):
    settings.VMM_HOST_OUTAGE_WINDOW = 60
    big, small = two_hosts
    lose(big, "connection closed by the host")
    assert place() == small  # an online host with room comes first
    lose(small, "connection closed by the host")
    assert place() == big  # then a host lost a moment ago: its deploy waits for it
    assert place(host=small) == small  # staff's pin too


def test_a_host_lost_longer_than_the_window_takes_no_order(two_hosts, settings):
    settings.VMM_HOST_OUTAGE_WINDOW = 60
    for host in two_hosts:
        lose(host, "gone")
    long_ago = timezone.now() - timedelta(seconds=61)
    Host.objects.update(updated_at=long_ago)
    lose(two_hosts[0], "still gone")  # the watcher telling again does not make it recent
    with pytest.raises(NoCapacity, match="No online host"):
        place()
    assert Host.objects.get(pk=two_hosts[0].pk).status_reason == "Connection lost: still gone"
