#!/usr/bin/env bash
# Build the demo OS image "Debian 12" (LIBVIRT.md, "Real OS images"):
# debootstrap minbase, own MBR + ext4 root by UUID + extlinux, networkd DHCP,
# qemu-guest-agent, serial console, empty machine-id, no SSH host keys,
# root password locked (deploy sets it). zstd-compressed qcow2, 2 GiB virtual.
#
# Usage: build-image.sh plain|cloudinit
#   plain      grows root partition + filesystem at boot (growpart, resize2fs)
#   cloudinit  cloud-init with datasource_list [ NoCloud, None ] (it grows the root itself)
# Env: VMM_CACHE (default /var/cache/vmmanager), VMM_DEBIAN_MIRROR,
#      VMM_IMAGE_CHECK=0 to skip the boot test of a fresh build.
# Output (stdout): image=<path> and meta=<path>, i.e.
#   $VMM_CACHE/images/debian-12-FLAVOUR.qcow2 and its sidecar debian-12-FLAVOUR.json.
# Nothing is rebuilt when both exist. Exit 1 on any failure; the cache then
# holds no partial image (built in a temp dir, moved into place at the end).
set -euo pipefail
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
. "$here/lib.sh"

FLAVOUR="${1:-}"
case "$FLAVOUR" in
    plain|cloudinit) ;;
    *) die "usage: $0 plain|cloudinit" ;;
esac
MIRROR="${VMM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NAME="debian-12-$FLAVOUR"
OUT="$VMM_CACHE/images"
IMAGE="$OUT/$NAME.qcow2"
META="$OUT/$NAME.json"
SIZE=$((2 * 1024 * 1024 * 1024))
PART_START=$((1024 * 1024))   # sector 2048, where sfdisk puts partition 1

# The recipe's revision, kept in the sidecar: an image cached by an older recipe is rebuilt.
RECIPE=3
done_() { echo "image=$IMAGE"; echo "meta=$META"; exit 0; }
cached() { [[ -s "$IMAGE" && -s "$META" ]] && grep -q "\"recipe\": $RECIPE," "$META"; }
cached && { say "$NAME cached"; done_; }

mkdir -p "$OUT"
# Two concurrent builds of one flavour (e.g. make -j) would do the work twice.
exec 9>"$OUT/.$NAME.lock"
flock 9
cached && { say "$NAME cached"; done_; }

apt_ensure debootstrap debian-archive-keyring libguestfs-tools extlinux qemu-utils fdisk e2fsprogs zstd

