"""What the host watcher does with a host's domains, supplied by the apps that own them.

The watcher (watcher.py) knows hosts and their connections, not what runs on them. An app
that keeps records of domains (apps.vms: VMs' power states) registers, from its
AppConfig.ready(), two functions the watcher calls in the host's own thread:

- `apply_event(host, event, driver)`: one lifecycle event (apps.virt.events.LifecycleEvent)
  of a domain on `host`;
- `reconcile(host, driver)`: compare the host's domains with the app's records and fix
  them (on connecting, then every VMM_RECONCILE_INTERVAL seconds).

Both may raise the driver's errors: `Unreachable` makes the watcher treat the connection as
lost, any other `VirtError` is logged and the watch goes on.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DomainSync:
    apply_event: Callable
    reconcile: Callable


_registered = []


def register(*, apply_event, reconcile):
    """Have the watcher call these for every watched host (registering twice is harmless)."""
    sync = DomainSync(apply_event=apply_event, reconcile=reconcile)
    if sync not in _registered:
        _registered.append(sync)


def registered():
    """The registered DomainSyncs, in the order they were registered."""
    return tuple(_registered)
