"""Writing sample rows in bulk, as cheaply as the database allows.

``insert(model, columns, rows)`` writes ``rows`` (tuples in ``columns`` order) into the
statistics table of ``model`` on the statistics database, in the caller's transaction.
On PostgreSQL it streams them with ``COPY ... FROM STDIN``: measured on 5,000 VM rows,
Django's ``bulk_create`` spent ~0.6 s per sweep preparing values one by one, COPY a small
fraction of that (bench/stats.py). Other databases (SQLite, the embedded default) get
``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connections, router


def insert(model, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    connection = connections[router.db_for_write(model)]
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500)
