"""The XML the snapshot driver methods write and read (apps/virt/snapshots.py): which file a
disk writes to, the same domain pointed at another file, a disk-only external snapshot
that leaves the other disks alone, and a running domain's chain."""

import xml.etree.ElementTree as ET

import pytest

from apps.virt.errors import InvalidState
from apps.virt.snapshots import _live_chain, disk_file, snapshot_xml, with_disk_file

DOMAIN = """<domain type='qemu'><name>vmm-x</name><devices>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
    <source file='/pool/vmm-x-snap-b.qcow2'/>
    <backingStore type='file' index='2'><format type='qcow2'/><source file='/pool/vmm-x-disk0.qcow2'/>
      <backingStore type='file' index='3'><format type='qcow2'/><source file='/images/base.qcow2'/><backingStore/>
      </backingStore></backingStore>
    <target dev='vda' bus='virtio'/></disk>
  <disk type='file' device='cdrom'><source file='/pool/vmm-x-seed.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
</devices></domain>"""


def test_the_file_a_disk_writes_to_and_its_chain():
    assert disk_file(DOMAIN, "vda") == "/pool/vmm-x-snap-b.qcow2"
    assert _live_chain(DOMAIN, "vda") == ["/pool/vmm-x-snap-b.qcow2", "/pool/vmm-x-disk0.qcow2", "/images/base.qcow2"]
    with pytest.raises(InvalidState):
        disk_file(DOMAIN, "vdb")


def test_pointing_a_disk_at_another_file_drops_the_old_chain():
    xml = with_disk_file(DOMAIN, "vda", "/pool/vmm-x-snap-c.qcow2")
    assert disk_file(xml, "vda") == "/pool/vmm-x-snap-c.qcow2"
    assert _live_chain(xml, "vda") == ["/pool/vmm-x-snap-c.qcow2"]  # libvirt reads the chain again
    assert disk_file(xml, "hdc") == "/pool/vmm-x-seed.iso"


def test_a_disk_only_snapshot_names_every_disk():
    root = ET.fromstring(snapshot_xml(DOMAIN, "vda", "/pool/vmm-x-snap-c.qcow2"))
    disks = {d.get("name"): d for d in root.findall("./disks/disk")}
    assert disks["vda"].get("snapshot") == "external"
    assert disks["vda"].find("source").get("file") == "/pool/vmm-x-snap-c.qcow2"
    assert disks["vda"].find("driver").get("type") == "qcow2"
    assert disks["hdc"].get("snapshot") == "no"
