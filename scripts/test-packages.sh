#!/usr/bin/env bash
# What the test suite needs beyond the panel's own packages: Debian's chromium for the
# browser tests (driven by Playwright; never `playwright install`, which downloads) and
# ssh-keygen for the deploy tests' keys. Idempotent and offline when all are there.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

apt_ensure chromium openssh-client
say "test packages ok"
