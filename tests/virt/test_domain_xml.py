"""Pure XML builders/parsers: no libvirt involved."""

import xml.etree.ElementTree as ET

import pytest

from apps.virt.domain_xml import (
    build_domain_xml,
    build_pool_xml,
    build_volume_xml,
    cpu_model_name,
    parse_capabilities,
    parse_domain_xml,
    parse_pool_path,
    parse_vnc_display,
    parse_volume_xml,
    with_console_devices,
    with_cpu,
    with_direct_boot,
    without_direct_boot,
)
from apps.virt.types import DiskSpec, DomainSpec, NicSpec

UUID = "5b3c1d7e-0f4a-4a51-9b35-3f0e2d3c4b5a"


def full_spec(**overrides):
    fields = dict(
        name="vm-1",
        uuid=UUID,
        domain_type="qemu",
        vcpus=2,
        memory_mb=1024,
        disks=(
            DiskSpec("/var/lib/vmm/pool/vm-1.qcow2"),
            DiskSpec("/var/lib/vmm/pool/seed.iso", format="raw", target="hdc", bus="ide", device="cdrom"),
        ),
        nics=(NicSpec(), NicSpec(network="private", mac="52:54:00:12:34:56", model="e1000")),
        serial_log_path="/var/log/libvirt/qemu/vm-1-serial.log",
        guest_agent=True,
    )
    fields.update(overrides)
    return DomainSpec(**fields)


def test_round_trip_keeps_every_field():
    spec = full_spec()
    parsed = parse_domain_xml(build_domain_xml(spec))
    assert parsed.name == "vm-1"
    assert parsed.uuid == UUID
    assert parsed.domain_type == "qemu"
    assert (parsed.vcpus, parsed.memory_mb) == (2, 1024)
    assert (parsed.machine, parsed.arch) == ("pc", "x86_64")
    assert parsed.serial_log_path == spec.serial_log_path
    assert parsed.guest_agent is True
    assert parsed.kernel is None
    # The cdrom comes back read-only even though the spec did not say so.
    assert parsed.disks == (spec.disks[0], DiskSpec(**{**spec.disks[1].__dict__, "readonly": True}))
    assert parsed.nics == spec.nics


def test_domain_basics_acpi_and_lifecycle_actions():
    root = ET.fromstring(build_domain_xml(full_spec()))
    assert root.get("type") == "qemu"
    assert root.find("features/acpi") is not None
    assert root.find("features/apic") is not None
    assert root.findtext("on_poweroff") == "destroy"
    assert root.findtext("on_reboot") == "restart"
    assert root.findtext("on_crash") == "destroy"
    assert [b.get("dev") for b in root.findall("os/boot")] == ["hd"]
    assert root.find("os/kernel") is None
    # Serial and console are a pty (libvirt can stream it to the web console), logged to the file.
    assert {el.get("type") for el in root.findall("devices/serial") + root.findall("devices/console")} == {"pty"}
    assert root.find("devices/serial/log").attrib == {"file": "/var/log/libvirt/qemu/vm-1-serial.log", "append": "on"}
    assert root.find("devices/graphics") is None  # no VNC unless asked


def test_a_vnc_password_gives_a_loopback_vnc_display_with_it():
    root = ET.fromstring(build_domain_xml(full_spec(vnc_password="s3cret12")))
    graphics = root.find("devices/graphics")
    assert (graphics.get("type"), graphics.get("listen"), graphics.get("passwd")) == ("vnc", "127.0.0.1", "s3cret12")
    assert graphics.get("autoport") == "yes"
    assert parse_domain_xml(ET.tostring(root, encoding="unicode")).vnc_password == "s3cret12"


def test_a_vnc_password_has_at_most_8_characters():
    with pytest.raises(ValueError, match="VNC password"):
        full_spec(vnc_password="123456789")


def test_the_vnc_display_is_read_from_the_live_xml():
    live = "<domain><devices><graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'/></devices></domain>"
    assert parse_vnc_display(live) == ("127.0.0.1", 5901)
    assert parse_vnc_display("<domain><devices><graphics type='vnc' port='-1'/></devices></domain>") is None
    assert parse_vnc_display("<domain><devices/></domain>") is None


