"""``manage.py collect_stats``: run a statistics collector until SIGTERM / SIGINT.

Run as many as you like (on one machine or several, against the same database): they
share the hosts out between them (docs/stats.md). ``--once`` sweeps once and exits.
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.core.request_id import new_request_id, request_id_context
from apps.core.stopping import stop_on_signals
from apps.stats.collector import Collector


class Command(BaseCommand):
    help = "Collect VM and host statistics every VMM_STATS_INTERVAL seconds (several may run at once)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="sweep once, then exit")
        parser.add_argument("--name", help="this collector's name (default: host name and pid)")

    def handle(self, *args, once=False, name=None, **options):
        # Lower CPU priority: a busy collector must not slow the web server sharing the machine.
        if settings.VMM_STATS_NICE:
            os.nice(settings.VMM_STATS_NICE)
        collector = Collector(name=name)
        stop_on_signals(collector.stop)
        with request_id_context(new_request_id()):
            collector.run(sweeps=1 if once else None)
