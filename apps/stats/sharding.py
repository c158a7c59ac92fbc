"""Sharing hosts out between collectors, without double work.

Two mechanisms, each doing one job:
- Balance: every live collector (a ``Collector`` heartbeat newer than the TTL) computes
  the same assignment by rendezvous hashing: key ``k`` goes to the live collector with the
  highest ``hash(name, k)``. Adding a collector moves only the keys it wins.
- Exclusivity: a collector sweeps a key only while it holds its ``Lease``, claimed by a
  conditional UPDATE that succeeds only if the lease is free, expired or already its own.
  While two collectors briefly disagree about who is alive (one has not seen the other's
  first heartbeat yet), the lease keeps the old owner until it lets go, so a host is never
  swept twice in one interval; at worst it misses one sweep during the hand-over.

A sweep that outlasts its leases (an overloaded machine) renews them before storing and
stores only the hosts still its own: one whose lease another collector claimed meanwhile
is that collector's to store (``renew``).

A collector that dies stops renewing: its heartbeat and leases expire after ``ttl``
seconds and the others take its keys at their next sweep. One that stops cleanly calls
``leave()``, which frees its keys at once.

Clocks: expiry compares the collectors' own clocks; keep them in sync (NTP). The TTL
(default two intervals) is far larger than any sane skew.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from apps.stats.models import Collector, Lease

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # "free": expired long ago


def _score(collector: str, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{collector}\0{key}".encode(), digest_size=8).digest(), "big")


def assign(keys, collectors) -> dict[str, str]:
    """Rendezvous hashing: ``{key: collector}`` for every key (empty if no collectors)."""
    collectors = sorted(set(collectors))
    if not collectors:
        return {}
    return {key: max(collectors, key=lambda c: _score(c, key)) for key in keys}


class Membership:
    """One collector's view of the others, and the leases it holds."""

    def __init__(self, name: str, ttl: float) -> None:
        self.name = name
        self.ttl = timedelta(seconds=ttl)
        self.started_at = timezone.now()
        self._known_keys: set[str] = set()

    def heartbeat(self, now: datetime | None = None) -> list[str]:
        """Record that we are alive; return the names of all live collectors (us included)."""
        now = now or timezone.now()
        Collector.objects.update_or_create(
            name=self.name, defaults={"seen_at": now}, create_defaults={"seen_at": now, "started_at": self.started_at}
        )
        return list(Collector.objects.filter(seen_at__gte=now - self.ttl).values_list("name", flat=True))

    def _ensure_rows(self, keys) -> None:
        new = set(keys) - self._known_keys
        if new:
            Lease.objects.bulk_create(
                [Lease(key=key, owner="", expires_at=EPOCH) for key in sorted(new)], ignore_conflicts=True
            )
            self._known_keys |= new

    def claim(self, keys, now: datetime | None = None) -> set[str]:
        """Take the keys rendezvous hashing gives us, give back the ones it does not.

        Returns the keys we hold now (a subset of what we were given: a key still leased
        by its previous owner is not ours yet).
        """
        now = now or timezone.now()
        keys = set(keys)
        live = self.heartbeat(now)
        mine = {key for key, owner in assign(keys, live).items() if owner == self.name}
        self._ensure_rows(keys)
        # Let go of what is no longer ours (a newcomer won it, or the host is gone).
        Lease.objects.filter(owner=self.name).exclude(key__in=mine).update(owner="", expires_at=EPOCH)
        expires = now + self.ttl
        Lease.objects.filter(key__in=mine).filter(Q(owner=self.name) | Q(expires_at__lt=now)).update(
            owner=self.name, expires_at=expires
        )
        return set(Lease.objects.filter(owner=self.name, expires_at=expires).values_list("key", flat=True))

    def renew(self, keys, now: datetime | None = None) -> set[str]:
        """Extend the leases of ``keys`` that are still ours; return those. A key whose
        lease expired and was claimed by another collector meanwhile (our sweep outlasted
        the lease) is no longer ours and is left out: that collector stores it now."""
        now = now or timezone.now()
        expires = now + self.ttl
        Lease.objects.filter(key__in=keys, owner=self.name).update(expires_at=expires)
        still = Lease.objects.filter(key__in=keys, owner=self.name, expires_at=expires)
        return set(still.values_list("key", flat=True))

    def leave(self) -> None:
        """Stop cleanly: free our leases and remove our heartbeat so others take over at once."""
        Lease.objects.filter(owner=self.name).update(owner="", expires_at=EPOCH)
        Collector.objects.filter(name=self.name).delete()


def host_key(host_id: int) -> str:
    return f"host:{host_id}"


MAINTENANCE = "maintenance"