def test_kernel_boot_replaces_boot_devices():
    spec = full_spec(kernel="/k/vmlinuz", initrd="/k/initrd.img", cmdline="console=ttyS0 panic=-1")
    xml = build_domain_xml(spec)
    root = ET.fromstring(xml)
    assert root.find("os/boot") is None
    parsed = parse_domain_xml(xml)
    assert (parsed.kernel, parsed.initrd, parsed.cmdline) == ("/k/vmlinuz", "/k/initrd.img", "console=ttyS0 panic=-1")


def test_cdrom_is_readonly_and_may_be_empty():
    spec = full_spec(disks=(DiskSpec(None, format="raw", target="hdc", bus="ide", device="cdrom"),))
    root = ET.fromstring(build_domain_xml(spec))
    (disk,) = root.findall("devices/disk")
    assert disk.get("device") == "cdrom"
    assert disk.find("readonly") is not None
    assert disk.find("source") is None
    assert parse_domain_xml(build_domain_xml(spec)).disks[0].path is None


def test_disk_without_path_is_rejected():
    with pytest.raises(ValueError, match="no path"):
        build_domain_xml(full_spec(disks=(DiskSpec(None),)))


def test_block_device_disk():
    root = ET.fromstring(build_domain_xml(full_spec(disks=(DiskSpec("/dev/vg0/vm-1", format="raw"),))))
    disk = root.find("devices/disk")
    assert disk.get("type") == "block"
    assert disk.find("source").get("dev") == "/dev/vg0/vm-1"


def test_guest_agent_channel_only_when_asked():
    with_agent = ET.fromstring(build_domain_xml(full_spec()))
    (channel,) = with_agent.findall("devices/channel")
    assert channel.get("type") == "unix"
    assert channel.find("target").attrib == {"type": "virtio", "name": "org.qemu.guest_agent.0"}
    without = build_domain_xml(full_spec(guest_agent=False))
    assert ET.fromstring(without).find("devices/channel") is None
    assert parse_domain_xml(without).guest_agent is False


def test_without_log_file_console_is_a_pty():
    root = ET.fromstring(build_domain_xml(full_spec(serial_log_path=None)))
    assert root.find("devices/serial").get("type") == "pty"
    assert parse_domain_xml(ET.tostring(root, encoding="unicode")).serial_log_path is None


def test_no_uuid_and_no_mac_are_left_to_libvirt():
    root = ET.fromstring(build_domain_xml(full_spec(uuid=None)))
    assert root.find("uuid") is None
    first, second = root.findall("devices/interface")
    assert first.find("mac") is None
    assert second.find("mac").get("address") == "52:54:00:12:34:56"


@pytest.mark.parametrize(
    "bad",
    [
        {"domain_type": "xen"},
        {"domain_type": "test"},
        {"vcpus": 0},
        {"memory_mb": 0},
        {"name": ""},
        {"initrd": "/k/initrd.img"},
    ],
)
def test_invalid_specs(bad):
    with pytest.raises(ValueError):
        full_spec(**bad)


def test_domain_type_has_no_default():
    with pytest.raises(TypeError):
        DomainSpec(name="x", vcpus=1, memory_mb=64)


def test_parse_foreign_xml_units_and_interfaces():
    xml = """<domain type='kvm' id='3'>
      <name>other</name>
      <memory unit='KiB'>2097152</memory>
      <vcpu placement='static'>4</vcpu>
      <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
      <devices>
        <disk type='network' device='disk'><driver name='qemu' type='raw'/>
          <source protocol='rbd' name='pool/img'/><target dev='sda' bus='scsi'/></disk>
        <interface type='bridge'><mac address='52:54:00:aa:bb:cc'/><source bridge='br0'/></interface>
        <console type='file'><source path='/tmp/c.log'/><target type='serial' port='0'/></console>
      </devices></domain>"""
    parsed = parse_domain_xml(xml)
    assert (parsed.domain_type, parsed.vcpus, parsed.memory_mb) == ("kvm", 4, 2048)
    assert parsed.uuid is None
    assert parsed.disks[0].path == "pool/img"
    assert parsed.nics == (NicSpec(network=None, mac="52:54:00:aa:bb:cc", model="", bridge="br0"),)
    assert parsed.serial_log_path == "/tmp/c.log"
    assert parse_domain_xml(xml.replace("unit='KiB'>2097152", "unit='GiB'>3")).memory_mb == 3072


