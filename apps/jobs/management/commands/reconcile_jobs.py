from django.core.management.base import BaseCommand

from apps.jobs.reconcile import reconcile


class Command(BaseCommand):
    help = "Settle running jobs whose worker died (run before starting the workers; also scheduled every minute)."

    def handle(self, *args, **options):
        count = reconcile()
        self.stdout.write(f"jobs: {count} settled" if count else "jobs: none to settle")
