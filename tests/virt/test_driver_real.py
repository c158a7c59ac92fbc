"""The driver against the real local libvirtd (qemu:///system) with TCG guests.

Boots the tiny guest of scripts/tiny-guest.sh (host kernel + busybox initramfs
that prints VMM-TINY-GUEST-UP on ttyS0 and ignores ACPI). Everything the tests
create is named with a unique ``vmmtest-`` prefix and removed afterwards, even
on failure; the teardown then checks nothing with that prefix is left.
"""

import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path

import libvirt
import pytest

from apps.virt import domains
from apps.virt.domain_xml import cpu_model_name, parse_domain_xml, with_cpu
from apps.virt.driver import Hypervisor
from apps.virt.errors import InvalidState, NotFound, OperationFailed, Unreachable, VirtError
from apps.virt.types import DiskSpec, DomainSpec
from tests.built import kernel_and_initrd

pytestmark = pytest.mark.libvirt

REPO = Path(__file__).resolve().parents[2]
URI = "qemu:///system"
MARKER = "VMM-TINY-GUEST-UP"
MiB = 2**20


@pytest.fixture(scope="module")
def hv():
    """The local host; starts the daemons with scripts/host.sh if they are not running."""
    hv = Hypervisor(URI)
    try:
        hv.host_info()
    except Unreachable:
        subprocess.run(["bash", str(REPO / "scripts" / "host.sh")], check=True, timeout=900)
        hv.host_info()
    return hv


@pytest.fixture(scope="module")
def tiny_guest():
    """``(kernel, initrd)`` paths, built once by the script."""
    return kernel_and_initrd("tiny-guest.sh")


def _cleanup(hv, prefix):
    for dom in hv.list_domains():
        if dom.name.startswith(prefix):
            try:
                hv.destroy(dom.name)
            except InvalidState:
                pass
            hv.undefine(dom.name)
    for pool in hv.list_pools():
        if pool.active:
            for vol in hv.list_volumes(pool.name):
                if vol.name.startswith(prefix):
                    hv.delete_volume(pool.name, vol.name)
        if pool.name.startswith(prefix):
            hv.delete_pool(pool.name)


@pytest.fixture
def sandbox(hv):
    """A unique name prefix and a directory QEMU (user libvirt-qemu) can reach.

    Not pytest's tmp_path: it is under a 0700 root-only directory.
    """
    prefix = f"vmmtest-{uuid.uuid4().hex[:8]}"
    workdir = tempfile.mkdtemp(prefix=f"{prefix}-", dir="/var/tmp")
    os.chmod(workdir, 0o755)
    try:
        yield prefix, workdir
    finally:
        try:
            _cleanup(hv, prefix)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        leftovers = [d.name for d in hv.list_domains() if d.name.startswith(prefix)]
        leftovers += [p.name for p in hv.list_pools() if p.name.startswith(prefix)]
        for pool in hv.list_pools():
            if pool.active:
                leftovers += [v.path for v in hv.list_volumes(pool.name) if v.name.startswith(prefix)]
        assert leftovers == []


