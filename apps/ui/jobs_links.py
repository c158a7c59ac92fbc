"""Where a job's target lives in the UI, worked out without loading the target."""

from django.urls import reverse

TARGET_PAGES = {
    "vms.virtualmachine": "ui:vm_detail",
    "hosts.host": "ui:host_detail",
    "images.image": "ui:image_detail",
    "backups.backupfile": "ui:backup_file_detail",  # a file taken out of a backup: its download
}


def target_url(job):
    """The target's page, or "" when it has none (or the job has no target)."""
    if job.target_type_id is None or job.target_id is None:
        return ""
    name = TARGET_PAGES.get(f"{job.target_type.app_label}.{job.target_type.model}")
    return reverse(name, args=[job.target_id]) if name else ""