@pytest.mark.parametrize("xml", ["not xml", "<pool/>"])
def test_parse_rejects_non_domains(xml):
    with pytest.raises(ValueError):
        parse_domain_xml(xml)


def test_volume_xml_with_backing_store():
    xml = build_volume_xml("clone.qcow2", 10 * 2**30, "qcow2", backing_path="/pool/base.qcow2", backing_format="qcow2")
    root = ET.fromstring(xml)
    assert root.findtext("name") == "clone.qcow2"
    assert root.find("capacity").attrib == {"unit": "bytes"}
    assert int(root.findtext("capacity")) == 10 * 2**30
    assert root.findtext("allocation") == "0"
    assert root.find("target/format").get("type") == "qcow2"
    assert root.findtext("target/compat") == "1.1"  # version 3: it can keep backup checkpoints' bitmaps
    assert root.findtext("backingStore/path") == "/pool/base.qcow2"
    assert root.find("backingStore/format").get("type") == "qcow2"


def test_volume_xml_without_backing_store():
    root = ET.fromstring(build_volume_xml("disk.raw", 2**20, "raw"))
    assert root.find("backingStore") is None
    assert root.find("target/format").get("type") == "raw" and root.find("target/compat") is None


def test_parse_volume_xml_as_libvirt_writes_it():
    xml = """<volume type='file'><name>c.qcow2</name><key>/p/c.qcow2</key>
      <capacity unit='bytes'>1073741824</capacity><allocation unit='bytes'>200704</allocation>
      <target><path>/p/c.qcow2</path><format type='qcow2'/></target>
      <backingStore><path>/p/base.qcow2</path><format type='qcow2'/></backingStore></volume>"""
    assert parse_volume_xml(xml) == {
        "name": "c.qcow2",
        "path": "/p/c.qcow2",
        "format": "qcow2",
        "capacity_bytes": 2**30,
        "allocation_bytes": 200704,
        "backing_path": "/p/base.qcow2",
    }


def test_pool_xml():
    xml = build_pool_xml("images", "/var/lib/vmm/images")
    root = ET.fromstring(xml)
    assert root.get("type") == "dir"
    assert root.findtext("name") == "images"
    assert parse_pool_path(xml) == "/var/lib/vmm/images"


def test_parse_capabilities_prefers_host_arch():
    xml = """<capabilities><host><cpu><arch>x86_64</arch></cpu></host>
      <guest><os_type>hvm</os_type><arch name='i686'><domain type='qemu'/></arch></guest>
      <guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest>
      <guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/></arch></guest>
      </capabilities>"""
    assert parse_capabilities(xml) == ("x86_64", ("qemu", "kvm"))


OLD_DOMAIN = """<domain type='qemu'><name>vmm-old</name><devices>
  <serial type='file'><source path='/var/log/vmm-old.log'/><target port='0'/></serial>
  <console type='file'><source path='/var/log/vmm-old.log'/><target type='serial' port='0'/></console>
</devices></domain>"""


def test_a_domain_from_before_the_consoles_gains_a_pty_console_and_vnc():
    root = ET.fromstring(with_console_devices(OLD_DOMAIN, "pw123456"))
    assert [el.get("type") for el in root.findall("devices/serial") + root.findall("devices/console")] == ["pty", "pty"]
    assert root.find("devices/serial/source") is None
    assert root.find("devices/serial/log").get("file") == "/var/log/vmm-old.log"
    assert root.find("devices/graphics").get("passwd") == "pw123456"
    assert root.find("devices/video/model").get("type") == "vga"


def test_a_domain_with_its_consoles_is_left_alone():
    assert with_console_devices(build_domain_xml(full_spec(vnc_password="pw123456")), "other") is None


def test_a_vnc_display_follows_its_hosts_new_listen_address_keeping_its_password():
    # As libvirt gives a defined domain's config back: the attribute and a <listen> element.
    defined = """<domain type='qemu'><name>vmm-7</name><devices>
      <serial type='pty'><target port='0'/></serial>
      <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='pw123456'>
        <listen type='address' address='127.0.0.1'/>
      </graphics>
    </devices></domain>"""
    root = ET.fromstring(with_console_devices(defined, "pw123456", "198.51.100.7"))
    vnc = root.find("devices/graphics")
    assert (vnc.get("listen"), vnc.find("listen").get("address")) == ("198.51.100.7", "198.51.100.7")
    assert vnc.get("passwd") == "pw123456" and len(root.findall("devices/graphics")) == 1
    assert with_console_devices(_tostring_of(root), "pw123456", "198.51.100.7") is None  # nothing more to do
    new = ET.fromstring(build_domain_xml(full_spec(vnc_password="pw123456", vnc_listen="198.51.100.7")))
    assert new.find("devices/graphics").get("listen") == "198.51.100.7"


