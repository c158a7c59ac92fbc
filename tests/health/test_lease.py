"""Leader lease: one active host watcher per deployment, a standby takes over on expiry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.hosts.models import Lease
from apps.hosts.watcher import LEASE_NAME, Watcher
from apps.hosts.watcher_lease import current_holder, hold, release

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_lease_is_held_by_one_holder_until_it_expires():
    now = timezone.now()
    assert hold("job", "a", 30, now=now)
    assert not hold("job", "b", 30, now=now + timedelta(seconds=10))
    assert hold("job", "a", 30, now=now + timedelta(seconds=20))  # renewed: now until +50 s
    assert not hold("job", "b", 30, now=now + timedelta(seconds=45))
    assert current_holder("job", now=now + timedelta(seconds=45)) == "a"

    assert hold("job", "b", 30, now=now + timedelta(seconds=51))  # a missed its renewals
    assert not hold("job", "a", 30, now=now + timedelta(seconds=52))
    assert current_holder("job", now=now + timedelta(seconds=52)) == "b"


def test_releasing_frees_the_lease_at_once_and_only_its_holder_can():
    assert hold("job", "a", 30)
    release("job", "b")
    assert not hold("job", "b", 30)
    release("job", "a")
    assert current_holder("job") is None
    assert hold("job", "b", 30)


def test_two_watchers_one_active_and_the_standby_takes_over_when_the_lease_expires(test_host):
    first = Watcher(holder="first", lease_seconds=30, retry_seconds=1, reconcile_seconds=600)
    second = Watcher(holder="second", lease_seconds=30, retry_seconds=1, reconcile_seconds=600)
    try:
        assert first.tick() is True
        assert second.tick() is False
        assert list(first.watches) == [test_host.pk] and second.watches == {}

        # The first one hangs (no renewal) past its expiry.
        Lease.objects.filter(name=LEASE_NAME).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert second.tick() is True
        assert list(second.watches) == [test_host.pk]

        # When it wakes up it finds itself standby and stops watching.
        assert first.tick() is False
        assert first.watches == {}
        assert current_holder(LEASE_NAME) == "second"
    finally:
        first._stop_all()
        second._stop_all()
