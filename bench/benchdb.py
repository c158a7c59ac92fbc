"""The throw-away PostgreSQL database a bench script runs against.

`BenchDatabase(suffix)` names it after DATABASE_URL's database (default: the local
`vmmanager`) plus `suffix`. A child process that inherits the bench's own DATABASE_URL gets
the same name, not the suffix twice. `create()` makes it empty (dropping a leftover of an
earlier run), `drop()` removes it, closing Django's connections first.
"""

import os
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/vmmanager"


class BenchDatabase:
    def __init__(self, suffix):
        self._parts = urlsplit(os.environ.get("DATABASE_URL", DEFAULT_URL))
        self.name = (self._parts.path.lstrip("/") or "vmmanager").removesuffix(suffix) + suffix
        self.url = urlunsplit(self._parts._replace(path="/" + self.name))

    def _admin(self):
        import psycopg

        return psycopg.connect(urlunsplit(self._parts._replace(path="/postgres")), autocommit=True)

    def create(self):
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        from django.db import connections

        connections.close_all()
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
