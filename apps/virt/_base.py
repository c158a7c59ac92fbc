"""Shared plumbing of the driver classes: connection lookup, timing, error translation."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import libvirt

from . import connection
from .errors import NotFound, Unreachable, translate

log = logging.getLogger("vmmanager.virt")


class Base:
    """Holds the URI; every public call goes through ``_op``."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

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
