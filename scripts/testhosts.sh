#!/usr/bin/env bash
# Real libvirt hypervisor hosts on this machine, for the multi-host tests
# (tests/multihost; recipe: shared docs MULTIHOST.md and CONTAINERS-AND-BROWSER.md).
#
#   testhosts.sh up N    make hosts 1..N run (and remove any beyond N); idempotent
#   testhosts.sh down    remove every test host (its domains, pools, daemons, container)
#   testhosts.sh status  one line per host and whether its libvirtd answers
#
# Host i is a privileged podman container vmm-host-i (hostname host-i) sharing this
# machine's network namespace, with its own libvirtd listening only on its own loopback
# address 127.0.0.(10+i), reached as qemu+tcp://127.0.0.(10+i)/system without
# authentication. All traffic stays on this machine. The hosts have no libvirt network:
# register them with network "" so their guests get no NIC.
#
# stdout of `up`: one line per host, "host-i qemu+tcp://127.0.0.(10+i)/system".
# Progress goes to stderr.
#
# Cached between runs (a second `up` takes about a second): podman's storage with the
# debootstrapped base image and the host image in $VMM_CACHE/podman (VMM_PODMAN_DIR).
# Per-host config, host UUID and libvirt logs (guests' serial logs in log/qemu/) are in
# /var/lib/vmmanager/testhosts/host-i (VMM_TESTHOSTS_DIR).
# To use podman on them by hand: export the CONTAINERS_* variables that `status` prints.
set -euo pipefail
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
. "$here/lib.sh"
. "$here/podman.sh"   # PODMAN_DIR, BASE_IMAGE, podman_setup, build_base_image, write_file

STATE_DIR="${VMM_TESTHOSTS_DIR:-/var/lib/vmmanager/testhosts}"
TEMPLATES="$here/testhost"
# Any change to the recipe makes a new image tag, so a stale cached image is never used.
HOST_IMAGE="localhost/vmm-testhost:$(sha256sum "$TEMPLATES/Containerfile" | cut -c1-12)"
LABEL=vmmanager.testhost
# Containers made by another version of this script (or templates) are made again.
RECIPE="$(cat "${BASH_SOURCE[0]}" "$TEMPLATES"/* | sha256sum | cut -c1-12)"
MAX_HOSTS=40

# The lock (fd 8) must not be inherited by conmon, which outlives this script.
podman() { command podman "$@" 8>&-; }

address() { echo "127.0.0.$((10 + $1))"; }
uri() { echo "qemu+tcp://$(address "$1")/system"; }

# Names of the test host containers that exist (running or not), sorted by number.
existing_hosts() {
    podman ps -a --filter "label=$LABEL" --format '{{.Names}}' | sort -t- -k3 -n
}

