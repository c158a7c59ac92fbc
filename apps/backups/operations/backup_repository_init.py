"""Make a backup repository usable (docs/backups.md): `restic init` at its location, or, when
a restic repository is there already and the password opens it, keep it."""

from apps.backups import restic
from apps.backups.models import BackupRepository, RepositoryState

STEPS = ["Initialize the repository"]


def run(ctx, repository):
    with ctx.step("Initialize the repository"):
        if restic.ensure(repository):
            ctx.note(f"restic repository made at {repository.location}")
        else:
            ctx.note(f"a restic repository is already at {repository.location}, and the password opens it: kept")
        BackupRepository.objects.filter(pk=repository.pk).update(state=RepositoryState.READY, state_reason="")


def on_failure(ctx, repository):
    BackupRepository.objects.filter(pk=repository.pk).update(
        state=RepositoryState.FAILED, state_reason=ctx.job.error or "initialization failed"
    )
