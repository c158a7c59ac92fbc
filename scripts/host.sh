#!/usr/bin/env bash
# Make this machine a hypervisor host for the panel, idempotently:
# packages, virtlogd + libvirtd (no systemd here, so we start them ourselves),
# NAT network "default" (the guests of a panel run here with `make run`), the isolated network
# "vmm-test" (no forwarding, no DNS, DHCP in the documentation prefix 198.51.100.128/25: every
# guest the tests, the benches and the image checks boot is on it, so none reaches anything
# beyond this machine) and the dir storage pool "vmmanager".
# stdout: one summary line. Exit 1 with a message if anything is wrong.
set -euo pipefail
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
. "$here/lib.sh"

POOL=vmmanager
POOL_DIR=/var/lib/vmmanager/pool

"$here/system-packages.sh"

# Liveness by pidfile, never by searching process names: libvirtds of the
# test-host containers are visible here too and must not count. The comm
# check catches a stale pidfile whose PID now belongs to something else
# (likely in a restarted container, where PIDs are small and reused).
running() {
    local pid
    pid="$(cat "/run/$1.pid" 2>/dev/null)" && kill -0 "$pid" 2>/dev/null \
        && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$1" ]]
}

# No udev here, so do what Debian's udev rule does on a normal host: /dev/kvm
# root:kvm 0660. When its group is anything else (a container's or chroot's
# udev may set its own gid), libvirt finds KVM while probing QEMU but not when
# validating that cache as libvirt-qemu, and then re-probes QEMU at every
# capability lookup, i.e. at every domain start: 4-8 s each, a minute under load.
# Guests still use TCG (<domain type='qemu'>): this only keeps libvirt consistent.
if [[ -c /dev/kvm ]] && getent group kvm >/dev/null \
    && [[ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]]; then
    say "setting /dev/kvm to root:kvm 0660, as udev would"
    chown root:kvm /dev/kvm && chmod 660 /dev/kvm
fi

started=""
for daemon in virtlogd libvirtd; do   # virtlogd first: libvirtd needs it for QEMU logs
    if ! running "$daemon"; then
        say "starting $daemon"
        "$daemon" -d || die "$daemon -d failed"
        started+=" $daemon"
    fi
done

# Ready = the qemu driver answers (libvirtd serves no client before its
# drivers are initialised). `uri` touches no QEMU capabilities, so a run on
# a ready host stays fast even if something has made them slow (see above).
deadline=$((SECONDS + 60))
until "${VIRSH[@]}" uri >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "libvirtd does not answer on qemu:///system after 60 s"
    sleep 0.2
done
if [[ "$started" == *libvirtd* ]]; then
    # Pay the first QEMU capability probe (~8 s) now rather than in the
    # first VM start; this is the call that triggers it.
    say "probing QEMU capabilities"
    timeout 60 "${VIRSH[@]}" version >/dev/null \
        || die "libvirtd cannot probe QEMU (virsh version failed)"
fi

if ! "${VIRSH[@]}" net-info default >/dev/null 2>&1; then
    say "defining network default"
    "${VIRSH[@]}" net-define /usr/share/libvirt/networks/default.xml >/dev/null
fi
if [[ "$("${VIRSH[@]}" net-info default | awk '$1 == "Active:" { print $2 }')" != yes ]]; then
    say "starting network default"
    "${VIRSH[@]}" net-start default >/dev/null || die "cannot start network default (dnsmasq-base installed? bridge virbr0 free?)"
fi
"${VIRSH[@]}" net-autostart default >/dev/null

# The tests' guests' network. No <forward>: libvirt rejects the bridge's traffic to and from
# anywhere but the host; DNS off, so dnsmasq (DHCP only) forwards no guest's query either.
# 198.51.100.128/25: a documentation prefix (203.0.113.0/24 is where this machine's package
# registries answer, so it cannot be a network of the host's own). An older definition of
# it (another prefix) is replaced.
TEST_NET=vmm-test
TEST_NET_HOST=198.51.100.129
if "${VIRSH[@]}" net-info "$TEST_NET" >/dev/null 2>&1 \
    && ! "${VIRSH[@]}" net-dumpxml "$TEST_NET" | grep -q "address='$TEST_NET_HOST' prefix='25'"; then
    say "replacing network $TEST_NET (an older definition)"
    "${VIRSH[@]}" net-destroy "$TEST_NET" >/dev/null 2>&1 || true
    "${VIRSH[@]}" net-undefine "$TEST_NET" >/dev/null
fi
if ! "${VIRSH[@]}" net-info "$TEST_NET" >/dev/null 2>&1; then
    say "defining network $TEST_NET (isolated, 198.51.100.128/25)"
    xml="$(mktemp)"
    cat >"$xml" <<XML
<network>
  <name>$TEST_NET</name>
  <bridge name='vmmtest0' stp='off' delay='0'/>
  <dns enable='no'/>
  <ip address='$TEST_NET_HOST' prefix='25'>
    <dhcp><range start='198.51.100.130' end='198.51.100.254'/></dhcp>
  </ip>
</network>
XML
    "${VIRSH[@]}" net-define "$xml" >/dev/null
    rm -f "$xml"
fi
if [[ "$("${VIRSH[@]}" net-info "$TEST_NET" | awk '$1 == "Active:" { print $2 }')" != yes ]]; then
    say "starting network $TEST_NET"
    "${VIRSH[@]}" net-start "$TEST_NET" >/dev/null || die "cannot start network $TEST_NET (bridge vmmtest0 free?)"
fi
"${VIRSH[@]}" net-autostart "$TEST_NET" >/dev/null

if ! "${VIRSH[@]}" pool-info "$POOL" >/dev/null 2>&1; then
    say "defining storage pool $POOL at $POOL_DIR"
    "${VIRSH[@]}" pool-define-as "$POOL" dir --target "$POOL_DIR" >/dev/null
    "${VIRSH[@]}" pool-build "$POOL" >/dev/null
fi
if [[ "$("${VIRSH[@]}" pool-info "$POOL" | awk '$1 == "State:" { print $2 }')" != running ]]; then
    say "starting storage pool $POOL"
    mkdir -p "$POOL_DIR"   # pool-start fails if someone removed the directory
    "${VIRSH[@]}" pool-start "$POOL" >/dev/null
fi
"${VIRSH[@]}" pool-autostart "$POOL" >/dev/null

# Verify what we claim, rather than trusting the steps above.
libvirt_version="$(virt-admin -q version | awk -F': ' '/Running against daemon/ { print $2 }')"
qemu_version="$(qemu-system-x86_64 --version | awk 'NR == 1 { print $4 }')"
pool_path="$("${VIRSH[@]}" pool-dumpxml "$POOL" | sed -n 's:.*<path>\(.*\)</path>.*:\1:p')"
[[ "$pool_path" == "$POOL_DIR" ]] || die "pool $POOL points at '$pool_path', expected $POOL_DIR"
[[ "$("${VIRSH[@]}" pool-info "$POOL" | awk '$1 == "State:" { print $2 }')" == running ]] || die "pool $POOL is not running"
for net in default "$TEST_NET"; do
    [[ "$("${VIRSH[@]}" net-info "$net" | awk '$1 == "Active:" { print $2 }')" == yes ]] || die "network $net is not active"
done
"${VIRSH[@]}" net-dumpxml "$TEST_NET" | grep -q '<forward' && die "network $TEST_NET forwards: it must be isolated"
echo "libvirt $libvirt_version (QEMU $qemu_version), pool $POOL at $pool_path, networks default and $TEST_NET active"
