from django.core.management.base import BaseCommand

from apps.jobs.reconcile import reconcile


class Command(BaseCommand):
    help = "Settle running jobs whose worker died (run before starting the workers; also scheduled every minute)."

    def handle(self, *args, **options):
        # Before the workers start: only the dead jobs. Housekeeping talks to hosts, and a
        # hung one must not hold the workers back; the scheduled run (every minute) does it.
        count = reconcile(housekeeping=False)
        self.stdout.write(f"jobs: {count} settled" if count else "jobs: none to settle")
