"""One libvirt connection per URI per process, and the event loop it needs.

Contract:
- ``get(uri)`` returns the process's open ``virConnect`` for ``uri``, opening it
  lazily; raises ``Unreachable`` (with a readable reason) if it cannot be opened.
- A connection is never used across ``fork()`` (django-q2 forks its workers):
  after a pid change the inherited connections are abandoned and new ones opened.
- When libvirt reports a connection closed (daemon died, keepalive timeout),
  the cached connection is dropped, the next ``get`` reconnects, and every
  listener added with ``add_close_listener`` is called with ``(uri, reason)``.
- ``test:///`` connections stay open for the life of the process on purpose:
  the test driver's state lives in the connection and is lost when it closes.
- ``close_all()`` closes everything (for tests) and says how many libvirt kept open.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import libvirt

from .errors import Unreachable, translate

log = logging.getLogger("vmmanager.virt")

# Remote hosts: ping every 5 s, give up after 3 missed answers (~20 s for a
# hung daemon, measured; a dead one is noticed at once through EOF).
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3

CloseListener = Callable[[str, str], None]

_CLOSE_REASONS = {
    libvirt.VIR_CONNECT_CLOSE_REASON_ERROR: "connection error (libvirtd unreachable or crashed)",
    libvirt.VIR_CONNECT_CLOSE_REASON_EOF: "connection closed by the host (libvirtd stopped or host went down)",
    libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE: "host stopped answering keepalive probes",
    libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT: "connection closed by the panel",
}

_lock = threading.Lock()  # guards the dicts/lists below; never held during libvirt calls
_uri_locks: dict[str, threading.Lock] = {}  # one opener at a time per URI
_conns: dict[str, libvirt.virConnect] = {}
_pid = os.getpid()
# Connections inherited from the parent process. Never used, never closed:
# closing would send CONNECT_CLOSE over the socket the parent still uses.
# Kept referenced so their __del__ (which closes) never runs.
_abandoned: list[libvirt.virConnect] = []
# Connections reported closed; closed later from a normal thread, because
# closing from inside libvirt's close callback can deadlock.
_dead: list[libvirt.virConnect] = []
_listeners: list[CloseListener] = []
_event_impl_registered = False
_loop_thread: threading.Thread | None = None


def _reset_locks_after_fork() -> None:
    # A lock held by another thread at fork time stays locked forever in the
    # child (that thread does not exist there): start with fresh ones.
    global _lock
    _lock = threading.Lock()
    _uri_locks.clear()


os.register_at_fork(after_in_child=_reset_locks_after_fork)


def _silence(_ctx: object, _err: object) -> None:
    """libvirt prints every error to stderr by default; we raise them instead."""


libvirt.registerErrorHandler(_silence, None)


def _run_event_loop() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except Exception:  # noqa: BLE001 - the loop must survive anything
            log.exception("libvirt event loop iteration failed")


def _ensure_event_loop() -> None:
    """Register libvirt's default event loop once, and run it in a daemon thread.

    Must happen before the first connection is opened: keepalive and close
    callbacks are only delivered through the event loop. After a fork the
    registration is inherited but the thread is not, so a new one is started.
    """
    global _event_impl_registered, _loop_thread
    with _lock:
        if not _event_impl_registered:
            libvirt.virEventRegisterDefaultImpl()
            _event_impl_registered = True
        if _loop_thread is None or not _loop_thread.is_alive():
            _loop_thread = threading.Thread(target=_run_event_loop, name="libvirt-event-loop", daemon=True)
            _loop_thread.start()


def _check_fork() -> None:
    """Abandon connections inherited from a parent process (caller holds ``_lock``)."""
    global _pid
    pid = os.getpid()
    if pid != _pid:
        log.debug("pid changed %s -> %s: abandoning %d inherited connection(s)", _pid, pid, len(_conns))
        _abandoned.extend(_conns.values())
        _conns.clear()
        _dead.clear()  # also inherited: same reasoning, and already referenced nowhere else
        _pid = pid


def _no_credentials(credentials: list, _data: object) -> int:
    # Non-interactive: libvirt's default auth would prompt on stdin, which
    # hangs a server process. Returning -1 makes it fail with AUTH_FAILED.
    return -1


def _retire(conn: libvirt.virConnect) -> None:
    """Queue ``conn`` for closing (caller holds ``_lock``); once, though both the
    close callback and ``invalidate`` may report the same connection."""
    if not any(c is conn for c in _dead):
        _dead.append(conn)


def _on_close(conn: libvirt.virConnect, reason: int, uri: str) -> None:
    """Close callback, runs in the event-loop thread: drop the connection, tell listeners."""
    text = _CLOSE_REASONS.get(reason, f"connection closed (reason {reason})")
    with _lock:
        if _conns.get(uri) is conn:
            del _conns[uri]
        _retire(conn)
        listeners = list(_listeners)
    log.warning("libvirt connection to %s closed: %s", uri, text)
    for listener in listeners:
        try:
            listener(uri, text)
        except Exception:  # noqa: BLE001 - one bad listener must not stop the others
            log.exception("close listener %r failed for %s", listener, uri)


def _close_quietly(conn: libvirt.virConnect) -> int:
    """Close ``conn``; returns the references libvirt still holds on it (0: really closed)."""
    # A domain event registration holds a reference on the connection: closed with one
    # left, the connection would stay open inside libvirt for the life of the process (one
    # leaked per reconnect of a watched host; for test:/// its state would never reset).
    for callback_id in list(getattr(conn, "domainEventCallbackID", None) or ()):
        try:
            conn.domainEventDeregisterAny(callback_id)
        except libvirt.libvirtError:
            pass
    try:
        conn.unregisterCloseCallback()
    except libvirt.libvirtError:
        pass
    try:
        return conn.close()
    except libvirt.libvirtError:
        return 0


def _reap_dead() -> None:
    with _lock:
        dead, _dead[:] = list(_dead), []
    for conn in dead:
        _close_quietly(conn)


def _open(uri: str) -> libvirt.virConnect:
    auth = [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], _no_credentials, None]
    try:
        conn = libvirt.openAuth(uri, auth, 0)
    except libvirt.libvirtError as e:
        raise translate(e, uri=uri, connecting=True) from e
    if conn is None:  # old bindings returned None instead of raising
        raise Unreachable(f"host unreachable, cannot connect to {uri}", uri=uri)
    if not uri.startswith("test:"):  # the test driver has no keepalive
        try:
            conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
        except libvirt.libvirtError as e:
            log.debug("keepalive not available on %s: %s", uri, e)
    try:
        conn.registerCloseCallback(_on_close, uri)
    except libvirt.libvirtError as e:
        log.debug("close callback not available on %s: %s", uri, e)
    return conn


def get(uri: str) -> libvirt.virConnect:
    """The open connection for ``uri`` in this process. Raises ``Unreachable``."""
    _reap_dead()
    with _lock:
        _check_fork()
        conn = _conns.get(uri)
        if conn is not None:
            return conn
        uri_lock = _uri_locks.setdefault(uri, threading.Lock())
    _ensure_event_loop()
    # Open outside the global lock: a slow or hanging host must not block
    # calls to the others. The per-URI lock makes concurrent callers share one.
    with uri_lock:
        with _lock:
            conn = _conns.get(uri)
        if conn is not None:
            return conn
        conn = _open(uri)
        log.debug("opened libvirt connection to %s", uri)
        with _lock:
            _conns[uri] = conn
        return conn


def current(uri: str) -> libvirt.virConnect | None:
    """The cached open connection for ``uri``, or None; never opens one."""
    with _lock:
        _check_fork()
        return _conns.get(uri)


def invalidate(uri: str, conn: libvirt.virConnect | None = None) -> None:
    """Forget the cached connection for ``uri`` (only if it is ``conn``, when given).

    Called when a call failed with ``Unreachable`` so the next ``get`` reconnects
    even if the close callback has not fired (e.g. no keepalive support).
    """
    with _lock:
        cached = _conns.get(uri)
        if cached is not None and (conn is None or cached is conn):
            del _conns[uri]
            _retire(cached)


def add_close_listener(listener: CloseListener) -> None:
    """Call ``listener(uri, reason_text)`` whenever a connection is lost.

    It runs in the libvirt event-loop thread: keep it short; exceptions are logged.
    """
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def remove_close_listener(listener: CloseListener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def close_all() -> int:
    """Close every connection of this process (tests). Inherited ones are left alone.
    Returns how many of them libvirt still keeps open (0: all really closed)."""
    with _lock:
        _check_fork()
        conns = list(_conns.values()) + list(_dead)
        _conns.clear()
        _dead.clear()
    return sum(1 for conn in conns if _close_quietly(conn) > 0)
