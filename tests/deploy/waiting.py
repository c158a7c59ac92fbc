import time

from apps.virt.errors import InvalidState


def wait_until(check, seconds, every=2):
    """Call `check` until it returns true or `seconds` pass (then fail the test)."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (InvalidState, AssertionError) as exc:  # agent not up yet
            last = exc
        time.sleep(every)
    raise AssertionError(f"not true within {seconds} s (last error: {last})")
