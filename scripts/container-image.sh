#!/usr/bin/env bash
# Build the panel's container image with podman from the Dockerfile at the top of the
# checkout (docs/containers.md).
#
#   container-image.sh [TAG]    build TAG (default localhost/vmmanager:latest); prints TAG
#   container-image.sh --with-services [TAG]
#                               also the PostgreSQL and Redis images compose.yaml names
#                               (localhost/vmmanager-postgres:15, localhost/vmmanager-redis:7),
#                               and podman's DNS plugin, so compose services find each other
#
# The build context is this checkout, or VMM_BUILD_CONTEXT (e.g. a `git archive` of one
# commit, to build exactly what was committed).
# Installs podman if needed and makes the Debian base image locally (debootstrap, once),
# tagged as debian:bookworm-slim, since no registry is reachable. Layers are cached in
# podman's storage in $VMM_CACHE/podman (VMM_PODMAN_DIR): a code change rebuilds only the
# last layers. That storage is the project's own, not podman's default: podman and
# podman-compose see the images after `. scripts/podman-env.sh` (it exports the two
# CONTAINERS_* variables this script also prints on stderr at the end; README, docs/containers.md).
set -euo pipefail
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
. "$here/lib.sh"
. "$here/podman.sh"

services=0
if [[ "${1:-}" == --with-services ]]; then services=1; shift; fi
tag="${1:-localhost/vmmanager:latest}"
context="$(readlink -f "${VMM_BUILD_CONTEXT:-$here/..}")"
podman_setup
build_base_image

# build TAG DIR [OPTIONS...]: the Dockerfile in DIR.
# --format docker: an OCI image cannot carry a HEALTHCHECK (podman drops it).
# --network=host: RUN steps reach the Debian mirror and PyPI without podman making a bridge.
# The machine's CA bundle as the build secret "ca": pip inside the build trusts what pip
# here trusts (an intercepting proxy's CA, if any), without the bundle entering the image.
build() {
    say "building $1"
    podman build --pull=never --network=host --format docker \
        --secret "id=ca,src=${VMM_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" \
        -t "$1" -f "$2/Dockerfile" "${@:3}" "$2" >&2
}

build "$tag" "$context"
# The venv's build stage gets a name too: untagged, its layers (the cached pip install) would
# count as dangling and be pruned below. A cache hit, so this takes a second.
build localhost/vmmanager-buildstage:latest "$context" --target build
if ((services)); then
    # Name resolution between compose services on podman's CNI networks.
    apt_ensure golang-github-containernetworking-plugin-dnsname
    build localhost/vmmanager-postgres:15 "$context/docker/postgres"
    build localhost/vmmanager-redis:7 "$context/docker/redis"
fi
# Earlier builds' images, now untagged, would pile up in the cache at every code change.
# Only dangling ones older than an hour go: the layers of this build (the cache for the
# next) belong to a tagged image, and a build running elsewhere right now is left alone.
podman image prune -f --filter until=1h >/dev/null
say "built into the project's podman storage; before podman or podman-compose: . $here/podman-env.sh"
say "(that is: export CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF CONTAINERS_CONF=$CONTAINERS_CONF)"
echo "$tag"