# Temp dir on the cache's filesystem so the final mv is atomic. Unmount
# anything debootstrap may have left mounted before deleting, and never
# let rm cross into another filesystem (a bind-mounted /dev, say).
tmp="$(mktemp -d "$OUT/.build-$NAME.XXXXXX")"
# shellcheck disable=SC2329  # called by the trap
cleanup() {
    findmnt -rn -o TARGET | grep "^$tmp/" | sort -r | xargs -r -n1 umount -l || true
    rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
chmod 755 "$tmp"   # the boot test's QEMU (user libvirt-qemu) reads the image here
R="$tmp/root"

include=systemd-sysv,udev,dbus,systemd-resolved,linux-image-cloud-amd64,openssh-server
include+=,cloud-guest-utils,fdisk,e2fsprogs,qemu-guest-agent,iproute2,netbase,kmod
# debootstrap does not resolve the virtual python3-cffi-backend-api-min itself.
[[ $FLAVOUR == cloudinit ]] && include+=,cloud-init,python3-cffi-backend

say "debootstrap $NAME (about a minute)"
# Downloaded .debs are kept in the cache: a rebuild then skips the download.
mkdir -p "$VMM_CACHE/debootstrap-debs"
debootstrap --variant=minbase --include="$include" --cache-dir="$VMM_CACHE/debootstrap-debs" \
    bookworm "$R" "$MIRROR" > "$tmp/debootstrap.log" 2>&1 \
    || { tail -n 30 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }

say "configuring the tree"
UUID="$(cat /proc/sys/kernel/random/uuid)"
echo debian > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
echo "UUID=$UUID / ext4 errors=remount-ro 0 1" > "$R/etc/fstab"

cat > "$R/etc/systemd/network/80-dhcp.network" <<'CONF'
[Match]
Name=en* eth*

[Network]
DHCP=yes
CONF
ln -sfn ../run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
chroot "$R" systemctl enable --quiet systemd-networkd systemd-resolved ssh

# Every clone must get its own machine-id (else one DHCP client id for all)
# and its own SSH host keys: both are made at first boot.
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id" "$R"/etc/ssh/ssh_host_*
mkdir -p "$R/etc/systemd/system/ssh.service.d" "$R/etc/ssh/sshd_config.d"
# One host key, Ed25519 (every OpenSSH client since 6.5 takes it): an RSA key's primes took
# 16 s of an emulated guest's first boot (`ssh-keygen -A`), and cloud-init's ssh module made
# all three types in 9.5 s. Reset ExecStartPre so that the key exists before Debian's own
# `sshd -t`.
echo "HostKey /etc/ssh/ssh_host_ed25519_key" > "$R/etc/ssh/sshd_config.d/10-vmmanager-hostkey.conf"
cat > "$R/etc/systemd/system/ssh.service.d/10-hostkeys.conf" <<'CONF'
[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'test -s /etc/ssh/ssh_host_ed25519_key || exec /usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
ExecStartPre=/usr/sbin/sshd -t
CONF
# qemu-guest-agent has no [Install]: udev starts it when its virtio port appears.

chroot "$R" passwd -q -l root

if [[ $FLAVOUR == plain ]]; then
    # Every boot, so a disk grown later (resize, then reboot) is used too. growpart (a
    # shell script driving sfdisk) took 10 s of an emulated guest's boot to find nothing to
    # do: it runs only when the root partition ends more than 1 MiB before the disk does.
    cat > "$R/usr/local/sbin/vmm-growroot" <<'SH'
#!/bin/sh
set -e
part="$(findmnt -no SOURCE /)"
name="${part#/dev/}"
disk="$(lsblk -no PKNAME "$part")"
num="$(cat "/sys/class/block/$name/partition")"
end=$(($(cat "/sys/class/block/$name/start") + $(cat "/sys/class/block/$name/size")))
[ $(($(cat "/sys/class/block/$disk/size") - end)) -gt 2048 ] || exit 0
if growpart "/dev/$disk" "$num"; then resize2fs "$part"; fi
SH
    chmod 755 "$R/usr/local/sbin/vmm-growroot"
    # An ordinary late service: growing a mounted ext4 online is fine, and
    # ordering it before local-fs.target would create a dependency cycle.
    cat > "$R/etc/systemd/system/vmm-growroot.service" <<'CONF'
[Unit]
Description=Grow the root partition and filesystem to fill the disk

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/vmm-growroot

[Install]
WantedBy=multi-user.target
CONF
    chroot "$R" systemctl enable --quiet vmm-growroot.service
else
    # No slow probing of cloud datasources; minbase has no locales, and
    # cloud-init's locale module would otherwise fail (degraded system).
    cat > "$R/etc/cloud/cloud.cfg.d/99-nocloud.cfg" <<'CONF'
datasource_list: [ NoCloud, None ]
locale: false
ssh_genkeytypes: [ ed25519 ]
CONF
fi

mkdir -p "$R/boot/extlinux"
cat > "$R/boot/extlinux/extlinux.conf" <<CONF
SERIAL 0 115200
DEFAULT debian
PROMPT 0
TIMEOUT 1
LABEL debian
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=UUID=$UUID ro console=tty0 console=ttyS0,115200n8
CONF
[[ -e "$R/vmlinuz" && -e "$R/initrd.img" ]] || die "no /vmlinuz or /initrd.img symlink in the tree"

# A faster boot under TCG, where every boot is slow (docs/deploy.md; measured side by side
# at load 9-12: the network up 12 s sooner, the login prompt 28 s sooner):
# - an initramfs with only the disk drivers a VM's root needs (6.5 MB, not 15);
# - no modules for what a VM does not have or use (a hypervisor inside, the host CPU's
#   frequency driver, a PC speaker, a floppy, a joystick);
# - no units that only cost time here (binfmt, e2scrub's reaper, debugfs, tracefs,
#   huge pages, pstore).
echo "MODULES=list" > "$R/etc/initramfs-tools/conf.d/vmmanager.conf"
printf '%s\n' virtio_pci virtio_blk virtio_scsi sd_mod >> "$R/etc/initramfs-tools/modules"
printf 'blacklist %s\n' kvm kvm_amd kvm_intel powernow_k8 pcspkr floppy joydev serio_raw \
    > "$R/etc/modprobe.d/vmmanager-vm.conf"
mount -t proc proc "$R/proc"
chroot "$R" update-initramfs -u -k all > "$tmp/initramfs.log" 2>&1 \
    || { umount "$R/proc"; tail -n 20 "$tmp/initramfs.log" >&2; die "update-initramfs failed"; }
umount "$R/proc"
chroot "$R" systemctl mask --quiet systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
    proc-sys-fs-binfmt_misc.mount e2scrub_reap.service sys-kernel-debug.mount \
    sys-kernel-tracing.mount dev-hugepages.mount systemd-pstore.service

# Smaller image: no package cache or lists (the guest runs apt update itself).
rm -rf "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/var/log/*.log
mkdir -p "$R/var/lib/apt/lists/partial"

say "making the disk"
raw="$tmp/disk.raw"
truncate -s "$SIZE" "$raw"
echo 'start=2048, type=83, bootable' | sfdisk -q "$raw"
mkfs.ext4 -q -F -U "$UUID" -L root -d "$R" -E offset=$PART_START "$raw" $(((SIZE - PART_START) / 1024))k
# guestfish runs its appliance (TCG, env from lib.sh) to install extlinux into
# the filesystem: no loop devices needed on the host.
guestfish --rw --format=raw -a "$raw" -m /dev/sda1 extlinux /boot/extlinux
dd if=/usr/lib/EXTLINUX/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none
qemu-img convert -c -O qcow2 -o compression_type=zstd "$raw" "$tmp/$NAME.qcow2"
rm -f "$raw"

if [[ "${VMM_IMAGE_CHECK:-1}" != 0 ]]; then
    "$here/check-image.sh" "$FLAVOUR" "$tmp/$NAME.qcow2" >&2
fi

sha="$(sha256sum "$tmp/$NAME.qcow2" | cut -d' ' -f1)"
cloud_init=false; [[ $FLAVOUR == cloudinit ]] && cloud_init=true
cat > "$tmp/$NAME.json" <<JSON
{
  "name": "$NAME",
  "recipe": $RECIPE,
  "os_family": "debian",
  "os_version": "12",
  "format": "qcow2",
  "flavour": "$FLAVOUR",
  "cloud_init": $cloud_init,
  "virtual_size": $SIZE,
  "sha256": "$sha"
}
JSON
# The boot test leaves the image owned by libvirt-qemu (libvirt does not
# restore labels of backing files); the cache should be root's.
chown root:root "$tmp/$NAME.qcow2" "$tmp/$NAME.json"
chmod 644 "$tmp/$NAME.qcow2" "$tmp/$NAME.json"
# Image first, sidecar last: the sidecar's presence means the image is complete.
mv -f "$tmp/$NAME.qcow2" "$IMAGE"
mv -f "$tmp/$NAME.json" "$META"
say "$NAME built: $(du -h "$IMAGE" | cut -f1) on disk"
done_
