#!/usr/bin/env bash
# Install the Debian packages the panel, its tests and the image builds need.
# Idempotent: does nothing (and needs no network) when all are installed.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

packages=(
    # venv + libvirt-python, which has no wheel and is compiled by pip
    python3 python3-venv python3-dev gcc pkg-config libvirt-dev
    # python-ldap (django-auth-ldap, LDAP for staff) has no wheel either
    libldap-dev libsasl2-dev
    # hypervisor; dnsmasq-base serves DHCP on libvirt's NAT network "default"
    libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base
    # virt-customize, virt-sysprep, guestfish
    libguestfs-tools
    # tiny guest (host kernel + busybox) and the Debian demo images
    linux-image-amd64 busybox-static debootstrap extlinux cloud-image-utils
    fdisk e2fsprogs zstd
    # backups: the workers store VM disks in restic repositories (docs/backups.md)
    restic
)
apt_ensure "${packages[@]}"
say "system packages ok"
