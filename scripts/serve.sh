#!/usr/bin/env bash
# Run the web server (daphne) and the job workers (django-q2 cluster) in the foreground.
# Ctrl-C (or SIGTERM) stops both; if either exits, the other is stopped too.
set -euo pipefail
cd "$(dirname "$0")/.."
bind="${VMM_BIND:-127.0.0.1}"
port="${VMM_PORT:-8000}"
# Jobs whose worker died while the panel was down are settled before new work starts.
.venv/bin/python manage.py reconcile_jobs
pids=()
stop() {
  trap - INT TERM EXIT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait || true
}
trap stop INT TERM EXIT
.venv/bin/daphne -b "$bind" -p "$port" vmmanager.asgi:application &
pids+=($!)
.venv/bin/python manage.py qcluster &
pids+=($!)
echo "==> vmmanager at http://$bind:$port/ (admin: http://$bind:$port/admin/); Ctrl-C stops it"
wait -n
