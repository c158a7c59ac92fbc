import threading

from django.core.management.base import BaseCommand

from apps.core.stopping import stop_on_signals
from apps.hosts.watcher import Watcher


class Command(BaseCommand):
    help = (
        "Watch the hypervisor hosts: mark lost hosts unreachable and reconnect them, keep VMs' "
        "power state in step through lifecycle events and periodic reconciliation. Run one or "
        "more per deployment: one is active (leader lease), the others wait as standbys."
    )

    def handle(self, *args, **options):
        stop = threading.Event()
        # SIGTERM (serve.sh, containers) and Ctrl-C end it cleanly: the lease is released
        # so a standby takes over at once.
        stop_on_signals(stop.set)
        watcher = Watcher()
        self.stdout.write(f"host watcher {watcher.holder}: running (Ctrl-C stops it)")
        self.stdout.flush()
        watcher.run(stop)
