# shellcheck shell=bash
# Podman on this machine, shared by the scripts that run containers (testhosts.sh,
# container-image.sh). Source it after lib.sh; do not run it.
#
# Storage and config live in $VMM_PODMAN_DIR (default $VMM_CACHE/podman), kept between runs,
# so images and build layers are cached. The recipe and why each fix is needed:
# shared docs CONTAINERS-AND-BROWSER.md.

PODMAN_DIR="${VMM_PODMAN_DIR:-$VMM_CACHE/podman}"
MIRROR="${VMM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Debian 12 made by debootstrap: no registry is reachable, so every image starts from it.
BASE_IMAGE=localhost/vmm-debian:bookworm
# CONTAINERS_STORAGE_CONF and CONTAINERS_CONF: the files in $PODMAN_DIR, set by the one file
# a user sources too (README: `. scripts/podman-env.sh` before podman-compose).
. "$(dirname "${BASH_SOURCE[0]}")/podman-env.sh"

# write_file PATH CONTENT: write only if different (in place, same inode: containers may
# bind-mount these files). Prints "changed" when it wrote.
write_file() {
    if [[ ! -f "$1" ]] || [[ "$(cat "$1")" != "$2" ]]; then
        printf '%s\n' "$2" > "$1"
        echo changed
    fi
}

# Install podman and write its storage and engine config (idempotent, offline when done).
podman_setup() {
    apt_ensure podman runc catatonit debootstrap debian-archive-keyring libvirt-clients
    mkdir -p "$PODMAN_DIR"
    local nofile
    nofile="$(ulimit -Hn)"
    [[ "$nofile" == unlimited ]] && nofile=1048576
    # crun fails here (setrlimit without CAP_SYS_RESOURCE, hybrid cgroups), runc works; the
    # hard nofile limit is this machine's. Plus init_path: Debian's catatonit is not where
    # podman looks for it (for --init).
    write_file "$PODMAN_DIR/storage.conf" \
        "$(printf '[storage]\ndriver="overlay"\nrunroot="%s/runroot"\ngraphroot="%s/storage"\n' \
            "$PODMAN_DIR" "$PODMAN_DIR")" >/dev/null
    write_file "$PODMAN_DIR/containers.conf" \
        "$(printf '[containers]\ndefault_ulimits=["nofile=%s:%s","nproc=32768:32768"]\ninit_path="%s"\n[engine]\nruntime="runc"\n' \
            "$nofile" "$nofile" "$(command -v catatonit)")" >/dev/null
}

# Make $BASE_IMAGE once (debootstrap, about half a minute) and give it the names a
# Dockerfile uses (`FROM debian:bookworm-slim`), so builds with --pull=never find it.
build_base_image() {
    if ! command podman image exists "$BASE_IMAGE"; then
        say "building the base image $BASE_IMAGE by debootstrap (about half a minute)"
        local tmp
        tmp="$(mktemp -d "$PODMAN_DIR/.base.XXXXXX")"
        # shellcheck disable=SC2064
        trap "rm -rf --one-file-system '$tmp'" EXIT
        debootstrap --variant=minbase bookworm "$tmp/rootfs" "$MIRROR" > "$tmp/debootstrap.log" 2>&1 \
            || { tail -n 30 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
        # The same package sources as this machine (with security updates), when it has them.
        if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
            cp /etc/apt/sources.list.d/debian.sources "$tmp/rootfs/etc/apt/sources.list.d/"
            rm -f "$tmp/rootfs/etc/apt/sources.list"
        fi
        tar -C "$tmp/rootfs" -c . | command podman import -q - "$BASE_IMAGE" >/dev/null
        rm -rf --one-file-system "$tmp"
        trap - EXIT
    fi
    local name
    for name in docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim; do
        command podman image exists "$name" || command podman tag "$BASE_IMAGE" "$name"
    done
}
