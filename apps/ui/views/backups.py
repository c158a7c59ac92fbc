"""Backups from the web UI (docs/backups.md): a VM's backups page (reached from the VM's
page) with back up, restore and delete; the staff's repositories (list, add). Each page
only starts the job through apps.backups.services, as the API does. A VM or backup one may
not see is 404."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from apps.backups import files, kept, restore_new, schedules, services
from apps.backups.models import Backup, BackupRepository, BackupSchedule
from apps.jobs.runner import TargetBusy
from apps.ui.access import signed_in, staff_only
from apps.ui.forms.backups import (
    WEEKDAYS,
    BackupFileForm,
    BackupForm,
    BackupScheduleForm,
    DeleteBackupForm,
    DeleteKeptBackupForm,
    NewVmFromBackupForm,
    RemoveScheduleForm,
    RepositoryForm,
    RestoreBackupForm,
)
from apps.ui.forms.vms import apply_errors
from apps.ui.views.vm_item_pages import item_job_page
from apps.ui.views.vms import vm_queryset


@signed_in
def vm_backups(request, pk):
    """The VM's backups, newest first, with their actions."""
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    backups = Backup.objects.filter(vm=vm).select_related("repository")[:200]
    schedule = BackupSchedule.objects.filter(vm=vm).select_related("repository").first()
    context = {"vm": vm, "backups": backups, "schedule": schedule}
    if schedule is not None:
        context["weekday_name"] = dict(WEEKDAYS)[schedule.weekday]
    return render(request, "ui/vms/backups.html", context)


