"""STATS_DATABASE_URL: with a `stats` database configured, the statistics tables live only
there; without one they are ordinary tables of the main database."""

from apps.stats.models import VmSample
from apps.stats.router import StatsRouter
from apps.vms.models import VirtualMachine

MAIN = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "vmm"}}
SPLIT = {**MAIN, "stats": {"ENGINE": "django.db.backends.postgresql", "NAME": "vmm_stats"}}


def test_without_a_stats_database_the_router_has_no_opinion_and_tables_stay_in_default():
    for router in (StatsRouter(MAIN), StatsRouter()):  # the suite's own settings have no stats database
        assert router.db_for_write(VmSample) == "default" and router.db_for_read(VmSample) == "default"
        assert router.allow_migrate("default", "stats") is True
        assert router.db_for_write(VirtualMachine) is None and router.allow_migrate("default", "vms") is None


def test_with_a_stats_database_statistics_go_there_and_nothing_else_does():
    router = StatsRouter(SPLIT)
    assert router.db_for_write(VmSample) == "stats" and router.db_for_read(VmSample) == "stats"
    assert router.allow_migrate("stats", "stats") is True and router.allow_migrate("default", "stats") is False
    assert router.allow_migrate("stats", "vms") is False and router.db_for_read(VirtualMachine) is None
