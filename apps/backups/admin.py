"""Admin for backups (docs/backups.md). A repository is added through
apps.backups.services.add_repository (the same rules as the API and the web UI; its
`restic init` job starts); its password and SSH private key are asked for once and never
shown again (the key's public half, or the panel's key, is shown to authorize it). Backups
are read-only here: they are taken, restored and deleted through their jobs."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from apps.backups import services
from apps.backups.models import Backup, BackupRepository, BackupSchedule
from apps.core.widgets import SecretTextarea
from apps.jobs.admin_actions import job_action

ADD_FIELDS = ["name", "kind", "path", "host", "port", "username", "password", "ssh_private_key", "known_hosts"]
SHOWN = ["name", "kind", "path", "host", "port", "username", "authorized_key", "known_hosts", "state", "state_reason"]


class RepositoryAddForm(forms.ModelForm):
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False), help_text="Kept by the panel, never shown."
    )
    port = forms.IntegerField(required=False, initial=22, help_text="SFTP: the SSH port.")
    ssh_private_key = forms.CharField(
        required=False,
        widget=SecretTextarea,
        help_text="SFTP: this repository's own key (no passphrase), never shown again. Empty: the panel's key.",
    )

    class Meta:
        model = BackupRepository
        fields = ADD_FIELDS

    def _post_clean(self):
        # The service's rules (apps.backups.services), not the model form's own.
        data = self.cleaned_data
        try:
            services.check_repository_input(**{field: data.get(field) for field in ADD_FIELDS})
        except ValidationError as e:
            for field, errors in e.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)


@admin.register(BackupRepository)
class BackupRepositoryAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "location", "state", "created_at")
    list_filter = ("state", "kind")
    search_fields = ("name", "path", "host")
    readonly_fields = (*SHOWN, "created_at")
    actions = [job_action(services.INIT_OPERATION, "Initialize (restic init) again")]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = RepositoryAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        return ADD_FIELDS if obj is None else list(self.readonly_fields)

    @admin.display(description="public key to authorize on the SFTP host")
    def authorized_key(self, obj):
        return services.authorized_key(obj)

    def has_change_permission(self, request, obj=None):
        return obj is None or request.method == "GET"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        repository, job = services.add_repository(
            request.user, request_id=request.request_id, **{field: data[field] for field in ADD_FIELDS}
        )
        obj.pk, obj.name = repository.pk, repository.name
        self.message_user(request, f"restic init runs as job {job.pk}.", messages.INFO)


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):
    """Read-only: backups are taken, restored and deleted through their jobs."""

    list_display = (
        "pk",
        "vm_name",
        "owner",
        "repository",
        "state",
        "consistency",
        "kind",
        "size_bytes",
        "read_bytes",
        "added_bytes",
        "duration_s",
        "created_at",
    )
    list_filter = ("state", "repository")
    search_fields = ("vm_name", "restic_snapshot_id")
    list_select_related = ("owner", "repository")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BackupSchedule)
class BackupScheduleAdmin(admin.ModelAdmin):
    """Read-only: a schedule is set by its VM's owner (apps.backups.schedules, both doors);
    staff see when each runs next and its last failure."""

    list_display = (
        "vm", "frequency", "hour", "weekday", "keep_daily", "keep_weekly", "repository", "next_run_at",
        "retry_at", "last_failure_at",
    )  # fmt: skip
    list_filter = ("frequency",)
    search_fields = ("vm__name", "last_failure_reason")
    list_select_related = ("vm", "repository")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
