"""Several collectors at once: hosts shared out without double work, a dead collector's
hosts taken over, a newcomer given its share."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.stats.collector import Collector
from apps.stats.models import Lease, VmSample
from apps.stats.sharding import MAINTENANCE, Membership, assign, host_key

pytestmark = pytest.mark.django_db

KEYS = [host_key(i) for i in range(1, 201)] + [MAINTENANCE]


def test_rendezvous_hashing_gives_every_key_to_exactly_one_collector_and_roughly_evenly():
    shares = assign(KEYS, ["a", "b", "c"])
    assert set(shares) == set(KEYS)
    counts = {name: list(shares.values()).count(name) for name in "abc"}
    assert all(40 <= n <= 100 for n in counts.values()), counts


def test_adding_a_collector_moves_only_the_keys_it_wins():
    before = assign(KEYS, ["a", "b"])
    after = assign(KEYS, ["a", "b", "c"])
    moved = [k for k in KEYS if before[k] != after[k]]
    assert moved and all(after[k] == "c" for k in moved)


def test_two_collectors_split_the_hosts_and_never_hold_the_same_one(node_host):
    hosts = [node_host(f"h{i}", vms=1)[0] for i in range(8)]
    keys = {host_key(h.pk) for h in hosts} | {MAINTENANCE}
    a, b = Membership("a", ttl=20), Membership("b", ttl=20)
    a.heartbeat()
    b.heartbeat()
    held_a, held_b = a.claim(keys), b.claim(keys)
    assert held_a | held_b == keys and not held_a & held_b
    assert held_a == {k for k, owner in assign(keys, ["a", "b"]).items() if owner == "a"}
    # Claiming again (the next interval) changes nothing.
    assert a.claim(keys) == held_a and b.claim(keys) == held_b


def test_a_newcomer_gets_its_share_only_after_the_old_owner_lets_go(node_host):
    # Hosts enough that b wins some (eight fixed ids all went to a once: 1 in 256).
    keys = {host_key(h.pk) for h in hosts_both_win(node_host)}
    a, b = Membership("a", ttl=20), Membership("b", ttl=20)
    assert a.claim(keys) == keys  # alone: everything
    wanted_by_b = {k for k, owner in assign(keys, ["a", "b"]).items() if owner == "b"}
    assert wanted_by_b
    assert b.claim(keys) == set()  # a still holds them: no double work in this interval
    assert a.claim(keys) == keys - wanted_by_b  # a has seen b's heartbeat and lets go
    assert b.claim(keys) == wanted_by_b


def hosts_both_win(node_host):
    """At least six hosts, and enough that collectors a and b each win one: over six ids,
    rendezvous hashing leaves one of two collectors empty about one time in 32."""
    hosts = []
    while len(hosts) < 6 or len(set(assign([host_key(h.pk) for h in hosts], ["a", "b"]).values())) < 2:
        hosts.append(node_host(f"h{len(hosts)}", vms=1)[0])
    return hosts


def test_a_dead_collectors_hosts_are_taken_over_once_its_lease_expires(node_host):
    keys = {host_key(h.pk) for h in hosts_both_win(node_host)}
    now = timezone.now()
    a, b = Membership("a", ttl=20), Membership("b", ttl=20)
    b.heartbeat(now)
    held_a = a.claim(keys, now)
    held_b = b.claim(keys, now)
    assert held_a and held_b
    # a dies: no more heartbeats. Within one TTL b still keeps off its hosts...
    assert b.claim(keys, now + timedelta(seconds=10)) == held_b
    # ...after it, b takes everything.
    assert b.claim(keys, now + timedelta(seconds=21)) == keys


def test_a_collector_that_leaves_cleanly_frees_its_hosts_at_once(node_host):
    hosts = [node_host(f"h{i}", vms=1)[0] for i in range(6)]
    keys = {host_key(h.pk) for h in hosts}
    a, b = Membership("a", ttl=20), Membership("b", ttl=20)
    a.heartbeat()
    a.claim(keys)
    b.claim(keys)
    a.leave()
    assert not Lease.objects.filter(owner="a").exists()
    assert b.claim(keys) == keys


def test_two_collectors_sweeping_store_each_vm_once_per_interval(node_host):
    hosts = [node_host(f"h{i}", vms=2) for i in range(6)]
    first, second = Collector(name="one", interval=20), Collector(name="two", interval=20)
    first.membership.heartbeat()
    second.membership.heartbeat()
    a, b = first.sweep(), second.sweep()
    assert set(a.hosts).isdisjoint(b.hosts) and set(a.hosts) | set(b.hosts) == {h.pk for h, _ in hosts}
    assert VmSample.objects.count() == 12
    assert sorted(VmSample.objects.values_list("vm_id", flat=True)) == sorted(vm.pk for _, vms in hosts for vm in vms)


def test_a_sweep_that_outlasts_its_lease_keeps_only_what_is_still_its_own(node_host):
    keys = {host_key(h.pk) for h in hosts_both_win(node_host)}
    now = timezone.now()
    a, b = Membership("a", ttl=20), Membership("b", ttl=20)
    held_a = a.claim(keys, now)  # b not running yet: a holds everything
    assert held_a == keys
    # a's sweep runs long; renewing in time keeps its hosts, and b cannot take them.
    assert a.renew(keys, now + timedelta(seconds=19)) == keys
    assert b.claim(keys, now + timedelta(seconds=30)) == set()
    # a's next sweep outlasts the lease: b, alone alive by then, claims everything...
    assert b.claim(keys, now + timedelta(seconds=61)) == keys
    # ...and a, renewing before storing, finds none of them its own any more.
    assert a.renew(keys, now + timedelta(seconds=62)) == set()


def test_a_collector_does_not_store_a_host_taken_over_during_its_sweep(node_host):
    """Two rows for one host in one interval would double its graphs' points and traffic."""
    (taken, _), (kept, _) = node_host("taken", vms=2), node_host("kept", vms=1)

    class Overloaded(Collector):
        def _ask(self, hosts):
            answers = super()._ask(hosts)
            # While the bulk calls ran, the lease of "taken" expired and "other" claimed it.
            Lease.objects.filter(key=host_key(taken.pk)).update(owner="other")
            return answers

    result = Overloaded(name="slow", interval=20).sweep()
    assert result.hosts == [kept.pk] and "taken over" in result.skipped[taken.pk]
    assert not VmSample.objects.filter(host_id=taken.pk).exists()
    assert VmSample.objects.filter(host_id=kept.pk).count() == 1
