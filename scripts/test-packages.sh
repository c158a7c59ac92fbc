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
# The SFTP backup repositories' tests (tests/backups/sshd.py) start a throw-away sshd of their
# own on a free loopback port; the packaged service is not wanted (stopped and disabled again
# where systemd started it, as nginx below).
if ! dpkg-query -W -f='${Status}' openssh-server 2>/dev/null | grep -q "install ok installed"; then
    apt_ensure openssh-server
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
        systemctl disable --now ssh >/dev/null 2>&1 || true
    fi
fi
# The LDAP tests (tests/auth) start a throw-away slapd of their own; without this answer the
# package would make a directory of its own and start it as a service.
if ! dpkg-query -W -f='${Status}' slapd 2>/dev/null | grep -q "install ok installed"; then
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
fi
apt_ensure slapd ldap-utils
# The reverse-proxy tests (tests/browser/test_prefix_proxy.py, test_real_vm_journey.py) start a
# throw-away nginx of their own in front of the panel; the packaged service is not wanted, so one this script installs
# is stopped and disabled again where systemd started it.
if ! dpkg-query -W -f='${Status}' nginx 2>/dev/null | grep -q "install ok installed"; then
    apt_ensure nginx
    if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
        systemctl disable --now nginx >/dev/null 2>&1 || true
    fi
fi
# The reconciler's clock-skew test (tests/jobs/test_reconcile.py) runs it in a process whose
# clock is set apart with libfaketime.
apt_ensure faketime
say "test packages ok"
