"""Send the statistics tables to the ``stats`` database when ``STATS_DATABASE_URL`` set one.

Without it (the default) the router has no opinion and the tables live in the main
database, in tables of their own. With it, the ``stats`` app reads, writes and migrates
only there (``manage.py migrate --database stats``), and nothing else migrates there.
"""

from django.conf import settings

APP = "stats"
ALIAS = "stats"


def stats_database(databases=None) -> str:
    """The alias the statistics tables live in (given ``databases``, default: the settings')."""
    return ALIAS if ALIAS in (settings.DATABASES if databases is None else databases) else "default"


class StatsRouter:
    def __init__(self, databases=None):
        self.databases = databases  # None: settings.DATABASES, read at each call

    def db_for_read(self, model, **hints):
        return stats_database(self.databases) if model._meta.app_label == APP else None

    def db_for_write(self, model, **hints):
        return stats_database(self.databases) if model._meta.app_label == APP else None

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label == APP:
            return db == stats_database(self.databases)
        if db == ALIAS:
            return False
        return None
