#!/usr/bin/env bash
# Prove an OS image boots under libvirt (TCG): start a throwaway VM on a
# linked clone and wait for a DHCP lease on the isolated network "vmm-test" or a login
# prompt on the serial console; then destroy and undefine it, delete the clone.
#
# Usage: check-image.sh plain|cloudinit [IMAGE]
#   IMAGE defaults to $VMM_CACHE/images/debian-12-FLAVOUR.qcow2.
#   cloudinit: a NoCloud seed (cloud-localds) is attached as a read-only cdrom.
# Needs libvirtd running with network "vmm-test" active (scripts/host.sh).
# Env: VMM_CHECK_TIMEOUT seconds (default 90; 150 for cloudinit, whose Python
#      start-up under TCG on a busy 2-core machine took 48 s to the lease).
# Exit 0 if the guest came up in time, 1 otherwise (serial tail on stderr).
set -euo pipefail
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
. "$here/lib.sh"

FLAVOUR="${1:-}"
case "$FLAVOUR" in
    plain|cloudinit) ;;
    *) die "usage: $0 plain|cloudinit [IMAGE]" ;;
esac
IMAGE="$(realpath -m "${2:-$VMM_CACHE/images/debian-12-$FLAVOUR.qcow2}")"   # the clone needs an absolute backing path
[[ -s "$IMAGE" ]] || die "no image $IMAGE (run build-image.sh $FLAVOUR)"
TIMEOUT="${VMM_CHECK_TIMEOUT:-$([[ $FLAVOUR == cloudinit ]] && echo 150 || echo 90)}"

name="vmm-imgcheck-$FLAVOUR-$$"
log="/var/log/libvirt/qemu/$name-serial.log"
# Random MAC in QEMU's range, so that an old lease can never match.
mac="$(printf '52:54:00:%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))"
work="$(mktemp -d /tmp/vmm-imgcheck.XXXXXX)"
chmod 755 "$work"   # QEMU runs as libvirt-qemu
cleanup() {
    "${VIRSH[@]}" destroy "$name" >/dev/null 2>&1 || true
    "${VIRSH[@]}" undefine "$name" >/dev/null 2>&1 || true
    rm -rf "$work"
    rm -f "$log" "/var/log/libvirt/qemu/$name.log"
}
trap cleanup EXIT

# Linked clone: instant, and the image itself stays untouched.
qemu-img create -q -f qcow2 -b "$IMAGE" -F qcow2 "$work/disk.qcow2"

seed_xml=""
if [[ $FLAVOUR == cloudinit ]]; then
    apt_ensure cloud-image-utils
    printf 'instance-id: %s\nlocal-hostname: %s\n' "$name" "imgcheck" > "$work/meta-data"
    printf '#cloud-config\n{}\n' > "$work/user-data"
    cloud-localds "$work/seed.iso" "$work/user-data" "$work/meta-data"
    seed_xml="<disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/><source file='$work/seed.iso'/>
      <target dev='hdc' bus='ide'/><readonly/>
    </disk>"
fi

mkdir -p /var/log/libvirt/qemu
"${VIRSH[@]}" define /dev/stdin >/dev/null <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='$work/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    $seed_xml
    <interface type='network'>
      <source network='vmm-test'/><mac address='$mac'/><model type='virtio'/>
    </interface>
    <serial type='file'><source path='$log'/><target port='0'/></serial>
    <console type='file'><source path='$log'/><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  </devices>
</domain>
XML
say "booting $name from $(basename "$IMAGE") (TCG, up to $TIMEOUT s)"
"${VIRSH[@]}" start "$name" >/dev/null
start=$SECONDS
seen=""
until [[ -n "$seen" ]]; do
    if "${VIRSH[@]}" net-dhcp-leases vmm-test --mac "$mac" 2>/dev/null | grep -q "$mac"; then
        seen="DHCP lease $("${VIRSH[@]}" net-dhcp-leases vmm-test --mac "$mac" | awk '{ print $5 }')"
    elif grep -q 'login:' "$log" 2>/dev/null; then
        seen="login prompt on the serial console"
    elif ((SECONDS - start >= TIMEOUT)); then
        tail -n 25 "$log" >&2 2>/dev/null || true
        die "$FLAVOUR image did not boot: no DHCP lease and no login prompt after $TIMEOUT s"
    else
        sleep 1
    fi
done
say "check ok: $FLAVOUR image booted, $seen after $((SECONDS - start)) s"
