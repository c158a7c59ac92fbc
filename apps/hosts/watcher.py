"""The host watcher (`manage.py watch_hosts`): host health and VM state sync, one per deployment.

Contract:
- `Watcher.run(stop)` loops until the `threading.Event` `stop` is set. Every `tick` seconds it
  claims or renews the leader lease (watcher_lease); only the holder watches hosts, the
  others wait as standbys and take over once the lease expires. On leaving it releases the
  lease, so a standby takes over at its next tick.
- The active watcher runs one `HostWatch` thread per host not in maintenance (started and
  stopped as hosts are added, removed or put into maintenance). A host thread connects,
  registers for lifecycle events, marks the host online (`refresh_host`) and reconciles its
  VMs at once, then applies each event as it comes and reconciles every
  `reconcile_seconds`. When the connection is lost (close callback, a failed call, or the
  connection replaced) the host is unreachable and the thread tries again every
  `retry_seconds`; a hung host blocks only its own thread.
- What an event or a reconciliation changes is up to the apps registered with domain_sync
  (apps.vms: VMs' power states); the watcher names none of them.
- Events are queued by libvirt's event-loop thread and handled in the host's thread, so no
  database work or libvirt call happens inside a libvirt callback.
"""

import logging
import os
import queue
import socket
import threading
import time
import uuid

from django.conf import settings
from django.db import close_old_connections
from django.db import connection as db_connection

from apps.hosts import domain_sync, watcher_lease
from apps.hosts.health import mark_unreachable
from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.hosts.services import refresh_host
from apps.virt import connection
from apps.virt.errors import Unreachable, VirtError
from apps.virt.events import LifecycleEvent

logger = logging.getLogger("vmmanager.hosts")

LEASE_NAME = "host-watcher"
# Seconds to wait for the close callback's reason once a watch's connection is gone.
LOSS_GRACE = 2.0


class _Lost:
    """Queue item: the host's connection was lost."""

    def __init__(self, reason):
        self.reason = reason


_WAKE = object()  # queue item: look at the stop flag now


class HostWatch:
    """Watches one host in a daemon thread (see the module docstring)."""

    def __init__(self, host_id, uri, *, retry_seconds, reconcile_seconds):
        self.host_id = host_id
        self.uri = uri
        self.retry_seconds = retry_seconds
        self.reconcile_seconds = reconcile_seconds
        self.queue = queue.Queue()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"watch-host-{host_id}", daemon=True)
        self._watch = None
        # monotonic time of the last reconciliation on the current connection (None: not yet)
        self.reconciled_at = None
        self.connecting = False  # True while a connection attempt runs (it blocks on a hung host)

    @property
    def synced(self):
        """Connected, watching events, and reconciled at least once since connecting."""
        return self._watch is not None and self.reconciled_at is not None

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        """Ask the thread to end (it may be stuck in a call to a hung host: it is a daemon)."""
        self.stopping.set()
        self.queue.put(_WAKE)

    def lost(self, reason):
        """Called from the event-loop thread when the host's connection closed."""
        self.queue.put(_Lost(reason))

    def _on_event(self, event):
        self.queue.put(event)

    def _run(self):
        try:
            self._loop()
        except Exception:  # noqa: BLE001 - log it; the watcher starts a new thread
            logger.exception("watching host %s failed", self.host_id)
        finally:
            if self._watch is not None:
                self._watch.cancel()
            db_connection.close()  # this thread's own database connection

    def _loop(self):
        next_connect = time.monotonic()
        next_reconcile = float("inf")
        dead_since = None  # when the watch was first seen on a connection that is gone
        while not self.stopping.is_set():
            now = time.monotonic()
            if self._watch is None:
                dead_since = None
                if now >= next_connect:
                    self.connecting = True
                    try:
                        connected = self._connect()
                    finally:
                        self.connecting = False
                    if connected:
                        self._reconcile()
                        next_reconcile = time.monotonic() + self.reconcile_seconds
                    else:
                        next_connect = time.monotonic() + self.retry_seconds
                    continue
            elif not self._watch.alive:
                # Usually the close callback's _Lost (with the real reason) is on its way:
                # the connection is dropped just before listeners are told. Give it a moment.
                dead_since = dead_since or now
                if now - dead_since > LOSS_GRACE:
                    self._disconnected("the connection was replaced after an error")
                    next_connect = time.monotonic()
                    continue
            elif now >= next_reconcile:
                self._reconcile()
                next_reconcile = time.monotonic() + self.reconcile_seconds
                continue
            deadline = next_connect if self._watch is None else next_reconcile
            if dead_since is not None:
                deadline = min(deadline, dead_since + LOSS_GRACE)
            try:
                item = self.queue.get(timeout=max(0.05, min(1.0, deadline - time.monotonic())))
            except queue.Empty:
                continue
            if isinstance(item, _Lost):
                self._disconnected(item.reason)
                next_connect = time.monotonic() + self.retry_seconds
            elif isinstance(item, LifecycleEvent) and self._watch is not None:
                self._apply(item)

    def _host(self):
        close_old_connections()
        return Host.objects.filter(pk=self.host_id).first()

    def _connect(self):
        """Watch events, mark the host online; False (host unreachable) if it does not answer."""
        host = self._host()
        if host is None or host.status == HostStatus.MAINTENANCE or self.stopping.is_set():
            return False
        driver = hypervisor_for(host)
        try:
            # First the events, then the state: nothing that happens in between is missed.
            watch = driver.watch_lifecycle(self._on_event)
        except VirtError as exc:
            if not self.stopping.is_set():
                mark_unreachable(host.pk, str(exc))
            return False
        if self.stopping.is_set():
            watch.cancel()
            return False
        host = refresh_host(host)
        if host.status != HostStatus.ONLINE:
            watch.cancel()
            return False
        logger.info("host %s: watching %s", host.name, host.uri)
        self._watch = watch
        return True

    def _disconnected(self, reason):
        self.reconciled_at = None
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if not self.stopping.is_set():
            close_old_connections()
            mark_unreachable(self.host_id, f"Connection lost: {reason}")

    def _apply(self, event):
        host = self._host()
        if host is None or self.stopping.is_set():
            return
        try:
            driver = hypervisor_for(host)
            for sync in domain_sync.registered():
                sync.apply_event(host, event, driver)
        except Unreachable as exc:
            self.queue.put(_Lost(str(exc)))
        except VirtError as exc:
            logger.warning("host %s: could not read %s after %s: %s", host.name, event.name, event.event, exc)

    def _reconcile(self):
        host = self._host()
        if host is None or self.stopping.is_set():
            return
        try:
            driver = hypervisor_for(host)
            for sync in domain_sync.registered():
                sync.reconcile(host, driver)
        except Unreachable as exc:
            self.queue.put(_Lost(str(exc)))
            return
        except VirtError as exc:
            logger.warning("host %s: could not list its domains: %s", host.name, exc)
            return
        self.reconciled_at = time.monotonic()
        if host.status == HostStatus.UNREACHABLE:
            # Another process lost its own connection and said so, but the host answers
            # ours: check it again rather than leave it out of placement for good.
            refresh_host(host)


