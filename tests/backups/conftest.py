"""What the backups' tests share: a ready local restic repository made by the panel's own
init job, with restic's cache, the jobs' work folders and the download area of files taken
out of backups kept in the test's own directory."""

import pytest

from apps.backups.models import RepositoryState
from apps.backups.services import add_repository
from apps.jobs import runner


@pytest.fixture
def repository(admin_user, tmp_path, settings, django_capture_on_commit_callbacks):
    settings.VMM_RESTIC_CACHE_DIR = tmp_path / "cache"
    settings.VMM_WORK_DIR = tmp_path / "work"
    settings.VMM_BACKUP_FILES_DIR = tmp_path / "files"
    with django_capture_on_commit_callbacks(execute=False):
        repository, job = add_repository(admin_user, name="local", path=str(tmp_path / "repo"), password="pw" * 6)
    runner.execute(job.pk)
    repository.refresh_from_db()
    assert repository.state == RepositoryState.READY, repository.state_reason
    return repository
