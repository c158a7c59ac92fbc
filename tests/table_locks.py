"""A lock held on tables by another connection inside an open transaction, as a collector
stuck in the middle of its write (or a long prune) would hold it."""

import threading
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def tables_locked(*tables):
    """While in the block, another thread's connection holds `tables` ACCESS EXCLUSIVE."""
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert locked.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(10)
