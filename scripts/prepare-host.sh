#!/usr/bin/env bash
# Make a fresh Debian 12 machine a vmmanager hypervisor host. Run it there as root.
# Idempotent: what is already right is left as it is, so running it again is safe.
#
#   prepare-host.sh [--pool NAME] [--pool-path DIR] [--network NAME|none] [--user USER] [KEY...]
#
# 1. installs libvirt and QEMU (libvirt-daemon-system libvirt-clients qemu-system-x86
#    qemu-utils dnsmasq-base) if missing;
# 2. starts virtlogd and libvirtd if they are not running (with systemd: enables them;
#    without it, e.g. in a container: starts the daemons directly);
# 3. defines, builds, starts and autostarts the storage pool NAME (default vmmanager) at
#    DIR (default /var/lib/vmmanager/pool);
# 4. defines, starts and autostarts the network NAME (default "default": libvirt's own NAT
#    network 192.168.122.0/24 with DHCP; any other name that does not exist yet is made an
#    isolated bridge without addresses; "none": no network);
# 5. authorizes each KEY (the panel's public key: `manage.py host key`, or the host add
#    page) for USER (default root) in ~USER/.ssh/authorized_keys; with no KEY and a
#    non-terminal stdin, one key per line is read from stdin.
# The panel then reaches the host as qemu+ssh://USER@ADDRESS/system. See docs/containers.md.
set -euo pipefail

pool=vmmanager
pool_path=/var/lib/vmmanager/pool
network=default
user=root
keys=()

say() { printf '==> %s\n' "$*" >&2; }
die() { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '4,5p' "$0" | sed 's/^# //' >&2; exit 2; }

while (($#)); do
    case "$1" in
        --pool) pool="${2:?--pool needs a name}"; shift 2 ;;
        --pool-path) pool_path="${2:?--pool-path needs a directory}"; shift 2 ;;
        --network) network="${2:?--network needs a name or none}"; shift 2 ;;
        --user) user="${2:?--user needs a user name}"; shift 2 ;;
        -h | --help) usage ;;
        -*) die "unknown option $1" ;;
        *) keys+=("$1"); shift ;;
    esac
done
if ((${#keys[@]} == 0)) && [[ ! -t 0 ]]; then
    while IFS= read -r line; do
        [[ -n "${line// /}" && "$line" != \#* ]] && keys+=("$line")
    done
fi

((EUID == 0)) || die "run me as root"
[[ "$pool_path" == /* ]] || die "--pool-path must be absolute"
for key in "${keys[@]}"; do
    [[ "$key" =~ ^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-[a-z0-9]+|sk-[a-z0-9@.-]+)\ [A-Za-z0-9+/=]+(\ .*)?$ ]] \
        || die "not an SSH public key: ${key:0:40}..."
done
if [[ -r /etc/os-release ]] && ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release; then
    say "warning: this is not Debian 12 (bookworm); continuing anyway"
fi

# 1. packages (apt only when something is missing: an up-to-date host stays offline).
packages=(libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base)
installed=" $(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null \
    | awk '$4 == "installed" { printf "%s ", $1 }' || true) "
missing=()
for pkg in "${packages[@]}"; do [[ "$installed" == *" $pkg "* ]] || missing+=("$pkg"); done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# /dev/kvm must belong to the kvm group for libvirt to use KVM. udev does this on a normal
# host; in a privileged container the node keeps the outer machine's group id, and libvirt
# then re-probes QEMU at every lookup (seconds each).
if [[ -e /dev/kvm ]] && getent group kvm >/dev/null && [[ "$(stat -c %G /dev/kvm)" != kvm ]]; then
    chgrp kvm /dev/kvm
fi

# 2. daemons
running() { local pid; pid="$(cat "/run/$1.pid" 2>/dev/null)" && kill -0 "$pid" 2>/dev/null; }
if [[ -d /run/systemd/system ]]; then
    systemctl enable --now virtlogd.socket libvirtd.service >/dev/null 2>&1 \
        || systemctl start virtlogd libvirtd
else
    running virtlogd || { say "starting virtlogd"; virtlogd -d; }
    running libvirtd || { say "starting libvirtd"; libvirtd -d; }
fi
v() { virsh -q -c qemu:///system "$@"; }
deadline=$((SECONDS + 60))
until v uri >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "libvirtd does not answer on qemu:///system after 60 s"
    sleep 0.5
done

# 3. storage pool
if ! v pool-info "$pool" >/dev/null 2>&1; then
    say "defining storage pool $pool at $pool_path"
    v pool-define-as "$pool" dir --target "$pool_path" >/dev/null
fi
defined_path="$(v pool-dumpxml "$pool" | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)"
[[ "$defined_path" == "$pool_path" ]] \
    || die "storage pool $pool already exists at $defined_path, not $pool_path (use --pool-path $defined_path)"
if [[ "$(v pool-info "$pool" | awk -F': *' '$1 == "State" { print $2 }')" != running ]]; then
    v pool-build "$pool" >/dev/null 2>&1 || true   # makes the directory; fine if it exists
    v pool-start "$pool" >/dev/null
fi
v pool-autostart "$pool" >/dev/null

# 4. network
if [[ "$network" != none ]]; then
    if ! v net-info "$network" >/dev/null 2>&1; then
        if [[ "$network" == default && -f /usr/share/libvirt/networks/default.xml ]]; then
            say "defining libvirt's NAT network default"
            v net-define /usr/share/libvirt/networks/default.xml >/dev/null
        else
            say "defining isolated network $network (a bridge without addresses)"
            xml="$(mktemp)"
            printf '<network><name>%s</name></network>\n' "$network" > "$xml"
            v net-define "$xml" >/dev/null
            rm -f "$xml"
        fi
    fi
    if [[ "$(v net-info "$network" | awk -F': *' '$1 == "Active" { print $2 }')" != yes ]]; then
        v net-start "$network" >/dev/null
    fi
    v net-autostart "$network" >/dev/null
fi

# 5. the panel's keys
if ((${#keys[@]})); then
    home="$(getent passwd "$user" | cut -d: -f6)"
    [[ -n "$home" ]] || die "no user $user"
    install -d -m 0700 -o "$user" -g "$(id -gn "$user")" "$home/.ssh"
    auth="$home/.ssh/authorized_keys"
    touch "$auth"
    chown "$user:$(id -gn "$user")" "$auth"
    chmod 0600 "$auth"
    for key in "${keys[@]}"; do
        if grep -qxF -- "$key" "$auth"; then
            say "key already authorized for $user: ${key:0:30}..."
        else
            printf '%s\n' "$key" >> "$auth"
            say "authorized for $user: ${key:0:30}..."
        fi
    done
fi

say "host ready: libvirt $(v version --daemon 2>/dev/null | awk '/daemon/ { print $NF }'), pool $pool ($pool_path)," \
    "network $network; add it as qemu+ssh://$user@$(hostname -f 2>/dev/null || hostname)/system"