@signed_in
def vm_backup_schedule(request, pk):
    """Set the VM's backup schedule (apps.backups.schedules.set_schedule); back to its backups."""
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    current = BackupSchedule.objects.filter(vm=vm).first()
    initial = {}
    if current is not None:
        initial = {f: getattr(current, f) for f in ("frequency", "hour", "weekday", "keep_daily", "keep_weekly")}
        initial["repository"] = current.repository_id
    repositories = services.ready_repositories().order_by("pk")
    form = BackupScheduleForm(request.POST or None, initial=initial, repositories=repositories)
    if request.method == "POST" and form.is_valid():
        try:
            schedules.set_schedule(vm, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Backup schedule saved."))
            return redirect("ui:vm_backups", vm.pk)
    return render(request, "ui/vms/backup_schedule.html", {"vm": vm, "form": form, "schedule": current})


@signed_in
def vm_backup_schedule_remove(request, pk):
    """Stop the VM's scheduled backups (apps.backups.schedules.remove_schedule)."""
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    form = RemoveScheduleForm(request.POST or None)
    if request.method == "POST":
        schedules.remove_schedule(vm, actor=request.user)
        messages.success(request, _("Scheduled backups stopped; the backups taken are kept."))
        return redirect("ui:vm_backups", vm.pk)
    return render(request, "ui/vms/backup_schedule_remove.html", {"vm": vm, "form": form})


def _page(request, pk, backup_id, form_class, kind, template, start, **form_kwargs):
    item = ("backup", services.backup_of, backup_id)
    return item_job_page(request, pk, item, form_class, kind, template, start, **form_kwargs)


@signed_in
def vm_backup_create(request, pk):
    def start(vm, _backup, data, who):
        return services.create_backup(vm, repository=data["repository"], **who)

    repositories = services.ready_repositories().order_by("pk")
    return _page(
        request, pk, None, BackupForm, "vm_backup_create", "ui/vms/backup_create.html", start, repositories=repositories
    )


@signed_in
def vm_backup_restore(request, pk, backup_id):
    def start(vm, backup, data, who):
        return services.restore_backup(vm, backup, confirm=data["confirm"], **who)

    return _page(request, pk, backup_id, RestoreBackupForm, "vm_backup_restore", "ui/vms/backup_restore.html", start)


@signed_in
def vm_backup_delete(request, pk, backup_id):
    def start(vm, backup, _data, who):
        return services.delete_backup(vm, backup, **who)

    return _page(request, pk, backup_id, DeleteBackupForm, "vm_backup_delete", "ui/vms/backup_delete.html", start)


@staff_only
def backup_repository_list(request):
    repositories = BackupRepository.objects.order_by("name")
    return render(request, "ui/backups/repositories.html", {"repositories": repositories})


@staff_only
def backup_repository_add(request):
    """Add a repository (apps.backups.services.add_repository); its `restic init` job's page opens."""
    form = RepositoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            repository, job = services.add_repository(request.user, request_id=request.request_id, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Repository %(name)s added; initializing it now.") % {"name": repository.name})
            return redirect("ui:job_detail", job.pk)
    context = {"form": form, "panel_key": services.panel_public_key()}
    return render(request, "ui/backups/repository_add.html", context)


@signed_in
def kept_backup_list(request):
    """The backups of deleted VMs the user may see (kept when their VM was deleted)."""
    backups = kept.kept_backups(request.user).order_by("-created_at", "-pk")[:200]
    return render(request, "ui/backups/kept.html", {"backups": backups})


@signed_in
def kept_backup_delete(request, backup_id):
    """Delete a backup of a deleted VM (apps.backups.kept.delete_kept_backup); its job's page opens."""
    backup = kept.kept_backup_of(request.user, backup_id)
    form = DeleteKeptBackupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            job = kept.delete_kept_backup(backup, actor=request.user, request_id=request.request_id)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("ui:job_detail", job.pk)
    return render(request, "ui/backups/kept_delete.html", {"backup": backup, "form": form})


@signed_in
def backup_new_vm(request, backup_id):
    """Restore a backup (of a live or a deleted VM) into a new VM
    (apps.backups.restore_new.restore_into_new_vm); the new VM's job page opens."""
    backup = restore_new.backup_for(request.user, backup_id)
    source = backup.vm
    initial = {"vcpus": source.vcpus, "memory_mb": source.memory_mb} if source else {"vcpus": 1, "memory_mb": 1024}
    initial["disk_gb"] = max(1, -(-(backup.size_bytes or 0) // 2**30))
    form = NewVmFromBackupForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            _vm, job = restore_new.restore_into_new_vm(
                backup, **form.order(), actor=request.user, request_id=request.request_id
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except TargetBusy as exc:  # cannot happen for a new VM; said plainly if it ever does
            messages.error(request, str(exc))
        else:
            return redirect("ui:job_detail", job.pk)
    return render(request, "ui/backups/new_vm.html", {"backup": backup, "form": form})


@signed_in
def backup_file_extract(request, backup_id):
    """Take one file out of a backup (of a live or a deleted VM; its owner only:
    apps.backups.files.extract_file); the job's page opens, which links the file's page."""
    backup, _owner = files.backup_for_owner(request.user, backup_id)
    form = BackupFileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _file, job = files.extract_file(
                backup, path=form.cleaned_data["path"], actor=request.user, request_id=request.request_id
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("ui:job_detail", job.pk)
    return render(request, "ui/backups/file_extract.html", {"backup": backup, "form": form})


@signed_in
def backup_file_list(request):
    """The files the user took out of backups (its own only), newest first."""
    rows = files.files_of(request.user)[:200]
    return render(request, "ui/backups/files.html", {"files": rows})


@signed_in
def backup_file_detail(request, file_id):
    """One file taken out of a backup: its state, and the download while it has not expired."""
    backup_file = files.file_of(request.user, file_id)
    return render(request, "ui/backups/file.html", {"file": backup_file, "expired": files.is_gone(backup_file)})


@signed_in
def backup_file_download(request, file_id):
    """The file's bytes as an attachment (its owner only; 410 once it expired)."""
    try:
        backup_file, data = files.open_download(request.user, file_id)
    except files.FileGone as exc:
        page = render(request, "ui/backups/file.html", {"file": exc.backup_file, "expired": True})
        page.status_code = 410
        return page
    response = FileResponse(
        data, as_attachment=True, filename=backup_file.name, content_type="application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
