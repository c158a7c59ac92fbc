#!/usr/bin/env bash
# What the test suite needs beyond the panel's own packages: Debian's chromium for the
# browser tests (driven by Playwright; never `playwright install`, which downloads) and
# ssh-keygen for the deploy tests' keys. Idempotent and offline when all are there.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

apt_ensure chromium openssh-client
# The container tests (tests/container): openssl makes their TLS test CA; podman and the
# rest are installed by scripts/container-image.sh when the tests build the image.
apt_ensure openssl
say "test packages ok"
