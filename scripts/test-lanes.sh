#!/usr/bin/env bash
# Run the pytest suite in lanes at the same time (tests/lanes.py says which test goes where).
#
#   test-lanes.sh [PYTEST ARGS...]
#
# VMM_TEST_LANES (default 2) lanes run at once, lane K against its own database
# (<TEST_DATABASE_URL>_lane<K>) and its own Redis db (<TEST_REDIS_URL's db> - K + 1), so their
# workers, queues and channel groups never meet. With VMM_TEST_LANES=1, or with arguments
# (a developer running part of the suite), it is one plain pytest run.
# Each lane's output goes to var/test-lanes/lane<K>.log and is printed whole, lane by lane,
# once all have finished; the exit status is non-zero if any lane failed (5 if no lane had
# a test to run, as pytest says when it collects nothing).
# Two, though three were faster on our 2-core machines (cores idle 16 % of the time with two,
# 3 % with three; 1223 s -> 1078 s, clean-clone CI, the same commit): with three, one run in
# three failed a live interface filter change on libvirt's side (ebtables-nft: "RULE_DELETE
# failed ... rule in chain J-vnetN-arp-ip" while another lane's guests' filters were being
# made). The driver now tries such a change again (docs/addresses.md), but on a slower
# machine since, three lanes were not faster: clean-clone CI took 1297 s with three against
# 1310 s with two (1621 s on its first run, which built the container images), and that
# three-lane run failed tests/health/test_events.py's closed-connection check.
set -uo pipefail
cd "$(dirname "$0")/.."
lanes="${VMM_TEST_LANES:-2}"
db_url="${TEST_DATABASE_URL:?TEST_DATABASE_URL is not set}"
redis_url="${TEST_REDIS_URL:?TEST_REDIS_URL is not set}"
if [[ ! "$lanes" =~ ^[1-9]$ ]]; then
    echo "VMM_TEST_LANES must be a number from 1 to 9, not '$lanes'" >&2
    exit 2
fi
# Bytecode is cached (__pycache__, ignored by git) even where the environment says not to:
# without it every pytest process and every Python subprocess a test starts (manage.py, daphne,
# child pytest runs) compiles the apps again, and pytest rewrites every test module's asserts
# again (measured: a collection of the suite 30 s -> 13 s wall at load 10, 9.5 -> 4.3 s CPU).
unset PYTHONDONTWRITEBYTECODE
if ((lanes == 1 || $# > 0)); then
    DATABASE_URL="$db_url" REDIS_URL="$redis_url" exec .venv/bin/pytest "$@"
fi

redis_base="${redis_url%/*}"
redis_db="${redis_url##*/}"
if [[ ! "$redis_db" =~ ^[0-9]+$ ]] || ((redis_db < lanes - 1)); then
    echo "TEST_REDIS_URL must end in a Redis db number of at least $((lanes - 1)): $redis_url" >&2
    exit 2
fi
logs=var/test-lanes
mkdir -p "$logs"
pids=()
start=$SECONDS
# Job control: each lane runs in a process group of its own, with SIGINT as the shell got it.
# Without it a non-interactive shell starts background jobs with SIGINT ignored, and every
# process a test starts inherits that (then Ctrl-C can never stop `make run` in its test).
# Ctrl-C or TERM here stops every lane.
set -m
trap 'for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done; exit 130' INT TERM
for k in $(seq 1 "$lanes"); do
    DATABASE_URL="${db_url}_lane$k" REDIS_URL="$redis_base/$((redis_db - k + 1))" \
        .venv/bin/pytest --lane "$k/$lanes" --durations=25 >"$logs/lane$k.log" 2>&1 &
    pids+=($!)
done
echo "==> $lanes test lanes running (logs in $logs/)"
status=0
empty=0
for k in $(seq 1 "$lanes"); do
    wait "${pids[$((k - 1))]}"
    rc=$?
    # 5: pytest found nothing to run in this lane (only with a -k/-m in PYTEST_ADDOPTS).
    if ((rc == 5)); then empty=$((empty + 1)); elif ((rc != 0)); then status=1; fi
    echo "==> lane $k/$lanes finished with status $rc after $((SECONDS - start)) s"
done
for k in $(seq 1 "$lanes"); do
    echo "==================== lane $k/$lanes ===================="
    cat "$logs/lane$k.log"
done
echo "==> all lanes done in $((SECONDS - start)) s"
((empty == lanes)) && status=5
exit $status
