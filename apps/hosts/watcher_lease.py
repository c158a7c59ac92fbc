"""Leader lease: which one of several `watch_hosts` processes is the active one.

Contract:
- `hold(name, holder, seconds)` claims the lease `name` for `holder` or renews it, for
  `seconds` from now, and returns True if `holder` holds it afterwards. It succeeds when
  the lease is free, expired, or already `holder`'s. One conditional UPDATE decides, so
  two processes racing for an expired lease cannot both win.
- `release(name, holder)` gives it up at once (a clean shutdown: the standby takes over
  on its next attempt instead of after the expiry). Only the holder can release.
- `current_holder(name)` is who holds it now (None when free or expired).

Times are the application's clock (`timezone.now()`): instances on several machines need
synchronised clocks (NTP), with skew well below the lease length.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from apps.hosts.models import Lease


def hold(name, holder, seconds, *, now=None):
    """Claim or renew lease `name` for `holder` for `seconds`; True if `holder` holds it."""
    now = now or timezone.now()
    # The row exists once; get_or_create copes with two processes creating it together.
    Lease.objects.get_or_create(name=name, defaults={"holder": "", "expires_at": now})
    claimable = Q(holder=holder) | Q(expires_at__lte=now) | Q(holder="")
    updated = Lease.objects.filter(claimable, name=name).update(
        holder=holder, expires_at=now + timedelta(seconds=seconds), renewed_at=now
    )
    return updated == 1


def release(name, holder):
    """Give lease `name` up if `holder` holds it."""
    Lease.objects.filter(name=name, holder=holder).update(holder="", expires_at=timezone.now())


def current_holder(name, *, now=None):
    now = now or timezone.now()
    lease = Lease.objects.filter(name=name, expires_at__gt=now).exclude(holder="").first()
    return lease.holder if lease else None
