"""django-q2 entry points: thin, the runner does the rest."""

from apps.jobs import runner


def run_job(job_id):
    job = runner.execute(job_id)
    return job.status if job else None
