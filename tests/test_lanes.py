"""`make test` runs the suite in lanes at once (tests/lanes.py): every test must run in
exactly one lane, or a failure could hide in a test that no lane runs. One collection per
lane (each costs seconds): `--lane-report` prints every test's lane before the lane's own
tests are kept."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.lanes import parse_lane

ROOT = Path(__file__).resolve().parents[1]


def collect_lane(k, n):
    """(every test's (lane, group markers) as the plan says, the tests the lane kept)."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--lane", f"{k}/{n}", "--lane-report"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    plan, kept = {}, []
    for line in run.stdout.splitlines():
        if line.startswith("lane-report "):
            _, lane, rest = line.split(" ", 2)
            nodeid, groups = rest.rsplit(" ", 1)  # test ids may hold spaces, groups do not
            plan[nodeid] = (int(lane), set(groups.split(",")) - {"-"})
        elif "::" in line:
            kept.append(line)
    return plan, kept


def test_the_lanes_share_out_every_test_once_and_keep_shared_resources_together():
    (plan, first), (same_plan, second) = collect_lane(1, 2), collect_lane(2, 2)
    assert plan == same_plan  # the same plan in every lane's process
    assert len(plan) > 1000  # the whole suite was planned
    assert sorted(first + second) == sorted(plan)  # every test in exactly one lane
    assert first and second, "a lane with no tests"
    assert {t for t, (lane, _) in plan.items() if lane == 1} == set(first)
    for marker in ("multihost", "container"):
        holding = {lane for lane, groups in plan.values() if marker in groups}
        assert len(holding) == 1, f"{marker} tests are split over lanes {holding}"
    files = {}
    for test, (lane, _) in plan.items():
        files.setdefault(test.split("::")[0], set()).add(lane)
    assert all(len(lanes) == 1 for lanes in files.values()), "a file split over lanes"


@pytest.mark.parametrize("text", ["3/2", "0/2", "1", "a/b"])
def test_a_malformed_lane_is_refused(text):
    with pytest.raises(pytest.UsageError):
        parse_lane(text)
