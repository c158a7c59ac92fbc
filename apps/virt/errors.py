"""The few errors the hypervisor driver raises, and the libvirt → error mapping.

Every public call of ``apps.virt`` raises only these (plus ``ValueError`` for
programming errors such as an invalid ``DomainSpec``). ``str(error)`` is a
human-readable sentence: the job runner shows it to users as the reason a job
step failed, so it must say what failed, not only a libvirt code.
"""

from __future__ import annotations

import libvirt


class VirtError(Exception):
    """Base of all driver errors.

    Attributes: ``code`` is the libvirt error code when the error came from
    libvirt (``None`` otherwise), for logs and debugging only.
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class NotFound(VirtError):
    """The domain, volume, pool or network does not exist (any more)."""


class InvalidState(VirtError):
    """The object exists but its state forbids the operation (e.g. start of a running domain)."""


class Unreachable(VirtError):
    """The host cannot be talked to.

    ``kind`` is ``"unreachable"`` (network/daemon down, connection lost),
    ``"auth"`` (credentials refused) or ``"permission"`` (connected identity
    may not use the driver); ``uri`` is the host's libvirt URI; ``reason`` is the
    message without the "host unreachable" prefix (what libvirt said, with the URI).
    """

    def __init__(
        self, message: str, *, uri: str = "", kind: str = "unreachable", code: int | None = None, reason: str = ""
    ) -> None:
        super().__init__(message, code=code)
        self.uri = uri
        self.kind = kind
        self.reason = reason or message


class OperationFailed(VirtError):
    """Anything else: libvirt or the hypervisor tried and failed."""


_NOT_FOUND = {
    libvirt.VIR_ERR_NO_DOMAIN,
    libvirt.VIR_ERR_NO_STORAGE_VOL,
    libvirt.VIR_ERR_NO_STORAGE_POOL,
    libvirt.VIR_ERR_NO_NETWORK,
}
_AUTH = {libvirt.VIR_ERR_AUTH_FAILED, libvirt.VIR_ERR_AUTH_CANCELLED, libvirt.VIR_ERR_AUTH_UNAVAILABLE}
# Transport-level failures. SYSTEM_ERROR/INTERNAL_ERROR count only when they
# come from the client side of the connection (RPC/remote domains): the same
# codes from e.g. the storage or QEMU driver are ordinary operation failures.
_TRANSPORT_CODES = {libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_RPC}
_TRANSPORT_DOMAINS = {libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE}


def _message(err: libvirt.libvirtError) -> str:
    # libvirt's own text is readable ("Domain not found: no domain with
    # matching name 'x'"); fall back to the exception text if it has none.
    return (err.get_error_message() or str(err) or "unknown libvirt error").strip()


def _is_permission(err: libvirt.libvirtError, msg: str) -> bool:
    return err.get_error_code() == libvirt.VIR_ERR_ACCESS_DENIED or "permission denied" in msg.lower()


def translate(err: libvirt.libvirtError, *, uri: str = "", connecting: bool = False) -> VirtError:
    """Map a ``libvirtError`` to one of our errors (returned, not raised).

    ``connecting=True`` means the error happened while opening the connection:
    then every failure is ``Unreachable`` (we never got a working host).
    Returns ``NotFound`` / ``InvalidState`` / ``Unreachable`` / ``OperationFailed``.
    """
    code = err.get_error_code()
    domain = err.get_error_domain()
    msg = _message(err)

    if code in _NOT_FOUND:
        return NotFound(msg, code=code)
    if code == libvirt.VIR_ERR_OPERATION_INVALID:
        return InvalidState(msg, code=code)

    if code in _AUTH:
        return Unreachable(f"authentication to {uri} failed: {msg}", uri=uri, kind="auth", code=code)
    transport = (
        connecting
        or code in _TRANSPORT_CODES
        or (domain in _TRANSPORT_DOMAINS and code in (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INTERNAL_ERROR))
        or "client socket is closed" in msg
    )
    if transport:
        if _is_permission(err, msg):
            return Unreachable(f"permission denied connecting to {uri}: {msg}", uri=uri, kind="permission", code=code)
        what = "cannot connect to" if connecting else "lost connection to"
        reason = f"{what} {uri}: {msg}"
        return Unreachable(f"host unreachable, {reason}", uri=uri, kind="unreachable", code=code, reason=reason)
    # An ACL refusing one operation on a reachable host (ACCESS_DENIED after
    # connecting) is an ordinary failure of that operation.
    return OperationFailed(msg, code=code)
