import signal
import threading

from django.core.management.base import BaseCommand

from apps.hosts.watcher import Watcher


class Command(BaseCommand):
    help = (
        "Watch the hypervisor hosts: mark lost hosts unreachable and reconnect them, keep VMs' "
        "power state in step through lifecycle events and periodic reconciliation. Run one or "
        "more per deployment: one is active (leader lease), the others wait as standbys."
    )

    def handle(self, *args, **options):
        stop = threading.Event()

        def on_signal(signum, _frame):
            stop.set()

        # SIGTERM (serve.sh, containers) and Ctrl-C end it cleanly: the lease is released
        # so a standby takes over at once.
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        watcher = Watcher()
        self.stdout.write(f"host watcher {watcher.holder}: running (Ctrl-C stops it)")
        self.stdout.flush()
        watcher.run(stop)
