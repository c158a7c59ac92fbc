"""Shared plumbing of the driver classes: connection lookup, timing, error translation,
and ``retried``, the mark of a method that may be called again after a lost connection
(which methods carry it, and why each is safe: the contract in ``driver.py``)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import libvirt

from . import connection, outage
from .errors import NotFound, Unreachable, translate

log = logging.getLogger("vmmanager.virt")

T = TypeVar("T")


def retried(*, done_on_retry: tuple[type[Exception], ...] = ()) -> Callable:
    """Make a method wait out a lost connection (``outage.ride_through``) by calling it again.

    Only for methods whose whole body can run again with the same result. An error in
    ``done_on_retry`` raised by a repeated call means the lost attempt already did the
    work (say, ``NotFound`` when deleting): the method then returns None.
    """

    def wrap(method: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(method)
        def run(self: Base, *args: object, **kwargs: object) -> T:
            def attempt(retry: bool) -> T:
                try:
                    return method(self, *args, **kwargs)
                except done_on_retry:
                    if retry:
                        return None
                    raise

            return self._ride(attempt)

        return run

    return wrap


class Base:
    """Holds the URI; every public call goes through ``_op``.

    ``outage_window`` (seconds, default 0: fail at once) is how long ``retried`` methods
    wait out a lost connection; ``host_name`` names the host in those messages.
    """

    def __init__(self, uri: str, *, outage_window: float = 0, host_name: str = "") -> None:
        self.uri = uri
        self.outage_window = outage_window
        self.host_name = host_name or uri

    def _ride(self, attempt: Callable[[bool], T]) -> T:
        return outage.ride_through(attempt, window=self.outage_window, host=self.host_name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"

    @property
    def conn(self) -> libvirt.virConnect:
        """The process-wide connection for this URI. Raises ``Unreachable``."""
        return connection.get(self.uri)

    @contextmanager
    def _op(self, what: str, *args: object) -> Iterator[libvirt.virConnect]:
        """Run a block of libvirt calls as one logged operation.

        Yields the connection. Any ``libvirtError`` escaping the block is
        translated (``NotFound``/``InvalidState``/``Unreachable``/``OperationFailed``);
        on ``Unreachable`` the cached connection is dropped so the next call
        reconnects. Our own ``VirtError``s pass through unchanged.
        """
        start = time.monotonic()
        outcome = "ok"
        conn = None
        try:
            conn = connection.get(self.uri)
            yield conn
        except libvirt.libvirtError as e:
            err = translate(e, uri=self.uri)
            outcome = f"{type(err).__name__}: {err}"
            if isinstance(err, Unreachable):
                connection.invalidate(self.uri, conn)
            raise err from e
        except Exception as e:
            outcome = f"{type(e).__name__}: {e}"
            raise
        finally:
            if log.isEnabledFor(logging.DEBUG):
                ms = (time.monotonic() - start) * 1000
                log.debug("%s %s(%s) %.1f ms %s", self.uri, what, ", ".join(map(repr, args)), ms, outcome)

    # Lookups with our own NotFound text: the test driver says just "Domain
    # not found", and users should see which object of which host is missing.

    def _domain(self, conn: libvirt.virConnect, name: str) -> libvirt.virDomain:
        try:
            return conn.lookupByName(name)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise NotFound(f"domain '{name}' not found on {self.uri}", code=e.get_error_code()) from e
            raise

    def _pool(self, conn: libvirt.virConnect, name: str) -> libvirt.virStoragePool:
        try:
            return conn.storagePoolLookupByName(name)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
                raise NotFound(f"storage pool '{name}' not found on {self.uri}", code=e.get_error_code()) from e
            raise

    def _volume(self, conn: libvirt.virConnect, pool: str, name: str) -> libvirt.virStorageVol:
        try:
            return self._pool(conn, pool).storageVolLookupByName(name)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                msg = f"volume '{name}' not found in storage pool '{pool}' on {self.uri}"
                raise NotFound(msg, code=e.get_error_code()) from e
            raise
