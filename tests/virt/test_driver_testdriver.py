"""The driver against libvirt's in-process test driver: fast, no daemon, real state rules."""

import logging
import os
import threading
import time
import uuid

import pytest

from apps.virt import connection
from apps.virt.domain_xml import parse_domain_xml
from apps.virt.driver import Hypervisor
from apps.virt.errors import InvalidState, NotFound, OperationFailed, Unreachable
from apps.virt.types import DiskSpec, DomainSpec, DomainState, NicSpec

DEFAULT = "test:///default"
GiB = 2**30

NODE_XML = """<node>
  <cpu><mhz>2400</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets>
       <cores>4</cores><threads>2</threads><active>8</active></cpu>
  <memory>8388608</memory>
  <domain type='test'>
    <name>web1</name>
    <uuid>11111111-2222-3333-4444-555555555555</uuid>
    <memory unit='MiB'>512</memory>
    <vcpu>2</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
  </domain>
  <pool type='dir'>
    <name>images</name>
    <uuid>11111111-2222-3333-4444-666666666666</uuid>
    <capacity unit='GiB'>100</capacity>
    <allocation unit='GiB'>0</allocation>
    <available unit='GiB'>100</available>
    <target><path>/var/lib/vmm/images</path></target>
    <volume type='file'>
      <name>base.qcow2</name>
      <capacity unit='GiB'>2</capacity>
      <allocation unit='MiB'>300</allocation>
      <target><format type='qcow2'/></target>
    </volume>
  </pool>
</node>
"""


@pytest.fixture
def hv():
    return Hypervisor(DEFAULT)


@pytest.fixture
def node_uri(tmp_path):
    path = tmp_path / "host1.xml"
    path.write_text(NODE_XML)
    return f"test://{path}"


@pytest.fixture
def node(node_uri):
    return Hypervisor(node_uri)


def spec(name=None, **kw):
    fields = dict(
        name=name or f"vmmtest-{uuid.uuid4().hex[:8]}",
        domain_type="qemu",
        vcpus=2,
        memory_mb=256,
        disks=(DiskSpec("/default-pool/disk.qcow2"),),
        nics=(NicSpec(mac="52:54:00:00:00:01"),),
        guest_agent=True,
    )
    fields.update(kw)
    return DomainSpec(**fields)


# --- host -------------------------------------------------------------------


def test_host_info_matches_node_file(node, node_uri):
    info = node.host_info()
    assert info.uri == node_uri
    assert (info.cpus, info.cpu_mhz, info.memory_mb) == (8, 2400, 8192)
    assert info.hostname  # the test driver reports the real machine's hostname
    # The test driver's capabilities are fixed (i686 guests of type "test").
    assert info.arch == "i686"
    assert info.domain_types == ("test",)
    assert info.libvirt_version.count(".") == 2
    assert info.hypervisor_version is not None
    assert info.free_memory_mb >= 0


def test_host_info_default(hv):
    info = hv.host_info()
    assert (info.cpus, info.cpu_mhz, info.memory_mb) == (16, 1400, 3072)


# --- domains ----------------------------------------------------------------


def test_list_and_get_domains_of_node_file(node):
    (web1,) = node.list_domains()
    assert web1.name == "web1"
    assert web1.uuid == "11111111-2222-3333-4444-555555555555"
    assert web1.state == DomainState.RUNNING == "running"
    assert (web1.vcpus, web1.memory_mb, web1.persistent, web1.autostart) == (2, 512, True, False)
    assert node.get_domain("web1") == web1


def test_list_agrees_with_get(hv):
    hv.define(spec("vmmtest-a"))
    hv.start(hv.define(spec("vmmtest-b")).name)
    listed = hv.list_domains()
    assert [d.name for d in listed] == ["test", "vmmtest-a", "vmmtest-b"]
    assert listed == [hv.get_domain(d.name) for d in listed]


def test_missing_domain_is_not_found(hv):
    with pytest.raises(NotFound, match="vmmtest-nope"):
        hv.get_domain("vmmtest-nope")


def test_define_returns_info_and_xml_round_trips(hv):
    s = spec(uuid=str(uuid.uuid4()))
    info = hv.define(s)
    assert info.name == s.name
    assert info.uuid == s.uuid
    assert info.state == "shutoff"
    assert (info.vcpus, info.memory_mb, info.persistent) == (2, 256, True)
    parsed = parse_domain_xml(hv.domain_xml(s.name))
    assert parsed.domain_type == "qemu"
    assert parsed.disks == s.disks
    assert parsed.nics == s.nics
    assert parsed.guest_agent


