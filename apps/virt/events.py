"""Domain lifecycle events and the bulk state listing the host watcher needs.

Contract:
- ``lifecycle_event(uri, event, detail, name, uuid)`` turns libvirt's numeric
  lifecycle event into a ``LifecycleEvent`` (pure; no libvirt call).
- ``Hypervisor.watch_lifecycle(callback)`` registers ``callback(LifecycleEvent)``
  for every domain of the host on the process's shared connection and returns
  a ``LifecycleWatch``. The callback runs in libvirt's event-loop thread: it must
  be short and must not call libvirt (queue the event and handle it elsewhere).
  A registration lives as long as the connection it was made on: after the
  connection is lost (``LifecycleWatch.alive`` is False) watch again.
- ``Hypervisor.domain_states()`` is one call for the state of every domain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import libvirt

from . import connection
from ._base import Base, retried
from .domains import _state
from .types import DomainState

log = logging.getLogger("vmmanager.virt")

# libvirt's event code -> (our name, the state the domain is in afterwards).
# None: the event alone does not say (defined, undefined, shutdown finished):
# whoever handles it reads the domain's state, or finds it gone.
_EVENTS = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: ("defined", None),
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: ("undefined", None),
    libvirt.VIR_DOMAIN_EVENT_STARTED: ("started", DomainState.RUNNING),
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: ("suspended", DomainState.PAUSED),
    libvirt.VIR_DOMAIN_EVENT_RESUMED: ("resumed", DomainState.RUNNING),
    libvirt.VIR_DOMAIN_EVENT_STOPPED: ("stopped", DomainState.SHUTOFF),
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: ("shutdown", None),
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: ("pmsuspended", DomainState.PMSUSPENDED),
    libvirt.VIR_DOMAIN_EVENT_CRASHED: ("crashed", DomainState.CRASHED),
}

# Details worth a name (the rest are reported by number).
_DETAILS = {
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN): "shutdown",
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED): "destroyed",
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED): "crashed",
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED): "migrated",
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED): "saved",
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED): "failed",
    (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED): "booted",
    (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED): "migrated",
    (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_RESTORED): "restored",
    (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED): "paused",
    (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR): "i/o error",
    (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED): "unpaused",
    (libvirt.VIR_DOMAIN_EVENT_UNDEFINED, libvirt.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED): "removed",
    (libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED): "added",
    (libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_UPDATED): "updated",
    (libvirt.VIR_DOMAIN_EVENT_CRASHED, libvirt.VIR_DOMAIN_EVENT_CRASHED_PANICKED): "panicked",
}


@dataclass(frozen=True)
class LifecycleEvent:
    """Something happened to domain ``name`` on the host at ``uri``.

    ``state`` is the state the domain is in after the event, or None when the
    event does not say (``defined``, ``undefined``, ``shutdown``): read it then.
    """

    uri: str
    name: str
    uuid: str
    event: str  # "started", "stopped", "undefined", ... ("event-<n>" for codes we do not know)
    detail: str  # "destroyed", "crashed", ... (the number as text when unnamed)
    state: DomainState | None


def lifecycle_event(uri: str, event: int, detail: int, name: str, uuid: str) -> LifecycleEvent:
    """libvirt's ``(event, detail)`` codes for domain ``name`` as a ``LifecycleEvent``."""
    what, state = _EVENTS.get(event, (f"event-{event}", None))
    if (event, detail) == (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED):
        state = DomainState.CRASHED  # QEMU died under the guest: not a clean power-off
    elif (event, detail) == (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED):
        state = None  # it went to another host: gone from this one, not "stopped"
    return LifecycleEvent(
        uri=uri, name=name, uuid=uuid, event=what, detail=_DETAILS.get((event, detail), str(detail)), state=state
    )


class LifecycleWatch:
    """One lifecycle registration on one connection; ``cancel()`` ends it."""

    def __init__(self, uri: str, conn: libvirt.virConnect, callback_id: int) -> None:
        self.uri = uri
        self._conn = conn
        self._callback_id = callback_id

    def __repr__(self) -> str:
        return f"LifecycleWatch({self.uri!r}, alive={self.alive})"

    @property
    def alive(self) -> bool:
        """False once the connection it was made on is no longer the process's connection
        for the URI (lost, or replaced after an error): events no longer arrive here."""
        return connection.current(self.uri) is self._conn

    def cancel(self) -> None:
        """Stop the events; quiet when the connection is already gone. Idempotent."""
        if self._callback_id is None:
            return
        try:
            self._conn.domainEventDeregisterAny(self._callback_id)
        except libvirt.libvirtError:
            pass  # the connection is closed: the registration went with it
        self._callback_id = None


class WatchOps(Base):
    def watch_lifecycle(self, callback: Callable[[LifecycleEvent], None]) -> LifecycleWatch:
        """Call ``callback(LifecycleEvent)`` for each lifecycle event of any domain of the host.

        Opens the connection if needed (raises ``Unreachable``). The callback runs in
        the event-loop thread; its exceptions are logged, never raised into libvirt.
        """
        uri = self.uri

        def relay(_conn: libvirt.virConnect, dom: libvirt.virDomain, event: int, detail: int, _opaque: object) -> None:
            try:
                # name() and UUIDString() are answered by the handle itself: no call to the host.
                callback(lifecycle_event(uri, event, detail, dom.name(), dom.UUIDString()))
            except Exception:  # noqa: BLE001 - an exception must not reach libvirt's C code
                log.exception("lifecycle callback failed for %s", uri)

        with self._op("watch_lifecycle") as conn:
            callback_id = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, relay, None)
        return LifecycleWatch(uri, conn, callback_id)

    @retried()
    def domain_states(self) -> dict[str, DomainState]:
        """``{domain name: state}`` of every domain on the host, in one call.

        Raises ``Unreachable``/``OperationFailed``.
        """
        with self._op("domain_states") as conn:
            stats = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE)
            return {dom.name(): _state(st.get("state.state", libvirt.VIR_DOMAIN_NOSTATE)) for dom, st in stats}
