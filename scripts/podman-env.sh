# shellcheck shell=sh
# Point podman and podman-compose at the project's own podman storage and engine config,
# where scripts/container-image.sh builds the images compose.yaml runs (README, "Quick start
# with compose"; docs/containers.md). Source it in the shell that runs them:
#
#   . scripts/podman-env.sh && podman-compose up -d
#
# It sets CONTAINERS_STORAGE_CONF and CONTAINERS_CONF (nothing else) to the files in
# $VMM_PODMAN_DIR, else $VMM_CACHE/podman, else /var/cache/vmmanager/podman: the same
# folder scripts/podman.sh (the build) uses. Plain sh, so any shell can source it.
export CONTAINERS_STORAGE_CONF="${VMM_PODMAN_DIR:-${VMM_CACHE:-/var/cache/vmmanager}/podman}/storage.conf"
export CONTAINERS_CONF="${VMM_PODMAN_DIR:-${VMM_CACHE:-/var/cache/vmmanager}/podman}/containers.conf"