class Watcher:
    """Leader election plus one HostWatch per host (see the module docstring)."""

    def __init__(
        self, *, holder=None, lease_seconds=None, tick_seconds=None, retry_seconds=None, reconcile_seconds=None
    ):
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = lease_seconds or settings.VMM_WATCHER_LEASE
        # Renew well before expiry: three chances per lease.
        self.tick_seconds = tick_seconds or max(0.2, self.lease_seconds / 3)
        self.retry_seconds = retry_seconds or settings.VMM_HOST_RETRY_INTERVAL
        self.reconcile_seconds = reconcile_seconds or settings.VMM_RECONCILE_INTERVAL
        self.watches = {}  # host pk -> HostWatch
        self.active = False

    def run(self, stop):
        connection.add_close_listener(self._on_close)
        logger.info("host watcher %s starting", self.holder)
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - a database hiccup must not end the watcher
                    logger.exception("host watcher %s: tick failed", self.holder)
                    db_connection.close()  # a fresh one next time
                stop.wait(self.tick_seconds)
        finally:
            connection.remove_close_listener(self._on_close)
            self._stop_all()
            close_old_connections()
            watcher_lease.release(LEASE_NAME, self.holder)
            db_connection.close()
            logger.info("host watcher %s stopped", self.holder)

    def tick(self):
        """Hold the lease and start/stop host threads to match the hosts. Returns `active`."""
        close_old_connections()
        active = watcher_lease.hold(LEASE_NAME, self.holder, self.lease_seconds)
        if active != self.active:
            logger.warning("host watcher %s is now %s", self.holder, "active" if active else "standby")
            self.active = active
        if not active:
            self._stop_all()
            return False
        wanted = dict(Host.objects.exclude(status=HostStatus.MAINTENANCE).values_list("pk", "uri"))
        for pk, watch in list(self.watches.items()):
            if wanted.get(pk) != watch.uri or not watch.thread.is_alive():
                watch.stop()
                del self.watches[pk]
        for pk, uri in wanted.items():
            if pk not in self.watches:
                self.watches[pk] = HostWatch(
                    pk, uri, retry_seconds=self.retry_seconds, reconcile_seconds=self.reconcile_seconds
                ).start()
        return True

    def _stop_all(self):
        for watch in self.watches.values():
            watch.stop()
        for watch in self.watches.values():
            watch.thread.join(5)  # a thread stuck on a hung host is a daemon: left behind
        self.watches = {}

    def _on_close(self, uri, reason):
        for watch in list(self.watches.values()):
            if watch.uri == uri:
                watch.lost(reason)
