"""Two requests at the same moment, for real: each runs in a thread of its own with its own
PostgreSQL connection, and both get past every check they make before either writes.

`race(Model, call_a, call_b)` holds a SHARE lock on the model's table (reads go on, writes
wait) until every call is waiting to write to it, then lets them go: one write wins, the
others meet it at the unique index. Returns each call's result (or the exception it raised,
e.g. an IntegrityError a test client re-raises for a 500) and how many calls were seen
waiting, so a test can tell a real race from two requests that merely ran one after the other."""

import threading
import time

from django.db import connection, transaction


def race(model, *calls, timeout=20):
    table = model._meta.db_table
    results = [None] * len(calls)

    def run(index):
        try:
            results[index] = calls[index]()
        except Exception as exc:  # reported to the test as the result
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    waiting = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{table}" IN SHARE MODE')
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and waiting < len(calls):
            time.sleep(0.02)
            cursor.execute("SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted", [table])
            waiting = cursor.fetchone()[0]
    for thread in threads:
        thread.join(timeout)
    return results, waiting
