"""Two requests at the same moment, made deterministic: the first one's transaction stays
open until the second one waits for it on a lock (PostgreSQL's pg_stat_activity says so),
so the second has passed every check before the first commits."""

import threading
import time
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def first_commits_once_the_second_waits(first, seconds=20):
    """Run `first()` in a transaction on another connection; the body of the `with` is the
    second call. Fails if `first` failed or the second call never waited for it."""
    started, outcome = threading.Event(), {}

    def run():
        try:
            with transaction.atomic():
                first()
                started.set()
                outcome["waited"] = _lock_waiter_seen(seconds)
        except BaseException as exc:  # reported below, in the test's thread
            outcome["error"] = exc
            started.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert started.wait(seconds)
        yield
    finally:
        thread.join(seconds)
    if "error" in outcome:
        raise outcome["error"]
    assert outcome.get("waited"), "the second call never waited for the first one's row"


def _lock_waiter_seen(seconds):
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False