def _tostring_of(root):
    return ET.tostring(root, encoding="unicode")


# A cluster's baseline as libvirt computes one (shortened): what the cluster's VMs get.
CLUSTER_CPU = """<cpu mode='custom' match='exact'>
  <model fallback='forbid'>EPYC</model>
  <vendor>AMD</vendor>
  <feature policy='require' name='x2apic'/>
  <feature policy='disable' name='vme'/>
</cpu>"""


def test_a_cluster_baseline_cpu_is_the_domains_cpu_and_a_domain_without_it_gets_it_at_its_next_start():
    spec = DomainSpec(name="vm", domain_type="qemu", vcpus=1, memory_mb=256, cpu_xml=CLUSTER_CPU)
    xml = build_domain_xml(spec)
    assert ET.fromstring(xml).findtext("cpu/model") == "EPYC"
    # The same CPU as libvirt gives it back (another attribute, the features reordered): nothing to do.
    kept = xml.replace('match="exact"', 'match="exact" check="partial"')
    assert with_cpu(kept, CLUSTER_CPU.replace("<feature policy='require' name='x2apic'/>", "")) is not None
    assert with_cpu(kept, CLUSTER_CPU) is None
    # A domain without a CPU (QEMU's default) or with another one gets the cluster's.
    bare = build_domain_xml(DomainSpec(name="vm", domain_type="qemu", vcpus=1, memory_mb=256))
    assert ET.fromstring(bare).find("cpu") is None
    upgraded = with_cpu(bare, CLUSTER_CPU)
    assert ET.fromstring(upgraded).findtext("cpu/model") == "EPYC"
    assert with_cpu(upgraded, CLUSTER_CPU) is None
    assert ET.fromstring(with_cpu(upgraded, CLUSTER_CPU.replace("EPYC", "Opteron_G2"))).findtext("cpu/model") == (
        "Opteron_G2"
    )
    assert cpu_model_name(CLUSTER_CPU) == "EPYC" and cpu_model_name("") == "" and cpu_model_name("<cpu/>") == ""
    with pytest.raises(ValueError):
        build_domain_xml(
            DomainSpec(name="vm", domain_type="qemu", vcpus=1, memory_mb=256, cpu_xml="<cpu mode='host-model'/>")
        )


def test_a_rescue_boot_is_put_on_a_domain_and_taken_off_again_leaving_the_rest_as_it_was():
    spec = DomainSpec(
        name="vmm-x",
        domain_type="qemu",
        vcpus=1,
        memory_mb=512,
        disks=(DiskSpec(path="/pool/vmm-x-disk0.qcow2", format="qcow2", target="vda"),),
        serial_log_path="/var/log/libvirt/qemu/vmm-x-serial.log",
    )
    own = build_domain_xml(spec)
    rescue = with_direct_boot(own, "/pool/vmm-x-rescue-kernel", "/pool/vmm-x-rescue-initrd", "console=ttyS0")
    parsed = parse_domain_xml(rescue)
    assert (parsed.kernel, parsed.initrd, parsed.cmdline) == (
        "/pool/vmm-x-rescue-kernel",
        "/pool/vmm-x-rescue-initrd",
        "console=ttyS0",
    )
    assert parsed.disks == parse_domain_xml(own).disks  # its own disk stays: the rescue system's /dev/vda
    again = with_direct_boot(rescue, "/pool/k2", "/pool/i2", "quiet")  # replaced, not added
    assert [el.text for el in ET.fromstring(again).find("os")] == ["hvm", "/pool/k2", "/pool/i2", "quiet", None]

    back = without_direct_boot(again)
    assert ET.fromstring(back).find("os/kernel") is None
    assert [(el.tag, el.get("dev")) for el in ET.fromstring(back).find("os")] == [("type", None), ("boot", "hd")]
    assert parse_domain_xml(back) == parse_domain_xml(own)
    assert without_direct_boot(back) is None
