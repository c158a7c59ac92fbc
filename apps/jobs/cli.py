"""Running a job from a management command with its steps printed as they happen."""

from django.core.management.base import CommandError

from apps.jobs import registry, runner, signals
from apps.jobs.models import JobStatus, StepStatus

MARKS = {StepStatus.RUNNING: "..", StepStatus.SUCCEEDED: "ok", StepStatus.FAILED: "!!", StepStatus.SKIPPED: "--"}


def run_with_output(command, kind, target, params):
    """Run `kind` on `target` in this process, printing each step; returns the Job.
    Raises CommandError when the job fails (so the exit status says so)."""

    def show(sender, job, step, **kwargs):
        line = f"[{MARKS.get(step.status, '  ')}] {step.position}. {step.name}"
        if step.status != StepStatus.RUNNING and step.duration is not None:
            line += f" ({step.duration.total_seconds():.2f}s)"
        command.stdout.write(line)
        if step.status == StepStatus.FAILED and step.detail:
            command.stdout.write(f"     {step.detail}")

    signals.step_changed.connect(show, weak=False)
    try:
        job = runner.run_inline(kind, target, params=params)
    except registry.UnknownOperation as exc:
        raise CommandError(f"unknown operation: {exc}") from exc
    except runner.TargetBusy as exc:
        raise CommandError(str(exc)) from exc
    finally:
        signals.step_changed.disconnect(show)
    command.stdout.write(f"job {job.pk} {job.status} (request id {job.request_id})")
    if job.status != JobStatus.SUCCEEDED:
        raise CommandError(job.error)
    return job
