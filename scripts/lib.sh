# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; do not run it.
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Where built artefacts (tiny guest, OS images) are cached between runs.
: "${VMM_CACHE:=/var/cache/vmmanager}"
export VMM_CACHE

# Progress goes to stderr so that scripts whose stdout is a contract
# (tiny-guest.sh prints kernel=/initrd=) stay parseable.
say() { printf '==> %s\n' "$*" >&2; }
die() { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }

# apt_ensure PKG...: install only the packages that are not installed yet.
# dpkg-query is instant, so an up-to-date machine never touches apt (slow,
# needs the network); `apt-get update` runs only when something is missing,
# because a fresh container has empty package lists.
apt_ensure() {
    local pkg missing=() installed
    # One dpkg-query for all of them; it exits 1 and says nothing on stdout
    # for packages it has never heard of, which then count as missing.
    installed=" $(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null \
        | awk '$4 == "installed" { printf "%s ", $1 }' || true) "
    for pkg in "$@"; do
        [[ "$installed" == *" $pkg "* ]] || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# libguestfs must run its appliance under TCG: /dev/kvm here is a paravirtual
# KVM that aborts QEMU (see LIBVIRT.md).
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg

# The local system daemon, quiet (no blank lines after output).
# shellcheck disable=SC2034  # used by the scripts that source this file
VIRSH=(virsh -q -c qemu:///system)

# newest_kernel: the newest installed Debian kernel's path (/boot/vmlinuz-VERSION), once
# its modules are there. Not `uname -r`, which is the *host's* running kernel and may have no
# modules in /lib/modules (true in containers).
newest_kernel() {
    local vmlinuz
    vmlinuz="$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n1)"
    [[ -f "$vmlinuz" ]] || die "no /boot/vmlinuz-* (install linux-image-amd64)"
    [[ -f "/lib/modules/${vmlinuz#/boot/vmlinuz-}/modules.dep" ]] \
        || die "no modules for ${vmlinuz#/boot/vmlinuz-} in /lib/modules"
    echo "$vmlinuz"
}

# install_boot_pair VMLINUZ INITRD KERNEL_DEST INITRD_DEST: a kernel and the initramfs built
# for it put where the scripts' callers read them, world-readable (QEMU runs as libvirt-qemu and
# reads them directly). The initrd first, the kernel last: "the kernel exists" then implies a
# complete pair.
install_boot_pair() {
    install -m 644 "$2" "$4.new" && mv -f "$4.new" "$4"
    install -m 644 "$1" "$3.new" && mv -f "$3.new" "$3"
}

# collect_modules KVER DIR MODULE...: copy MODULEs of kernel KVER and their
# dependencies into DIR as plain NAME.ko (busybox insmod wants them
# uncompressed) and write their load order, one name a line, to DIR/order.
# modprobe resolves dependencies for this kernel and prints them in load
# order (virtio_ring before virtio before virtio_pci ...); built-in ones come
# out as "builtin X" and need nothing. Dedupe, keeping the order. Modules this
# kernel does not have are skipped with a message.
collect_modules() {
    local kver="$1" dir="$2" f m
    shift 2
    mkdir -p "$dir"
    : > "$dir/order"
    while read -r f; do
        m="$(basename "$f")"; m="${m%%.ko*}"
        grep -qx "$m" "$dir/order" && continue
        case "$f" in
            *.ko.xz)  xz -dc "$f" > "$dir/$m.ko" ;;
            *.ko.zst) zstd -qdc "$f" > "$dir/$m.ko" ;;
            *)        cp "$f" "$dir/$m.ko" ;;
        esac
        echo "$m" >> "$dir/order"
    done < <(for m in "$@"; do
                 modprobe -S "$kver" --show-depends "$m" 2>/dev/null \
                     || say "kernel $kver has no module $m: skipped"
             done | awk '$1 == "insmod" { print $2 }')
}