build_host_image() {
    podman image exists "$HOST_IMAGE" && return 0
    build_base_image
    say "building the host image $HOST_IMAGE (libvirt + QEMU, about 20 s)"
    # --network=host: the build reaches the mirror without podman making a bridge here.
    podman build -q --pull=never --network=host --build-arg "BASE=$BASE_IMAGE" -t "$HOST_IMAGE" \
        -f "$TEMPLATES/Containerfile" "$TEMPLATES" >/dev/null
    # Older host images are of no use any more.
    local old
    for old in $(podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/vmm-testhost:'); do
        [[ "$old" == "$HOST_IMAGE" ]] || podman rmi -f "$old" >/dev/null 2>&1 || true
    done
}

# The config of host i into $STATE_DIR/host-i; prints "changed" if any file changed.
host_config() {
    local i="$1" dir="$STATE_DIR/host-$1" a uuid block
    a="$(address "$i")"
    mkdir -p "$dir/log/qemu"   # libvirt cannot create a guest's serial log without it
    [[ -s "$dir/host_uuid" ]] || cat /proc/sys/kernel/random/uuid > "$dir/host_uuid"
    uuid="$(cat "$dir/host_uuid")"
    block=$((100 * i))
    # Port ranges: distinct per host and away from this machine's own libvirtd defaults
    # (migration 49152-49215, displays from 5900, websockets from 5700).
    local subst=(
        -e "s/@NAME@/host-$i/g" -e "s/@INDEX@/$i/g" -e "s/@ADDRESS@/$a/g" -e "s/@HOST_UUID@/$uuid/g"
        -e "s/@MIGRATION_MIN@/$((49300 + block))/g" -e "s/@MIGRATION_MAX@/$((49399 + block))/g"
        -e "s/@DISPLAY_MIN@/$((20000 + block))/g" -e "s/@DISPLAY_MAX@/$((20099 + block))/g"
        -e "s/@WEBSOCKET_MIN@/$((30000 + block))/g" -e "s/@WEBSOCKET_MAX@/$((30099 + block))/g"
    )
    write_file "$dir/libvirtd.conf" "$(sed "${subst[@]}" "$TEMPLATES/libvirtd.conf.in")"
    write_file "$dir/qemu.conf" "$(sed "${subst[@]}" "$TEMPLATES/qemu.conf.in")"
}

# Start the daemons inside a host that are not running (liveness by pidfile).
# /dev/kvm in a privileged container keeps this machine's group id, which is not the
# container's kvm group: libvirt then finds KVM "not usable" as libvirt-qemu, declares its
# QEMU capabilities stale at every lookup and probes QEMU again (7-15 s per define). The
# node is the container's own copy, so giving it the container's kvm group changes nothing
# outside.
start_daemons() {
    podman exec "$1" sh -c '
        if [ -e /dev/kvm ] && [ "$(stat -c %G /dev/kvm)" != kvm ]; then chgrp kvm /dev/kvm; fi
        running() { pid="$(cat "/run/$1.pid" 2>/dev/null)" && kill -0 "$pid" 2>/dev/null; }
        running virtlogd || virtlogd -d
        running libvirtd || libvirtd -d --listen'
}

host_up() {
    local i="$1" name="vmm-host-$1" dir="$STATE_DIR/host-$1" changed state recipe
    changed="$(host_config "$i")"
    state="$(podman container inspect -f "{{.State.Status}} {{index .Config.Labels \"$LABEL.recipe\"}}" \
        "$name" 2>/dev/null || true)"
    recipe="${state#* }"
    state="${state%% *}"
    if [[ -n "$state" && ($state != running || $recipe != "$RECIPE" || -n "$changed") ]]; then
        say "$name: recreating ($state${changed:+, config changed}$([[ $recipe == "$RECIPE" ]] || echo ", older recipe"))"
        host_down "$name"
        state=""
    fi
    if [[ -z "$state" ]]; then
        say "$name: starting at $(address "$i")"
        rm -rf "${dir:?}/log" && mkdir -p "$dir/log/qemu"   # logs of earlier runs
        # --add-host: libvirtd resolves its own hostname at every domain start and
        # getHostname; unresolved, that is a 10 s DNS timeout each time on a closed network.
        podman run -d --name "$name" --label "$LABEL=$i" --label "$LABEL.recipe=$RECIPE" \
            --hostname "host-$i" --uts=private --add-host "host-$i:$(address "$i")" \
            --network=host --privileged --init --pull=never \
            -v "$dir/libvirtd.conf:/etc/libvirt/libvirtd.conf:ro" \
            -v "$dir/qemu.conf:/etc/libvirt/qemu.conf:ro" \
            -v "$dir/log:/var/log/libvirt" \
            "$HOST_IMAGE" sleep infinity >/dev/null
    fi
    start_daemons "$name"
}

wait_ready() {
    local i="$1" deadline=$((SECONDS + 60)) answer
    until answer="$(virsh -q -c "$(uri "$i")" hostname 2>/dev/null)" && [[ "$answer" == "host-$i" ]]; do
        ((SECONDS < deadline)) || die "vmm-host-$i: libvirtd does not answer on $(uri "$i") after 60 s \
(answer: '${answer:-}'; see $STATE_DIR/host-$i/log/libvirtd.log)"
        sleep 0.2
    done
}

# Remove a host container after clearing what libvirt holds in it; never fails.
host_down() {
    local name="$1"
    if [[ "$(podman container inspect -f '{{.State.Status}}' "$name" 2>/dev/null)" == running ]]; then
        podman exec "$name" sh -c '
            v() { virsh -q -c qemu:///system "$@"; }
            for d in $(v list --all --name 2>/dev/null); do v destroy "$d" >/dev/null 2>&1; v undefine "$d" >/dev/null 2>&1; done
            for p in $(v pool-list --all --name 2>/dev/null); do v pool-destroy "$p" >/dev/null 2>&1; v pool-undefine "$p" >/dev/null 2>&1; done
            for d in libvirtd virtlogd; do
                pid="$(cat "/run/$d.pid" 2>/dev/null)" && kill "$pid" 2>/dev/null
            done
            for _ in $(seq 50); do
                [ -e /run/libvirtd.pid ] || [ -e /run/virtlogd.pid ] || break
                sleep 0.1
            done' >/dev/null 2>&1 || true
    fi
    podman rm -f -t 5 "$name" >/dev/null 2>&1 || true
}

cmd_up() {
    local n="${1:-}"
    if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n < 1 || n > MAX_HOSTS)); then
        die "usage: $0 up N (1..$MAX_HOSTS)"
    fi
    podman_setup
    build_host_image
    local name i
    for name in $(existing_hosts); do
        i="${name##*-}"
        ((i <= n)) || { say "$name: removing (beyond $n)"; host_down "$name"; }
    done
    mkdir -p "$STATE_DIR"
    for ((i = 1; i <= n; i++)); do host_up "$i"; done
    for ((i = 1; i <= n; i++)); do wait_ready "$i"; done
    for ((i = 1; i <= n; i++)); do echo "host-$i $(uri "$i")"; done
}

cmd_down() {
    command -v podman >/dev/null || return 0
    [[ -f "$CONTAINERS_STORAGE_CONF" ]] || return 0
    local name
    for name in $(existing_hosts); do
        say "$name: removing"
        host_down "$name"
    done
}

cmd_status() {
    if ! command -v podman >/dev/null || [[ ! -f "$CONTAINERS_STORAGE_CONF" ]]; then
        echo "no test hosts (podman not set up)"
        return 0
    fi
    echo "export CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF CONTAINERS_CONF=$CONTAINERS_CONF"
    echo "image $HOST_IMAGE: $(podman image exists "$HOST_IMAGE" && echo cached || echo 'not built')"
    local name i state answer
    for name in $(existing_hosts); do
        i="${name##*-}"
        state="$(podman container inspect -f '{{.State.Status}}' "$name" 2>/dev/null || echo gone)"
        answer="$(timeout 5 virsh -q -c "$(uri "$i")" hostname 2>/dev/null || true)"
        echo "host-$i $(uri "$i") container $state, libvirtd ${answer:+answers as }${answer:-not answering}"
    done
}

exec 8>>"/run/vmm-testhosts.lock"
flock 8   # one up/down at a time
case "${1:-}" in
    up) cmd_up "${2:-}" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) die "usage: $0 up N | down | status" ;;
esac