def test_define_from_xml_string(hv):
    xml = "<domain type='qemu'><name>vmmtest-x</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
    xml += "<os><type arch='x86_64'>hvm</type></os></domain>"
    assert hv.define(xml).memory_mb == 64


def test_define_rejected_xml_is_operation_failed(hv):
    with pytest.raises(OperationFailed):
        hv.define("<domain type='qemu'><name>broken</name></domain>")


def test_lifecycle_and_state_rules(hv):
    name = hv.define(spec()).name
    state = lambda: hv.get_domain(name).state  # noqa: E731

    for op in (hv.shutdown, hv.destroy, hv.reboot, hv.reset, hv.suspend, hv.resume):
        with pytest.raises(InvalidState, match=name):
            op(name)

    hv.start(name)
    assert state() == "running"
    with pytest.raises(InvalidState, match="it is running"):
        hv.start(name)
    with pytest.raises(InvalidState):
        hv.resume(name)

    hv.suspend(name)
    assert state() == "paused"
    with pytest.raises(InvalidState):
        hv.suspend(name)
    hv.resume(name)
    assert state() == "running"

    hv.reboot(name)
    hv.reset(name)
    assert state() == "running"
    with pytest.raises(InvalidState, match="stop it first"):
        hv.undefine(name)

    hv.shutdown(name)  # the test driver's guests obey ACPI at once
    assert state() == "shutoff"
    hv.start(name)
    hv.destroy(name)
    assert state() == "shutoff"

    hv.undefine(name)  # falls back to the flags the test driver supports
    with pytest.raises(NotFound):
        hv.get_domain(name)


def test_stop(hv):
    name = hv.define(spec()).name
    assert hv.stop(name, timeout=1) == "already-stopped"
    hv.start(name)
    assert hv.stop(name, timeout=1, poll=0.01) == "acpi"
    hv.start(name)
    hv.suspend(name)
    assert hv.stop(name, timeout=5) == "forced"  # a paused guest cannot see ACPI: no waiting
    assert hv.get_domain(name).state == "shutoff"


def test_stop_of_transient_domain_that_vanishes(hv):
    s = spec(disks=(), nics=())
    from apps.virt.domain_xml import build_domain_xml

    connection.get(DEFAULT).createXML(build_domain_xml(s), 0)  # transient: gone once stopped
    assert hv.get_domain(s.name).persistent is False
    assert hv.stop(s.name, timeout=1, poll=0.01) == "acpi"
    with pytest.raises(NotFound):
        hv.get_domain(s.name)


def test_domain_removed_behind_our_back_is_not_found(hv):
    name = hv.define(spec()).name
    hv.start(name)
    connection.get(DEFAULT).lookupByName(name).destroy()
    connection.get(DEFAULT).lookupByName(name).undefine()
    for call in (
        lambda: hv.get_domain(name),
        lambda: hv.domain_xml(name),
        lambda: hv.start(name),
        lambda: hv.destroy(name),
        lambda: hv.stop(name, timeout=1),
        lambda: hv.undefine(name),
        lambda: hv.interface_addresses(name),
    ):
        with pytest.raises(NotFound):
            call()


def test_interface_addresses(hv):
    # The test driver's built-in domain "test" has a fixed lease.
    assert hv.interface_addresses("test") == ["192.168.122.3"]
    hv.destroy("test")
    assert hv.interface_addresses("test") == []


def test_calls_are_logged_with_uri_and_timing(hv, caplog):
    with caplog.at_level(logging.DEBUG, logger="vmmanager.virt"):
        hv.get_domain("test")
        with pytest.raises(NotFound):
            hv.get_domain("vmmtest-nope")
    messages = [r.getMessage() for r in caplog.records if r.name == "vmmanager.virt"]
    assert any(m.startswith(f"{DEFAULT} get_domain('test')") and " ms ok" in m for m in messages)
    assert any("get_domain('vmmtest-nope')" in m and "NotFound" in m for m in messages)


# --- storage ----------------------------------------------------------------


def test_pool_and_volumes_of_node_file(node):
    pool = node.pool_info("images")
    assert (pool.path, pool.active, pool.capacity_bytes) == ("/var/lib/vmm/images", True, 100 * GiB)
    (base,) = node.list_volumes("images")
    assert base.name == "base.qcow2"
    assert base.path == "/var/lib/vmm/images/base.qcow2"
    assert (base.format, base.capacity_bytes, base.allocation_bytes) == ("qcow2", 2 * GiB, 300 * 2**20)
    assert node.volume_info("images", "base.qcow2") == base


