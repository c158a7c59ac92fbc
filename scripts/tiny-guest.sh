#!/usr/bin/env bash
# Build (once) a tiny direct-kernel-boot guest for driver tests: the host's
# Debian kernel plus a ~1 MB busybox initramfs whose /init loads the virtio
# modules, prints VMM-TINY-GUEST-UP on the console (ttyS0) and sleeps forever.
# It deliberately has no acpid: tests use it as "a guest that ignores ACPI".
#
# Usage: tiny-guest.sh [--check]
#   stdout (the contract, parsed by other code):
#     kernel=/abs/path/vmlinuz
#     initrd=/abs/path/initrd.img
#   --check  also boot it once under libvirt (TCG) and wait for the marker.
set -euo pipefail
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
. "$here/lib.sh"

case "${1:-}" in
    ""|--check) ;;
    *) die "usage: $0 [--check]" ;;
esac

MARKER=VMM-TINY-GUEST-UP
# virtio_pci finds the devices; blk/net/console drive disk, NIC and channels.
MODULES=(virtio_pci virtio_blk virtio_net virtio_console)
DIR="$VMM_CACHE/tiny"
KERNEL="$DIR/vmlinuz"
INITRD="$DIR/initrd.img"

build() {
    apt_ensure linux-image-amd64 busybox-static cpio kmod
    local vmlinuz kver tmp
    vmlinuz="$(newest_kernel)"
    kver="${vmlinuz#/boot/vmlinuz-}"
    say "building tiny guest from kernel $kver"

    mkdir -p "$DIR"
    tmp="$(mktemp -d "$DIR/.build.XXXXXX")"
    # shellcheck disable=SC2064  # expand now: $tmp is local to this function
    trap "rm -rf '$tmp'" EXIT
    local root="$tmp/root"
    mkdir -p "$root"/{bin,dev,proc,sys,lib/modules}
    cp /bin/busybox "$root/bin/busybox"

    collect_modules "$kver" "$root/lib/modules" "${MODULES[@]}"

    cat > "$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The cpio has no /dev/console node, so the kernel gave us no stdio.
exec </dev/console >/dev/console 2>&1
for m in \$(cat /lib/modules/order); do insmod /lib/modules/\$m.ko; done
echo "vmm-tiny-guest: block devices: \$(ls /sys/block | tr '\\n' ' ')"
echo $MARKER
# PID 1 must never exit (kernel panic). No acpid: ACPI shutdown is ignored.
while :; do sleep 3600; done
INIT
    chmod 755 "$root/init"

    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$tmp/initrd.img"
    install_boot_pair "$vmlinuz" "$tmp/initrd.img" "$KERNEL" "$INITRD"
    rm -rf "$tmp"; trap - EXIT
}

# Boot it once as a transient TCG domain with a small virtio disk, wait for the
# marker on the serial log, check the disk showed up and ACPI shutdown is ignored.
check() {
    name="vmm-tiny-check-$$"
    log="/var/log/libvirt/qemu/$name-serial.log"
    disk="$(mktemp /tmp/vmm-tiny-check.XXXXXX.raw)"
    truncate -s 1M "$disk"
    mkdir -p /var/log/libvirt/qemu
    # Globals (not locals) because the trap runs after check() has returned.
    trap '"${VIRSH[@]}" destroy "$name" >/dev/null 2>&1 || true
          rm -f "$log" "/var/log/libvirt/qemu/$name.log" "$disk"' EXIT
    say "checking: booting $name (TCG)"
    "${VIRSH[@]}" create /dev/stdin >/dev/null <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KERNEL</kernel>
    <initrd>$INITRD</initrd>
    <cmdline>console=ttyS0 panic=-1</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='$disk'/><target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'><source path='$log'/><target port='0'/></serial>
    <console type='file'><source path='$log'/><target type='serial' port='0'/></console>
  </devices>
</domain>
XML
    local start=$SECONDS
    until grep -q "$MARKER" "$log" 2>/dev/null; do
        ((SECONDS - start < 60)) || { tail -n 20 "$log" >&2 || true; die "no $MARKER after 60 s"; }
        sleep 0.2
    done
    grep -q "block devices:.*vda" "$log" || { tail -n 20 "$log" >&2; die "virtio disk vda not seen by the guest"; }
    say "$MARKER after $((SECONDS - start)) s, virtio disk seen; sending ACPI shutdown"
    "${VIRSH[@]}" shutdown "$name" >/dev/null
    sleep 3
    [[ "$("${VIRSH[@]}" domstate "$name" 2>/dev/null)" == running ]] || die "guest did not ignore ACPI shutdown"
    say "check ok: guest up and ignores ACPI shutdown"
}

if [[ ! -s "$KERNEL" || ! -s "$INITRD" ]]; then
    build
fi
echo "kernel=$KERNEL"
echo "initrd=$INITRD"
if [[ "${1:-}" == --check ]]; then
    check
fi
