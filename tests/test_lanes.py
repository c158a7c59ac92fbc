"""`make test` runs the suite in lanes at once (tests/lanes.py): every test must run in
exactly one lane, or a failure could hide in a test that no lane runs."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def collected(*args):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return [line for line in run.stdout.splitlines() if "::" in line]


def test_the_lanes_share_out_every_test_once_and_keep_shared_resources_together():
    everything = collected()
    lanes = [collected("--lane", f"{k}/2") for k in (1, 2)]
    assert sorted(lanes[0] + lanes[1]) == sorted(everything)
    assert all(lanes), "a lane with no tests"
    for marker in ("multihost", "container"):
        marked = {line.split("::")[0] for line in collected("-m", marker)}
        holding = [k for k, lane in enumerate(lanes, 1) if marked & {line.split("::")[0] for line in lane}]
        assert len(holding) <= 1, f"{marker} tests are split over lanes {holding}"


def test_a_malformed_lane_is_refused():
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--lane", "3/2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode != 0
    assert "K must be between 1 and N" in run.stderr + run.stdout
