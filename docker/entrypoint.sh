#!/bin/sh
# Entrypoint of the vmmanager image: the first argument names the role (docs/containers.md).
#   web        apply migrations, set up the first admin and schedules, then serve (daphne)
#   worker     wait until the database is migrated, settle orphaned jobs, run the job cluster
#   collector  wait until migrated, run the statistics collector (manage.py collect_stats)
#   watcher    wait until migrated, run the host watcher (manage.py watch_hosts)
#   console    wait until migrated, run the console bridge (manage.py console_bridge)
#   manage ARGS...  run manage.py ARGS (e.g. `manage host key`, `manage createsuperuser`)
#   anything else is run as given (e.g. `sh`).
# Only the web role migrates, so several containers starting at once never race on it.
set -eu
cd /app
role="${1:-web}"
[ "$#" -gt 0 ] && shift

# The role, for the healthcheck (a separate process that does not see our arguments).
echo "$role" > /tmp/vmm-role

# Wait until the database answers and has no unapplied migrations (VMM_WAIT_TIMEOUT s).
wait_migrated() {
    deadline=$(( $(date +%s) + ${VMM_WAIT_TIMEOUT:-300} ))
    until python3 manage.py migrate --check >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "==> the database is not reachable or not migrated after ${VMM_WAIT_TIMEOUT:-300} s:" >&2
            python3 manage.py migrate --check >&2 || true
            exit 1
        fi
        sleep 2
    done
}

# Wait until the database answers at all (the web role migrates it next).
wait_database() {
    deadline=$(( $(date +%s) + ${VMM_WAIT_TIMEOUT:-300} ))
    until python3 manage.py shell -c "from django.db import connection; connection.ensure_connection()" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "==> the database does not answer after ${VMM_WAIT_TIMEOUT:-300} s (DATABASE_URL)" >&2
            exit 1
        fi
        sleep 2
    done
}

case "$role" in
    web)
        wait_database
        python3 manage.py migrate --noinput
        if [ -z "${DATABASE_URL:-}" ]; then
            python3 manage.py migrate --noinput --database channels
        fi
        python3 manage.py bootstrap --panel-only
        exec daphne -b "${VMM_BIND:-0.0.0.0}" -p "${VMM_PORT:-8000}" vmmanager.asgi:application
        ;;
    worker)
        wait_migrated
        python3 manage.py reconcile_jobs
        exec python3 manage.py qcluster
        ;;
    collector)
        wait_migrated
        exec python3 manage.py collect_stats "$@"
        ;;
    watcher)
        wait_migrated
        exec python3 manage.py watch_hosts "$@"
        ;;
    console)
        wait_migrated
        exec python3 manage.py console_bridge "$@"
        ;;
    manage)
        exec python3 manage.py "$@"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
