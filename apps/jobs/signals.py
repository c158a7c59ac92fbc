"""What the job runner tells the rest of the panel, as Django signals (the runner names no
listener: apps/live pushes these to open pages, `manage.py vm`/`host` print the steps).

All are sent at once, inside the runner's transaction; a receiver that talks to the
outside world defers that to `transaction.on_commit` (a page must not see a step that was
rolled back). Receivers must not raise: a lost notice never fails a job, the database is
the record.

- `job_changed(sender=Job, job=job)`: the job's status, error or planned steps changed.
- `step_changed(sender=Job, job=job, step=step)`: a step started, ended or got detail.
- `claim_changed(sender=<target model>, target=target)`: a job claimed or released
  `target` (its `current_job` changed).
"""

from django.dispatch import Signal

job_changed = Signal()
step_changed = Signal()
claim_changed = Signal()
