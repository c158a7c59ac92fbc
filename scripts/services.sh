#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1, as the test suite expects.
# Where they already run (our machines, CI) this only checks; on a fresh Debian 12
# (no systemd) it installs and starts them, with trust auth on loopback for tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 name=$2
  for _ in $(seq 1 100); do port_open "$port" && return 0; sleep 0.2; done
  echo "$name did not come up on 127.0.0.1:$port" >&2
  return 1
}

if ! port_open 5432; then
  echo "==> starting PostgreSQL"
  apt_ensure postgresql postgresql-client
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q '# vmmanager: trust loopback' "$hba"; then
    # Test machines only: password-less access from loopback, as on our CI.
    sed -i '1i host all all 127.0.0.1/32 trust # vmmanager: trust loopback\nhost all all ::1/128 trust # vmmanager: trust loopback' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_port 5432 PostgreSQL
fi

if ! port_open 6379; then
  echo "==> starting Redis"
  apt_ensure redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/vmmanager.log
  wait_port 6379 Redis
fi
echo "==> PostgreSQL and Redis answer on 127.0.0.1"
