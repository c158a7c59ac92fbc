"""Storage pool and volume operations of the driver. Used through ``driver.Hypervisor``.

Pools are libvirt ``dir`` pools; volumes are addressed by (pool name, volume
name). Everything goes through the libvirt API, so it works the same on a
remote host without SSH or shared files.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from typing import TypeVar

import libvirt

from ._base import Base, retried
from .domain_xml import build_pool_xml, build_volume_xml, parse_pool_path, parse_volume_xml
from .errors import InvalidState, NotFound, OperationFailed
from .types import PoolInfo, VolumeInfo

T = TypeVar("T")
R = TypeVar("R")

# Formats that are the same thing for our purposes when checking an upload.
_RAW_LIKE = {"raw", "iso"}


def _vol_info(vol: libvirt.virStorageVol) -> VolumeInfo:
    # The XML has everything (path, format, sizes, backing) in one call.
    return VolumeInfo(**parse_volume_xml(vol.XMLDesc(0)))


def _pool_info(pool: libvirt.virStoragePool) -> PoolInfo:
    state, capacity, allocation, available = pool.info()
    return PoolInfo(
        name=pool.name(),
        path=parse_pool_path(pool.XMLDesc(0)),
        capacity_bytes=capacity,
        allocation_bytes=allocation,
        available_bytes=available,
        active=state == libvirt.VIR_STORAGE_POOL_RUNNING,
    )


def _still_there(handles: Iterable[T], describe: Callable[[T], R], gone: int) -> list[R]:
    """``describe`` each handle of a listing, leaving out those removed since the listing
    (another worker, another panel process or an admin deleting them meanwhile): their call
    fails with libvirt error code ``gone``. Any other error is raised."""
    result = []
    for handle in handles:
        try:
            result.append(describe(handle))
        except libvirt.libvirtError as e:
            if e.get_error_code() != gone:
                raise
    return result


def _delete_quietly(vol: libvirt.virStorageVol) -> None:
    try:
        vol.delete(0)
    except libvirt.libvirtError:
        pass  # best effort while already handling another error


class StorageOps(Base):
    def _afresh(self, pool: str, name: str, make: Callable[[Callable[[], None]], VolumeInfo]) -> VolumeInfo:
        """Make volume ``name`` with ``make(creating)``, waiting out a lost connection by starting
        again from scratch: ``make`` calls ``creating()`` just before the libvirt call that
        creates the volume, and an attempt lost after that point may have left a partial
        volume (or a whole one whose answer was lost), which is removed before the next try."""
        may_exist = False

        def creating() -> None:
            nonlocal may_exist
            may_exist = True

        def attempt(retry: bool) -> VolumeInfo:
            if may_exist:
                with self._op("remove_partial_volume", pool, name) as conn:
                    try:
                        self._volume(conn, pool, name).delete(0)
                    except NotFound:
                        pass
            return make(creating)

        return self._ride(attempt)

    @retried()
    def ensure_pool(self, name: str, path: str) -> PoolInfo:
        """Make ``name`` an active, autostarted dir pool at ``path``; idempotent.

        Defines, builds (creates the directory) and starts it if missing;
        starts it if inactive. Returns its ``PoolInfo``. Raises ``InvalidState``
        if a pool of that name exists at another path.
        """
        with self._op("ensure_pool", name, path) as conn:
            try:
                pool = self._pool(conn, name)
            except NotFound:
                pool = conn.storagePoolDefineXML(build_pool_xml(name, path), 0)
            existing = parse_pool_path(pool.XMLDesc(0))
            if existing and os.path.normpath(existing) != os.path.normpath(path):
                raise InvalidState(f"storage pool '{name}' already exists at {existing}, not {path}")
            if not pool.isActive():
                # build is idempotent for dir pools and recreates a removed directory.
                pool.build(0)
                pool.create(0)
            if not pool.autostart():
                pool.setAutostart(1)
            return _pool_info(pool)

    @retried(done_on_retry=(NotFound,))
    def delete_pool(self, name: str, remove_dir: bool = False) -> None:
        """Stop and undefine pool ``name``; volumes' files stay unless ``remove_dir``,
        which removes the (then required to be empty) directory. Raises ``NotFound``.
        """
        with self._op("delete_pool", name) as conn:
            pool = self._pool(conn, name)
            if pool.isActive():
                pool.destroy()
            if remove_dir:
                pool.delete(0)
            pool.undefine()

    @retried()
    def list_pools(self) -> list[PoolInfo]:
        """All storage pools of the host (active or not), sorted by name."""
        with self._op("list_pools") as conn:
            pools = _still_there(conn.listAllStoragePools(0), _pool_info, libvirt.VIR_ERR_NO_STORAGE_POOL)
        return sorted(pools, key=lambda p: p.name)

    @retried()
    def pool_info(self, name: str) -> PoolInfo:
        """Sizes and state of pool ``name``. Raises ``NotFound``."""
        with self._op("pool_info", name) as conn:
            return _pool_info(self._pool(conn, name))

    @retried()
    def refresh_pool(self, pool: str) -> None:
        """Rescan the pool's directory (files added behind libvirt's back). Raises ``NotFound``/``InvalidState``."""
        with self._op("refresh_pool", pool) as conn:
            self._pool(conn, pool).refresh(0)

    @retried()
    def list_volumes(self, pool: str) -> list[VolumeInfo]:
        """Volumes of ``pool``, sorted by name (as of the last refresh). Raises ``NotFound``."""
        with self._op("list_volumes", pool) as conn:
            volumes = _still_there(self._pool(conn, pool).listAllVolumes(0), _vol_info, libvirt.VIR_ERR_NO_STORAGE_VOL)
        return sorted(volumes, key=lambda v: v.name)

    @retried()
    def volume_info(self, pool: str, name: str) -> VolumeInfo:
        """Volume ``name`` of ``pool``. Raises ``NotFound`` (pool or volume)."""
        with self._op("volume_info", pool, name) as conn:
            return _vol_info(self._volume(conn, pool, name))

    def create_volume(self, pool: str, name: str, capacity_bytes: int, format: str = "qcow2") -> VolumeInfo:
        """A new empty (sparse) volume. Raises ``NotFound`` (pool), ``OperationFailed`` (e.g. exists)."""

        def make(creating: Callable[[], None]) -> VolumeInfo:
            with self._op("create_volume", pool, name, capacity_bytes, format) as conn:
                p = self._pool(conn, pool)
                creating()
                return _vol_info(p.createXML(build_volume_xml(name, capacity_bytes, format), 0))

        return self._afresh(pool, name, make)

    def clone_volume_linked(
        self, pool: str, name: str, backing_path: str, capacity_bytes: int | None = None
    ) -> VolumeInfo:
        """A qcow2 overlay on ``backing_path`` (a volume known to libvirt): instant, any size.

        ``capacity_bytes`` defaults to the backing volume's and must not be
        smaller (``InvalidState``). Raises ``NotFound`` for a missing pool or
        backing volume. The backing file must stay in place while clones exist.
        """

        def make(creating: Callable[[], None]) -> VolumeInfo:
            with self._op("clone_volume_linked", pool, name, backing_path) as conn:
                p = self._pool(conn, pool)
                try:
                    backing = _vol_info(conn.storageVolLookupByPath(backing_path))
                except libvirt.libvirtError as e:
                    if e.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                        raise
                    msg = f"base volume {backing_path} not found on {self.uri}"
                    raise NotFound(msg, code=e.get_error_code()) from e
                capacity = backing.capacity_bytes if capacity_bytes is None else capacity_bytes
                if capacity < backing.capacity_bytes:
                    raise InvalidState(
                        f"a linked clone cannot be smaller than its base: {capacity} < {backing.capacity_bytes} bytes"
                    )
                xml = build_volume_xml(name, capacity, "qcow2", backing.path, backing.format or "raw")
                creating()
                return _vol_info(p.createXML(xml, 0))

        return self._afresh(pool, name, make)

    def copy_volume(self, pool: str, name: str, source_pool: str, source_name: str) -> VolumeInfo:
        """A full, independent copy (same format and size; a linked clone comes out flattened).

        Slow for big images (libvirt copies every byte). Raises ``NotFound``.
        """

        def make(creating: Callable[[], None]) -> VolumeInfo:
            with self._op("copy_volume", pool, name, source_pool, source_name) as conn:
                p = self._pool(conn, pool)
                src = self._volume(conn, source_pool, source_name)
                info = _vol_info(src)
                xml = build_volume_xml(name, info.capacity_bytes, info.format or "raw")
                creating()
                return _vol_info(p.createXMLFrom(xml, src, 0))

        return self._afresh(pool, name, make)

    @retried()
    def resize_volume(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo:
        """Grow a volume's virtual size (the guest must grow its partitions itself).

        Same size is a no-op. Raises ``InvalidState`` for a shrink (data loss),
        ``OperationFailed`` if libvirt cannot (e.g. disk of a running VM: write lock).
        """
        with self._op("resize_volume", pool, name, capacity_bytes) as conn:
            vol = self._volume(conn, pool, name)
            current = _vol_info(vol)
            if capacity_bytes < current.capacity_bytes:
                raise InvalidState(
                    f"volume '{name}' cannot shrink from {current.capacity_bytes} to {capacity_bytes} bytes"
                )
            if capacity_bytes == current.capacity_bytes:
                return current
            vol.resize(capacity_bytes, 0)
            return _vol_info(vol)

    @retried(done_on_retry=(NotFound,))
    def delete_volume(self, pool: str, name: str) -> None:
        """Delete the volume and its file. Raises ``NotFound`` if missing. Linked clones
        of it are not checked: deleting a base breaks them."""
        with self._op("delete_volume", pool, name) as conn:
            self._volume(conn, pool, name).delete(0)

    def upload_volume(self, pool: str, name: str, local_path: str, format: str = "qcow2") -> VolumeInfo:
        """Copy the local file ``local_path`` into a new volume through a libvirt stream
        (works to remote hosts with no shared files), then refresh the pool.

        ``format`` is what the file must be: libvirt probes the uploaded bytes
        and a mismatch (say, a raw file announced as qcow2) deletes the volume
        and raises ``OperationFailed``. On any failure the partial volume is
        removed. Raises ``NotFound`` (pool), ``OperationFailed``.
        """
        try:
            size = os.path.getsize(local_path)
        except OSError as e:
            raise OperationFailed(f"cannot read {local_path}: {e.strerror or e}") from e

        def make(creating: Callable[[], None]) -> VolumeInfo:
            with self._op("upload_volume", pool, name, local_path, size) as conn:
                p = self._pool(conn, pool)
                # Created raw and exactly the file's size, because the upload
                # overwrites bytes in place without truncating: a larger pre-made
                # file would keep trailing garbage. The refresh below probes the
                # real format from the uploaded header.
                creating()
                vol = p.createXML(build_volume_xml(name, size, "raw"), 0)
                try:
                    self._send_file(conn, vol, local_path, size)
                    p.refresh(0)
                    info = _vol_info(p.storageVolLookupByName(name))
                    if info.format != format and not {info.format, format} <= _RAW_LIKE:
                        raise OperationFailed(f"uploaded file {local_path} is {info.format}, not {format}")
                    return info
                except BaseException:
                    _delete_quietly(vol)
                    raise

        return self._afresh(pool, name, make)

    @retried()
    def download_volume(self, pool: str, name: str, local_path: str) -> None:
        """Copy the volume's bytes (as stored, e.g. a qcow2 file) into ``local_path``
        through a libvirt stream. Raises ``NotFound``, ``OperationFailed``."""
        with self._op("download_volume", pool, name, local_path) as conn:
            vol = self._volume(conn, pool, name)
            stream = conn.newStream(0)
            vol.download(stream, 0, 0, 0)
            try:
                with open(local_path, "wb") as f:
                    stream.recvAll(lambda _st, data, fh: fh.write(data), f)
                stream.finish()
            except BaseException as e:
                try:
                    stream.abort()
                except libvirt.libvirtError:
                    pass
                if isinstance(e, OSError):
                    raise OperationFailed(f"cannot write {local_path}: {e.strerror or e}") from e
                raise

    @retried()
    def volume_sha256(self, pool: str, name: str) -> str:
        """SHA-256 of the volume's bytes as the host stores them, read back through a
        libvirt stream (works on remote hosts). Raises ``NotFound``, ``OperationFailed``."""
        digest = hashlib.sha256()
        with self._op("volume_sha256", pool, name) as conn:
            vol = self._volume(conn, pool, name)
            stream = conn.newStream(0)
            vol.download(stream, 0, 0, 0)
            try:
                stream.recvAll(lambda _st, data, d: d.update(data), digest)
                stream.finish()
            except BaseException:
                try:
                    stream.abort()
                except libvirt.libvirtError:
                    pass
                raise
        return digest.hexdigest()

    @staticmethod
    def _send_file(conn: libvirt.virConnect, vol: libvirt.virStorageVol, local_path: str, size: int) -> None:
        stream = conn.newStream(0)
        vol.upload(stream, 0, size, 0)
        try:
            with open(local_path, "rb") as f:
                stream.sendAll(lambda _st, nbytes, fh: fh.read(nbytes), f)
            stream.finish()
        except BaseException as e:
            try:
                stream.abort()  # tells the host to stop waiting for data
            except libvirt.libvirtError:
                pass
            if isinstance(e, OSError):
                raise OperationFailed(f"cannot read {local_path}: {e.strerror or e}") from e
            raise
