"""django-q2 entry points: thin, the runner does the rest."""

from apps.jobs import reconcile, runner


def run_job(job_id):
    """A worker runs the job; while it does, it settles dead workers' jobs (heartbeat.py)."""
    job = runner.execute(job_id, meanwhile=reconcile.settle_orphans)
    return job.status if job else None
