#!/usr/bin/env bash
# Run the web server (daphne), the job workers (django-q2 cluster), the host watcher, the
# console bridge and the statistics collector in the foreground. Ctrl-C (or SIGTERM) stops
# them all; if one exits, the others are stopped too (except the collector and the console
# bridge, which are restarted instead).
set -uo pipefail
cd "$(dirname "$0")/.."
bind="${VMM_BIND:-127.0.0.1}"
port="${VMM_PORT:-8000}"
# Jobs whose worker died while the panel was down are settled before new work starts.
.venv/bin/python manage.py reconcile_jobs || exit 1

# Each server runs in a process group of its own (this script is not interactive, so
# setsid does not fork and $! is the group's leader): stopping reaches every process it
# forked (django-q2 starts several), and what has not stopped after 10 s is killed.
groups=()
stop() {
  trap - INT TERM EXIT
  local group _ alive
  for group in "${groups[@]}"; do kill -TERM -- "-$group" 2>/dev/null; done
  for _ in $(seq 1 50); do
    alive=0
    for group in "${groups[@]}"; do kill -0 -- "-$group" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.2
  done
  echo "==> still running after 10 s: killing" >&2
  for group in "${groups[@]}"; do kill -KILL -- "-$group" 2>/dev/null; done
  return 0
}
trap stop INT TERM EXIT
setsid .venv/bin/daphne -b "$bind" -p "$port" vmmanager.asgi:application &
groups+=($!)
setsid .venv/bin/python manage.py qcluster &
groups+=($!)
# Host health and VM state sync (docs/health.md); a second copy elsewhere would wait as standby.
setsid .venv/bin/python manage.py watch_hosts &
groups+=($!)
# Console bridge (docs/console.md): owns the VMs' serial console streams and VNC connections
# for the web consoles, outside the web server. Restarted if it dies (say, its port is taken):
# the rest of the panel works without it.
setsid bash -c 'while :; do .venv/bin/python manage.py console_bridge; echo "==> console bridge exited ($?); restarting in 5 s" >&2; sleep 5; done' &
groups+=($!)
# Statistics collector (docs/stats.md): its own process, so a slow sweep never slows a request.
# Restarted if it dies, and never the reason the rest stops: the panel works without it.
setsid bash -c 'while :; do .venv/bin/python manage.py collect_stats; echo "==> statistics collector exited ($?); restarting in 5 s" >&2; sleep 5; done' &
groups+=($!)
echo "==> vmmanager at http://$bind:$port/ (admin: http://$bind:$port/admin/); Ctrl-C stops it"
wait -n
