"""libvirtError → driver error mapping, with synthetic errors for the cases a
test cannot provoke on demand (auth, RPC, a connection dying mid-call).

This is the only test module besides the driver itself that imports libvirt:
it needs the error codes.
"""

import libvirt
import pytest

from apps.virt.errors import InvalidState, NotFound, OperationFailed, Unreachable, VirtError, translate

URI = "qemu+tcp://10.0.0.5/system"


def lv_error(code, domain=libvirt.VIR_FROM_NONE, message="boom"):
    err = libvirt.libvirtError(message)
    err.err = (code, domain, message, libvirt.VIR_ERR_ERROR, None, None, None, 0, 0)
    return err


@pytest.mark.parametrize(
    "code",
    [
        libvirt.VIR_ERR_NO_DOMAIN,
        libvirt.VIR_ERR_NO_STORAGE_VOL,
        libvirt.VIR_ERR_NO_STORAGE_POOL,
        libvirt.VIR_ERR_NO_NETWORK,
    ],
)
def test_missing_objects_are_not_found(code):
    err = translate(lv_error(code, message="Domain not found: no domain with matching name 'x'"), uri=URI)
    assert type(err) is NotFound
    assert str(err) == "Domain not found: no domain with matching name 'x'"
    assert err.code == code


def test_operation_invalid_is_invalid_state():
    err = translate(lv_error(libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_FROM_QEMU, "domain is not running"))
    assert type(err) is InvalidState


@pytest.mark.parametrize(
    ("code", "domain", "message"),
    [
        (libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_FROM_NONE, "no connection driver available"),
        (libvirt.VIR_ERR_RPC, libvirt.VIR_FROM_RPC, "cannot recv data"),
        (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_FROM_RPC, "Cannot write data: Broken pipe"),
        (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_RPC, "client socket is closed"),
        (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_NONE, "client socket is closed"),
    ],
)
def test_transport_failures_are_unreachable(code, domain, message):
    err = translate(lv_error(code, domain, message), uri=URI)
    assert type(err) is Unreachable
    assert err.kind == "unreachable"
    assert err.uri == URI
    assert str(err) == f"host unreachable, lost connection to {URI}: {message}"


def test_any_error_while_connecting_is_unreachable():
    err = translate(
        lv_error(libvirt.VIR_ERR_XML_ERROR, libvirt.VIR_FROM_TEST, "failed to parse"), uri=URI, connecting=True
    )
    assert type(err) is Unreachable
    assert str(err) == f"host unreachable, cannot connect to {URI}: failed to parse"


def test_auth_failure_says_so():
    err = translate(lv_error(libvirt.VIR_ERR_AUTH_FAILED, libvirt.VIR_FROM_AUTH, "authentication failed"), uri=URI)
    assert type(err) is Unreachable
    assert err.kind == "auth"
    assert str(err).startswith(f"authentication to {URI} failed")


def test_permission_denied_on_connect_says_so():
    msg = "Failed to connect socket to '/run/libvirt/libvirt-sock': Permission denied"
    err = translate(
        lv_error(libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_FROM_RPC, msg), uri="qemu:///system", connecting=True
    )
    assert type(err) is Unreachable
    assert err.kind == "permission"
    assert str(err).startswith("permission denied connecting to qemu:///system")


@pytest.mark.parametrize(
    ("code", "domain"),
    [
        # The same codes from a hypervisor or storage driver are plain failures.
        (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_FROM_STORAGE),
        (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_QEMU),
        (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_FROM_STORAGE),
        (libvirt.VIR_ERR_ACCESS_DENIED, libvirt.VIR_FROM_ACCESS),
        (libvirt.VIR_ERR_OPERATION_FAILED, libvirt.VIR_FROM_QEMU),
    ],
)
def test_everything_else_is_operation_failed(code, domain):
    err = translate(lv_error(code, domain, "Cannot access storage file '/x': No such file"), uri=URI)
    assert type(err) is OperationFailed
    assert str(err) == "Cannot access storage file '/x': No such file"


def test_all_are_virt_errors():
    for cls in (NotFound, InvalidState, Unreachable, OperationFailed):
        assert issubclass(cls, VirtError)