def test_ensure_pool_is_idempotent(hv):
    first = hv.ensure_pool("vmmtest-pool", "/srv/vmmtest")
    assert first.active and first.path == "/srv/vmmtest"
    assert hv.ensure_pool("vmmtest-pool", "/srv/vmmtest/") == first
    with pytest.raises(InvalidState, match="already exists at /srv/vmmtest"):
        hv.ensure_pool("vmmtest-pool", "/elsewhere")
    hv.delete_pool("vmmtest-pool")
    with pytest.raises(NotFound):
        hv.pool_info("vmmtest-pool")


def test_volume_create_clone_copy_resize_delete(hv):
    pool = "default-pool"
    base = hv.create_volume(pool, "vmmtest-base.qcow2", GiB)
    assert (base.format, base.capacity_bytes, base.backing_path) == ("qcow2", GiB, None)

    clone = hv.clone_volume_linked(pool, "vmmtest-clone.qcow2", base.path)
    assert (clone.format, clone.capacity_bytes, clone.backing_path) == ("qcow2", GiB, base.path)
    bigger = hv.clone_volume_linked(pool, "vmmtest-big.qcow2", base.path, 3 * GiB)
    assert bigger.capacity_bytes == 3 * GiB
    with pytest.raises(InvalidState, match="smaller than its base"):
        hv.clone_volume_linked(pool, "vmmtest-small.qcow2", base.path, GiB // 2)
    with pytest.raises(NotFound):
        hv.clone_volume_linked(pool, "vmmtest-orphan.qcow2", "/default-pool/nope.qcow2")

    copy = hv.copy_volume(pool, "vmmtest-copy.qcow2", pool, "vmmtest-clone.qcow2")
    assert (copy.capacity_bytes, copy.backing_path) == (GiB, None)

    with pytest.raises(InvalidState, match="cannot shrink"):
        hv.resize_volume(pool, "vmmtest-clone.qcow2", GiB - 1)
    assert hv.resize_volume(pool, "vmmtest-clone.qcow2", GiB) == clone  # same size: nothing to do
    with pytest.raises(OperationFailed, match="not supported"):  # the test driver cannot resize
        hv.resize_volume(pool, "vmmtest-clone.qcow2", 2 * GiB)

    names = [v.name for v in hv.list_volumes(pool)]
    assert names == ["vmmtest-base.qcow2", "vmmtest-big.qcow2", "vmmtest-clone.qcow2", "vmmtest-copy.qcow2"]
    for name in names:
        hv.delete_volume(pool, name)
    assert hv.list_volumes(pool) == []
    with pytest.raises(NotFound):
        hv.delete_volume(pool, "vmmtest-base.qcow2")
    with pytest.raises(NotFound):
        hv.volume_info(pool, "vmmtest-base.qcow2")
    with pytest.raises(NotFound):
        hv.list_volumes("vmmtest-no-pool")


def test_existing_volume_name_is_operation_failed(hv):
    hv.create_volume("default-pool", "vmmtest-dup.qcow2", GiB)
    with pytest.raises(OperationFailed):
        hv.create_volume("default-pool", "vmmtest-dup.qcow2", GiB)


def test_upload_unsupported_leaves_nothing_behind(hv, tmp_path):
    src = tmp_path / "img.qcow2"
    src.write_bytes(b"QFI\xfb" + bytes(1020))
    with pytest.raises(OperationFailed, match="not supported"):
        hv.upload_volume("default-pool", "vmmtest-up.qcow2", str(src), "qcow2")
    with pytest.raises(NotFound):
        hv.volume_info("default-pool", "vmmtest-up.qcow2")
    with pytest.raises(OperationFailed, match="cannot read"):
        hv.upload_volume("default-pool", "vmmtest-up.qcow2", str(tmp_path / "missing"), "qcow2")


# --- connections ------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("qemu+tcp://127.0.0.1:1/system", ["host unreachable", "127.0.0.1:1", "Connection refused"]),
        ("qemu+unix:///system?socket=/nonexistent/sock", ["host unreachable", "/nonexistent/sock"]),
        ("nosuchdriver:///x", ["host unreachable", "no connection driver"]),
    ],
)
def test_unreachable_host(uri, words):
    with pytest.raises(Unreachable) as exc:
        Hypervisor(uri).host_info()
    assert exc.value.kind == "unreachable"
    assert exc.value.uri == uri
    for word in words:
        assert word in str(exc.value)