def wait_for_marker(path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if MARKER in Path(path).read_text(errors="replace"):
                return time.monotonic() - (deadline - timeout)
        except FileNotFoundError:
            pass
        time.sleep(0.2)
    tail = Path(path).read_text(errors="replace")[-2000:] if Path(path).exists() else "(no log file)"
    pytest.fail(f"no {MARKER} in {path} after {timeout} s; log tail:\n{tail}")


def test_host_info(hv):
    info = hv.host_info()
    assert info.uri == URI
    assert info.arch == "x86_64"
    assert "qemu" in info.domain_types
    assert info.cpus >= 1 and info.memory_mb > 0
    assert info.hypervisor_version  # QEMU's version


def test_the_baseline_cpu_of_this_host_is_what_its_tcg_guests_get(hv):
    """A cluster's baseline (docs/clusters.md) from this host's capabilities: the host-model
    CPU libvirt offers qemu (TCG) guests, not the silicon's CPU. No guest."""
    tcg = hv.host_cpu("qemu")
    root = ET.fromstring(tcg)
    assert (root.tag, root.get("mode")) == ("cpu", "custom") and root.findtext("model")
    baseline = hv.baseline_cpu([tcg, tcg], "qemu")
    assert cpu_model_name(baseline) == root.findtext("model")  # two equal hosts: their own model
    features = {(f.get("policy"), f.get("name")) for f in ET.fromstring(baseline).findall("feature")}
    assert len(features) > 20  # EXPAND_FEATURES: every feature listed, not only those beyond the model
    # The silicon's CPU (the paravirtual KVM's) has features TCG does not emulate, which the
    # TCG host-model leaves out (that is why the baseline starts from it).
    silicon = ET.fromstring(hv.conn.getCapabilities()).find("host/cpu")
    assert {f.get("name") for f in silicon.findall("feature")} - {
        name for policy, name in features if policy == "require"
    }
    with pytest.raises(OperationFailed):
        hv.baseline_cpu(["<cpu><arch>x86_64</arch></cpu>"], "qemu")  # no model: libvirt refuses


def test_tiny_guest_lifecycle(hv, sandbox, tiny_guest):
    prefix, workdir = sandbox
    kernel, initrd = tiny_guest
    pool = f"{prefix}-pool"
    assert hv.ensure_pool(pool, f"{workdir}/pool").active
    assert hv.ensure_pool(pool, f"{workdir}/pool").path == f"{workdir}/pool"  # idempotent

    base = hv.create_volume(pool, f"{prefix}-base.qcow2", 64 * MiB)
    disk = hv.clone_volume_linked(pool, f"{prefix}-disk.qcow2", base.path, 128 * MiB)
    assert (disk.format, disk.capacity_bytes, disk.backing_path) == ("qcow2", 128 * MiB, base.path)

    name = f"{prefix}-vm"
    log = f"{workdir}/{name}-serial.log"
    spec = DomainSpec(
        name=name,
        domain_type="qemu",  # TCG: KVM does not work on our machines
        vcpus=1,
        memory_mb=256,
        kernel=kernel,
        initrd=initrd,
        cmdline="console=ttyS0 panic=-1",
        serial_log_path=log,
        disks=(DiskSpec(disk.path),),
        guest_agent=True,
        cpu_xml=hv.baseline_cpu([hv.host_cpu("qemu")], "qemu"),  # a cluster's baseline CPU runs under TCG
    )
    defined = hv.define(spec)
    assert defined.state == "shutoff"
    assert with_cpu(hv.domain_xml(name, inactive=True), spec.cpu_xml) is None  # as libvirt keeps it: no change
    assert [d for d in hv.list_domains() if d.name == name] == [defined] == [hv.get_domain(name)]
    parsed = parse_domain_xml(hv.domain_xml(name))
    assert (parsed.disks[0].path, parsed.serial_log_path, parsed.domain_type) == (disk.path, log, "qemu")

    hv.start(name)
    wait_for_marker(log)
    assert cpu_model_name(ET.tostring(ET.fromstring(hv.domain_xml(name)).find("cpu"), encoding="unicode")) == (
        cpu_model_name(spec.cpu_xml)
    )
    running = hv.get_domain(name)
    assert running.state == "running"
    assert [d for d in hv.list_domains() if d.name == name] == [running]
    with pytest.raises(InvalidState):
        hv.start(name)
    assert hv.interface_addresses(name) == []  # no NIC, agent never answers: empty, no error

    # The serial console is a pty libvirt streams (the web console's bridge), still logged.
    ended = threading.Event()
    console = hv.open_console(name, lambda data: None, lambda reason: ended.set())
    console.send(b"\r")
    hv.send_keys(name, ("KEY_LEFTCTRL", "KEY_LEFTALT", "KEY_F2"))
    assert hv.vnc_display(name) is None  # defined without a VNC password: no graphics

    started = time.monotonic()
    assert hv.stop(name, timeout=3) == "forced"  # the tiny guest ignores ACPI
    assert ended.wait(10)  # the stream ends with the guest
    assert console.closed
    assert time.monotonic() - started >= 3
    assert hv.get_domain(name).state == "shutoff"
    assert hv.stop(name, timeout=3) == "already-stopped"

    hv.start(name)
    assert hv.get_domain(name).state == "running"
    hv.destroy(name)
    assert hv.get_domain(name).state == "shutoff"
    hv.undefine(name)
    with pytest.raises(NotFound):
        hv.get_domain(name)

    hv.delete_volume(pool, disk.name)
    hv.delete_volume(pool, base.name)
    assert hv.list_volumes(pool) == []
    hv.delete_pool(pool, remove_dir=True)
    assert not os.path.exists(f"{workdir}/pool")


def test_storage_upload_resize_copy(hv, sandbox, tmp_path):
    prefix, workdir = sandbox
    pool = f"{prefix}-pool"
    hv.ensure_pool(pool, f"{workdir}/pool")
    src = tmp_path / "small.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(src), "32M"], check=True)

    up = hv.upload_volume(pool, f"{prefix}-up.qcow2", str(src), "qcow2")
    assert (up.format, up.capacity_bytes, up.backing_path) == ("qcow2", 32 * MiB, None)
    assert up.path == f"{workdir}/pool/{prefix}-up.qcow2"
    assert hv.volume_info(pool, up.name) == up
    assert Path(up.path).read_bytes() == src.read_bytes()

    with pytest.raises(OperationFailed, match="is qcow2, not raw"):
        hv.upload_volume(pool, f"{prefix}-wrong.raw", str(src), "raw")
    with pytest.raises(NotFound):
        hv.volume_info(pool, f"{prefix}-wrong.raw")

    grown = hv.resize_volume(pool, up.name, 64 * MiB)
    assert grown.capacity_bytes == 64 * MiB
    with pytest.raises(InvalidState):
        hv.resize_volume(pool, up.name, 32 * MiB)

    clone = hv.clone_volume_linked(pool, f"{prefix}-clone.qcow2", up.path)
    copy = hv.copy_volume(pool, f"{prefix}-copy.qcow2", pool, clone.name)
    assert (copy.format, copy.capacity_bytes, copy.backing_path) == ("qcow2", 64 * MiB, None)
    with pytest.raises(VirtError):
        hv.create_volume(pool, copy.name, MiB)  # exists already
    # The fixture removes the volumes and the pool, and checks nothing is left.


@contextmanager
def diskless_guest_on_own_network(hv, prefix, name, mac, nic_extra=""):
    """A running QEMU domain `name` without a disk (it sits in its firmware) with one NIC
    (`mac`, plus `nic_extra` XML) on a transient isolated network of its own; removed after."""
    net = f"<network><name>{prefix}-net</name><bridge name='vn{prefix[-8:]}{name[-1]}'/></network>"
    subprocess.run(["virsh", "-c", URI, "net-create", "/dev/stdin"], input=net, text=True, check=True, timeout=60)
    xml = (
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64'>hvm</type></os><devices>"
        f"<interface type='network'><mac address='{mac}'/><source network='{prefix}-net'/><model type='virtio'/>"
        f"{nic_extra}</interface></devices></domain>"
    )
    try:
        hv.define(xml)
        hv.start(name)
        yield name
    finally:
        _cleanup(hv, prefix)
        subprocess.run(["virsh", "-c", URI, "net-destroy", f"{prefix}-net"], check=False, timeout=60)


def test_the_interface_filter_changes_live_and_in_the_config(hv, sandbox):
    """update_interface_filter on a running QEMU domain: live and persistent XML both get the new IPs."""
    prefix, _workdir = sandbox
    mac = "52:54:00:5e:00:42"
    filterref = "<filterref filter='clean-traffic'><parameter name='IP' value='198.51.100.10'/></filterref>"
    with diskless_guest_on_own_network(hv, prefix, f"{prefix}-filter", mac, filterref) as name:
        params = (("IP", "198.51.100.10"), ("IP", "198.51.100.11"))
        assert hv.update_interface_filter(name, mac, "clean-traffic", params) is True
        for inactive in (False, True):
            nic = parse_domain_xml(hv.domain_xml(name, inactive=inactive)).nics[0]
            assert (nic.filter, nic.filter_params) == ("clean-traffic", params)


def define_nwfilter(xml):
    subprocess.run(["virsh", "-c", URI, "nwfilter-define", "/dev/stdin"], input=xml, text=True, check=True)


@contextmanager
def nwfilters(names, *xmls):
    """Filters defined for a test; `names` (referring ones first) undefined after it."""
    try:
        for xml in xmls:
            define_nwfilter(xml)
        yield
    finally:
        for name in names:
            subprocess.run(["virsh", "-c", URI, "nwfilter-undefine", name], capture_output=True, check=False)


def test_a_live_filter_change_libvirt_could_not_apply_at_first_is_applied_when_it_can(hv, sandbox, monkeypatch):
    """libvirt refuses a live filter change whose new rules it cannot add at that moment (on a
    busy host, ebtables-nft tripping over another interface's rules; here, deterministically, a
    filter whose sub-filter is defined only a moment later) and puts the old rules back: the
    driver tries again for a few seconds, and the change is made live and in the config. A
    change that keeps failing fails with libvirt's reason, the interface and its config as they
    were."""
    prefix, _workdir = sandbox
    mac = "52:54:00:5e:00:45"
    outer, inner, never = f"{prefix}-outer", f"{prefix}-inner", f"{prefix}-never"
    filterref = "<filterref filter='clean-traffic'><parameter name='IP' value='198.51.100.20'/></filterref>"
    with nwfilters(
        (outer, never, inner),
        f"<filter name='{outer}' chain='root'><filterref filter='{inner}'/></filter>",
        f"<filter name='{never}' chain='root'><filterref filter='{prefix}-missing'/></filter>",
    ):
        with diskless_guest_on_own_network(hv, prefix, f"{prefix}-refilter", mac, filterref) as name:
            old = (("IP", "198.51.100.20"),)
            with monkeypatch.context() as short:  # each refusal takes libvirt seconds: one retry is enough here
                short.setattr(domains, "FILTER_RETRY_DELAYS", (0.1,))
                with pytest.raises(OperationFailed, match="failed to add new filter rules"):
                    hv.update_interface_filter(name, mac, never, ())
            for inactive in (False, True):
                nic = parse_domain_xml(hv.domain_xml(name, inactive=inactive)).nics[0]
                assert (nic.filter, nic.filter_params) == ("clean-traffic", old)

            # The sub-filter appears right after libvirt's first refusal (a spy on the real
            # call, so that the moment does not depend on how long libvirt takes to refuse).
            refusals, update = [], libvirt.virDomain.updateDeviceFlags

            def update_then_define(dom, xml, flags=0):
                try:
                    return update(dom, xml, flags)
                except libvirt.libvirtError:
                    if not refusals:
                        rule = "<rule action='accept' direction='out' priority='500'><ip/></rule>"
                        define_nwfilter(f"<filter name='{inner}' chain='ipv4'>{rule}</filter>")
                    refusals.append(flags)
                    raise

            monkeypatch.setattr(libvirt.virDomain, "updateDeviceFlags", update_then_define)
            assert hv.update_interface_filter(name, mac, outer, ()) is True
            assert refusals == [libvirt.VIR_DOMAIN_AFFECT_LIVE]
            for inactive in (False, True):
                assert parse_domain_xml(hv.domain_xml(name, inactive=inactive)).nics[0].filter == outer


def tap_tc(tap):
    """What tc has on the tap: its root qdisc kinds and its ingress filters."""
    qdiscs = subprocess.run(["tc", "qdisc", "show", "dev", tap], capture_output=True, text=True, check=True).stdout
    filters = subprocess.run(
        ["tc", "filter", "show", "dev", tap, "ingress"], capture_output=True, text=True, check=True
    ).stdout
    return qdiscs, filters


def test_an_interface_limit_is_in_effect_exactly_when_the_driver_says_so(hv, sandbox):
    """set_interface_bandwidth on a running QEMU domain (no disk) on an isolated network of its
    own: it either holds (read back live and in the definition, libvirt's htb on the tap and
    its police filter for the other way), or it fails with libvirt's message and leaves no
    limit at all, not on the tap either (a kernel without sch_sfq or act_police, like our
    development machines': libvirt leaves the htb it made before the failing command, and
    the driver removes it), so that a VM whose throttling failed is not throttled after all."""
    prefix, _workdir = sandbox
    mac = "52:54:00:5e:00:43"
    with diskless_guest_on_own_network(hv, prefix, f"{prefix}-bw", mac) as name:
        tap = ET.fromstring(hv.domain_xml(name)).find("devices/interface/target").get("dev")
        try:
            assert hv.set_interface_bandwidth(name, mac, 1221) is True
        except OperationFailed as e:
            assert "tc " in str(e), e  # libvirt's message names the tc command that failed
            assert hv.interface_bandwidth(name, mac) == (0, 0)
            assert "<bandwidth" not in hv.domain_xml(name, inactive=True)  # the definition unchanged
            qdiscs, filters = tap_tc(tap)
            assert "htb" not in qdiscs and "police" not in filters, (qdiscs, filters)
        else:
            assert hv.interface_bandwidth(name, mac) == (1221, 1221)
            assert "average='1221'" in hv.domain_xml(name, inactive=True)
            qdiscs, filters = tap_tc(tap)
            assert "htb" in qdiscs and "police" in filters, (qdiscs, filters)
        hv.set_interface_bandwidth(name, mac, 0)
        qdiscs, filters = tap_tc(tap)
        assert hv.interface_bandwidth(name, mac) == (0, 0) and "htb" not in qdiscs and "police" not in filters
