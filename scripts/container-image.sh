#!/usr/bin/env bash
# Build the panel's container image with podman from the Dockerfile at the top of the
# checkout (docs/containers.md).
#
#   container-image.sh [TAG]    build TAG (default localhost/vmmanager:latest); prints TAG
#
# The build context is this checkout, or VMM_BUILD_CONTEXT (e.g. a `git archive` of one
# commit, to build exactly what was committed).
# Installs podman if needed and makes the Debian base image locally (debootstrap, once),
# tagged as debian:bookworm-slim, since no registry is reachable. Layers are cached in
# podman's storage in $VMM_CACHE/podman (VMM_PODMAN_DIR): a code change rebuilds only the
# last layers. To use the image by hand, export the CONTAINERS_* variables printed on stderr.
set -euo pipefail
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
. "$here/lib.sh"
. "$here/podman.sh"

tag="${1:-localhost/vmmanager:latest}"
context="$(readlink -f "${VMM_BUILD_CONTEXT:-$here/..}")"
podman_setup
build_base_image
say "export CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF CONTAINERS_CONF=$CONTAINERS_CONF"
say "building $tag"
# --format docker: an OCI image cannot carry a HEALTHCHECK (podman drops it).
# --network=host: RUN steps reach the Debian mirror and PyPI without podman making a bridge.
# The machine's CA bundle as the build secret "ca": pip inside the build trusts what pip
# here trusts (an intercepting proxy's CA, if any), without the bundle entering the image.
ca="${VMM_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
podman build --pull=never --network=host --format docker --secret "id=ca,src=$ca" \
    -t "$tag" -f "$context/Dockerfile" "$context" >&2
echo "$tag"
