from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.plans import Plan
from apps.accounts.tenancy import is_staff_user
from apps.backups.models import RepositoryKind, ScheduleFrequency
from apps.core.widgets import SecretTextarea
from apps.hosts.models import Cluster, Host, HostStatus
from apps.vms.create import LIMITS


class BackupForm(forms.Form):
    """The shape only; apps.backups.services.create_backup decides (the repository included)."""

    repository = forms.TypedChoiceField(label=_("Repository"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, repositories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["repository"].choices = [(r.pk, r.name) for r in repositories]


class RestoreBackupForm(forms.Form):
    """Whether the user confirmed; apps.backups.services.restore_backup refuses without it."""

    confirm = forms.BooleanField(label=_("Yes: power the VM off and replace its disk with this backup"), required=False)


class DeleteBackupForm(forms.Form):
    """Nothing to fill: the backup is in the URL."""


class RepositoryForm(forms.Form):
    """The shape only; apps.backups.services.add_repository decides."""

    name = forms.CharField(label=_("Name"), max_length=64)
    kind = forms.ChoiceField(label=_("Kind"), choices=RepositoryKind.choices, initial=RepositoryKind.LOCAL)
    path = forms.CharField(
        label=_("Directory"),
        max_length=500,
        help_text=_("An absolute directory on the panel's machine, or on the SFTP host."),
    )
    host = forms.CharField(
        label=_("SFTP host"), max_length=253, required=False, help_text=_("SFTP only: a host name or IP address.")
    )
    port = forms.IntegerField(label=_("SSH port"), required=False, initial=22, help_text=_("SFTP only."))
    username = forms.CharField(
        label=_("SSH user"), max_length=32, required=False, help_text=_("SFTP only: the user to log in as.")
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text=_(
            "Encrypts the repository. The panel keeps it and never shows it again: without it the backups are lost."
        ),
    )
    ssh_private_key = forms.CharField(
        label=_("SSH private key"),
        required=False,
        max_length=16000,
        strip=False,
        widget=SecretTextarea(attrs={"rows": 4}),
        help_text=_(
            "SFTP only, optional: this repository's own key (without a passphrase), never shown again. "
            "Empty: the panel's own key, shown above."
        ),
    )
    known_hosts = forms.CharField(
        label=_("Host keys (known_hosts)"),
        required=False,
        max_length=16000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "SFTP only, optional: the host's known_hosts lines (ssh-keyscan). Empty: its key is recorded on first "
            "contact and a changed key is refused."
        ),
    )


WEEKDAYS = [
    (0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
    (5, _("Saturday")), (6, _("Sunday")),
]  # fmt: skip


class BackupScheduleForm(forms.Form):
    """The shape only; apps.backups.schedules.set_schedule decides."""

    frequency = forms.ChoiceField(label=_("How often"), choices=ScheduleFrequency.choices)
    hour = forms.TypedChoiceField(
        label=_("At (UTC)"), coerce=int, choices=[(h, f"{h:02d}:00") for h in range(24)], initial=3
    )
    weekday = forms.TypedChoiceField(
        label=_("On (weekly)"), coerce=int, choices=WEEKDAYS, initial=6, help_text=_("Weekly backups only.")
    )
    keep_daily = forms.IntegerField(
        label=_("Keep daily"), initial=7, help_text=_("The newest scheduled backup of each of the last N days.")
    )
    keep_weekly = forms.IntegerField(
        label=_("Keep weekly"), initial=4, help_text=_("The newest scheduled backup of each of the last N weeks.")
    )
    repository = forms.TypedChoiceField(label=_("Repository"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, repositories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["repository"].choices = [("", _("The first ready one"))] + [(r.pk, r.name) for r in repositories]


class RemoveScheduleForm(forms.Form):
    """Nothing to fill: the VM is in the URL."""


class NewVmFromBackupForm(forms.Form):
    """A new VM from a backup: what the API's body takes (NewVmFromBackupSerializer), the
    shape only; apps.backups.restore_new decides (sizes or a plan, the quota, the host)."""

    name = forms.CharField(label=_("Name of the new VM"), max_length=64)
    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=None, required=False, empty_label=_("None: the sizes below")
    )
    vcpus = forms.IntegerField(
        label=_("vCPUs"), required=False, min_value=LIMITS["vcpus"][0], max_value=LIMITS["vcpus"][1]
    )
    memory_mb = forms.IntegerField(
        label=_("Memory, MiB"), required=False, min_value=LIMITS["memory_mb"][0], max_value=LIMITS["memory_mb"][1]
    )
    disk_gb = forms.IntegerField(
        label=_("Disk, GiB"), required=False, min_value=LIMITS["disk_gb"][0], max_value=LIMITS["disk_gb"][1],
        help_text=_("Empty: the backup's size (or the plan's). At least the backup's size."),
    )  # fmt: skip
    hostname = forms.CharField(
        label=_("Host name"), max_length=253, required=False, help_text=_("Empty: the same as the name.")
    )
    host = forms.ModelChoiceField(
        label=_("Host"), queryset=None, required=False, empty_label=_("Automatic (the best fit)")
    )
    cluster = forms.ModelChoiceField(
        label=_("Cluster"), queryset=None, required=False, empty_label=_("Any (placement chooses)")
    )
    start = forms.BooleanField(label=_("Start it once restored"), required=False, initial=True)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        plans = Plan.objects.filter(is_active=True)
        if plans.exists():
            self.fields["plan"].queryset = plans
        else:
            del self.fields["plan"]
        if is_staff_user(user):
            self.fields["host"].queryset = Host.objects.filter(status=HostStatus.ONLINE).order_by("name")
            self.fields["cluster"].queryset = Cluster.objects.order_by("name")
        else:
            del self.fields["host"]
            del self.fields["cluster"]

    def order(self):
        """The cleaned data as restore_into_new_vm's keyword arguments."""
        data = dict(self.cleaned_data)
        for field in ("plan", "host", "cluster"):
            data[field] = data.get(field).pk if data.get(field) is not None else None
        return data


class DeleteKeptBackupForm(forms.Form):
    """Nothing to fill: the backup is in the URL."""


class BackupFileForm(forms.Form):
    """The shape only; apps.backups.files.extract_file decides (the path's rules, the quota)."""

    path = forms.CharField(
        label=_("Path of the file or folder"),
        max_length=1024,
        strip=False,
        help_text=_(
            "Its absolute path in the backed-up system, e.g. /etc/nginx/nginx.conf, or /var/www for a folder "
            "(downloaded as a .tar.gz of its contents)."
        ),
    )
