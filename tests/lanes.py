"""Split the suite into lanes that run at the same time (`scripts/test-lanes.sh`).

Most of the suite's time is spent in a few tests that boot real TCG guests and wait on
them; run one after the other they dominate `make test`. `--lane K/N` keeps only the tests of
lane K out of N, so N pytest processes (each with its own database and Redis db) share the
machine's cores.

Contract: for a fixed test tree every test lands in exactly one lane, the same one every
time (no timing data, no randomness):
- tests that share one machine-wide resource stay in one lane together: the container
  hypervisor hosts (`multihost`: a session fixture starts and removes them) and the container
  image tests (`container`);
- a test file is never split;
- files (or such groups of files) are placed longest first on the lane with the least
  estimated time so far. The estimate is a few figures measured on our 2-core machines: the
  long real-guest scenarios in HEAVY, SLOW_TEST for any other test marked as real or slow,
  FAST_TEST for the rest.
"""

import pytest

# Tests sharing a machine-wide resource: a file with any test so marked joins the group.
GROUP_MARKERS = ("multihost", "container")

# Seconds measured for the longest files (real TCG guests, container hosts and images, 2 cores;
# clean-clone CI runs, both lanes busy; test_compose's and the container hosts' with their
# images already built, as on a machine that has run the suite before: a first run builds them,
# about 200 s more for compose and 70 s for the hosts).
HEAVY = {
    # two boots (the deploy, the reinstall); the backups' round trip and the snapshots'
    # included (a full and an incremental backup of 3 GiB, restores; no boot of their own)
    "tests/deploy/test_deploy_cloud_init.py": 230,
    "tests/deploy/test_public_addresses.py": 185,  # DAD, router adverts, an extra address included
    "tests/multihost/test_outages.py": 130,  # the long outage on a blank image (no guest boot)
    "tests/api/test_schema.py": 215,  # SQLite with schema-valid input only
    "tests/multihost/test_two_hosts.py": 95,
    "tests/browser/test_real_vm_journey.py": 120,
    "tests/container/test_prepare_host.py": 55,
    "tests/container/test_compose.py": 75,
    "tests/multihost/test_migrate.py": 65,
    "tests/deploy/test_deploy_plain.py": 200,  # a warm pool standby deployed and taken (live, no second deploy)
    "tests/deploy/test_worker_killed.py": 20,  # the wait on a blank image
    "tests/backups/test_worker_killed_real.py": 40,  # a real worker killed twice mid-backup (no guest boot)
    "tests/multihost/test_watch_hosts.py": 25,
    "tests/test_make_run.py": 35,
    "tests/browser/test_sign_in_security.py": 30,
    "tests/container/test_image.py": 55,  # a worker container removed mid-job
    "tests/deploy/test_suspension_real.py": 10,
    "tests/deploy/test_rescue_real.py": 35,  # the rescue system booted once (TCG), driven on its serial console
    "tests/backups/test_backups.py": 25,  # restic on real repositories
    "tests/backups/test_schedules.py": 15,  # restic's retention on a real repository
    "tests/backups/test_kept_and_new_vm.py": 20,  # restic on real repositories (a repository per test)
    "tests/backups/test_sftp.py": 35,  # restic over a real sshd; a stopped VM's backup and restore on libvirtd
    "tests/test_lanes.py": 10,  # two collections of the whole suite
    "tests/api/test_tenancy_matrix.py": 60,  # 511 checks on one world per module
    "tests/api/test_strict_bodies.py": 20,  # 357 checks on one world per module
    "tests/jobs/test_reconcile.py": 10,  # the reconciler run twice in a process with a skewed clock
    "tests/backups/test_incremental.py": 15,  # restic streams and real checkpoints on the test driver
    "tests/backups/test_file_real.py": 35,  # a file taken out of a real restic backup twice (two libguestfs launches)
}
SLOW_MARKERS = ("libvirt", "slow", "browser", "multihost", "container")
SLOW_TEST = 6.0
FAST_TEST = 0.27


def pytest_addoption(parser):
    parser.addoption("--lane", default=None, help="K/N: run only lane K of N (see tests/lanes.py)")
    parser.addoption(
        "--lane-report",
        action="store_true",
        help="with --lane: print every collected test's lane and group markers first (tests/test_lanes.py)",
    )


def parse_lane(text):
    """'K/N' -> (K, N) with 1 <= K <= N; raises pytest.UsageError otherwise."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--lane takes K/N (for example 1/2), not {text!r}") from None
    if not 1 <= k <= n:
        raise pytest.UsageError(f"--lane {text}: K must be between 1 and N")
    return k, n


def _path(item):
    return item.nodeid.split("::", 1)[0]


def _estimate(item):
    return SLOW_TEST if any(item.get_closest_marker(m) for m in SLOW_MARKERS) else FAST_TEST


def assign(items, lanes):
    """{test file path: lane} for `items` (lanes numbered from 1)."""
    cost, group_of = {}, {}
    for item in items:
        path = _path(item)
        cost[path] = cost.get(path, 0.0) + _estimate(item)
        for marker in GROUP_MARKERS:
            if item.get_closest_marker(marker) is not None:
                group_of.setdefault(path, marker)
    cost.update({path: seconds for path, seconds in HEAVY.items() if path in cost})
    units = {}  # unit name -> [paths]
    for path in sorted(cost):
        units.setdefault(group_of.get(path, path), []).append(path)
    load = dict.fromkeys(range(1, lanes + 1), 0.0)
    result = {}
    for name in sorted(units, key=lambda u: (-sum(cost[p] for p in units[u]), u)):
        lane = min(load, key=lambda k: (load[k], k))
        load[lane] += sum(cost[p] for p in units[name])
        result.update(dict.fromkeys(units[name], lane))
    return result


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    option = config.getoption("--lane")
    if not option:
        return
    k, n = parse_lane(option)
    lanes = assign(items, n)
    if config.getoption("--lane-report"):
        for item in items:
            groups = ",".join(m for m in GROUP_MARKERS if item.get_closest_marker(m) is not None)
            print(f"lane-report {lanes[_path(item)]} {item.nodeid} {groups or '-'}")
    keep = [item for item in items if lanes[_path(item)] == k]
    dropped = [item for item in items if lanes[_path(item)] != k]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