def test_connection_is_shared_and_state_persists(node_uri):
    assert connection.get(node_uri) is connection.get(node_uri)
    assert Hypervisor(node_uri).conn is Hypervisor(node_uri).conn
    Hypervisor(node_uri).destroy("web1")
    # Each *open* of a node file is a fresh host; one cached connection keeps it one host.
    assert Hypervisor(node_uri).get_domain("web1").state == "shutoff"


def test_event_loop_thread_runs_once_connected(hv):
    hv.host_info()
    assert "libvirt-event-loop" in [t.name for t in threading.enumerate()]


def test_reopen_after_fork(hv, monkeypatch):
    old = connection.get(DEFAULT)
    real_pid = connection.os.getpid()
    monkeypatch.setattr(connection.os, "getpid", lambda: real_pid + 100000)
    new = connection.get(DEFAULT)
    try:
        assert new is not old
        assert connection.get(DEFAULT) is new
        assert old in connection._abandoned
        assert old.isAlive()  # not closed: in a real child it is the parent's socket
        assert hv.get_domain("test").state == "running"
    finally:
        connection._abandoned.remove(old)
        old.close()


def test_close_callback_drops_connection_and_notifies(node_uri, monkeypatch):
    # Only our listeners: the panel's own (apps.hosts) would touch the database.
    monkeypatch.setattr(connection, "_listeners", [])
    calls = []

    def broken_listener(uri, reason):
        raise RuntimeError("listeners must not break the others")

    connection.add_close_listener(broken_listener)
    connection.add_close_listener(lambda uri, reason: calls.append((uri, reason)))
    conn = connection.get(node_uri)
    # What libvirt calls from the event loop when the daemon goes away (reason EOF = 1).
    connection._on_close(conn, 1, node_uri)
    assert calls == [(node_uri, "connection closed by the host (libvirtd stopped or host went down)")]
    assert connection.get(node_uri) is not conn  # reconnected
    connection.remove_close_listener(broken_listener)
    assert len(connection._listeners) == 1


def test_concurrent_first_use_opens_one_connection(node_uri):
    got = []
    threads = [threading.Thread(target=lambda: got.append(connection.get(node_uri))) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 16 and all(c is got[0] for c in got)


def test_real_fork_child_opens_its_own_connection(hv):
    parent_conn = hv.conn
    hv.host_info()  # event loop thread running, as in a real worker parent
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report through the pipe, never return into pytest
        try:
            child = Hypervisor(DEFAULT)
            ok = child.conn is not parent_conn and child.get_domain("test").state == "running"
            os.write(w, b"ok" if ok else b"shared the parent's connection")
        except BaseException as e:  # noqa: BLE001
            os.write(w, repr(e).encode()[:500])
        finally:
            os._exit(0)
    os.close(w)
    deadline = time.monotonic() + 20
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("child process hung (deadlock after fork?)")
        time.sleep(0.05)
    with os.fdopen(r, "rb") as pipe:
        assert pipe.read() == b"ok"
    assert hv.conn is parent_conn


def test_a_pool_or_volume_removed_after_the_listing_is_left_out_not_an_error(hv):
    """Another worker or an admin deleting a pool or volume between the host's listing and the
    reading of each entry must not fail the listing (the host check, the clean-up sweeps)."""
    import libvirt

    from apps.virt import storage

    for name in ("vmmtest-gone", "vmmtest-kept"):
        hv.ensure_pool(name, f"/srv/{name}")
        hv.create_volume(name, f"{name}.qcow2", GiB)
    conn = connection.get(DEFAULT)
    pools = conn.listAllStoragePools(0)
    volumes = conn.storagePoolLookupByName("vmmtest-kept").listAllVolumes(0)
    hv.delete_volume("vmmtest-kept", "vmmtest-kept.qcow2")
    hv.delete_pool("vmmtest-gone")
    try:
        listed = storage._still_there(pools, storage._pool_info, libvirt.VIR_ERR_NO_STORAGE_POOL)
        assert "vmmtest-kept" in {p.name for p in listed} and "vmmtest-gone" not in {p.name for p in listed}
        assert storage._still_there(volumes, storage._vol_info, libvirt.VIR_ERR_NO_STORAGE_VOL) == []
        with pytest.raises(libvirt.libvirtError):  # any other failure is not hidden
            storage._still_there(pools, storage._pool_info, libvirt.VIR_ERR_NO_STORAGE_VOL)
    finally:
        hv.delete_pool("vmmtest-kept")


def test_lease_expiries_are_empty_where_no_network_keeps_leases(hv):
    """The test driver's networks keep no DHCP leases: nothing, and no error (the deploy then
    takes the first address it sees, as before)."""
    assert hv.dhcp_lease_expiries("test") == {}
