"""The people pages' forms: users (filters, create, edit, new password, quota) and plans.
They parse input only; whether it is acceptable (who may set a role, a quota within the
reseller's own, a name already taken, a weak password) is for apps.accounts.services to say,
as it does for the API (apply_errors puts its refusals on the fields)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Role, User
from apps.accounts.plans import BACKUP_TERMS, SIZES, TRAFFIC_LIMITS, BackupFrequency, TrafficAction
from apps.accounts.quotas import LIMITS
from apps.accounts.services.quotas import LIMIT_MAX
from apps.accounts.services.users import PASSWORD_MAX_LENGTH
from apps.core.filtersets import WholeNumberField
from apps.ui.forms.backups import WEEKDAYS

STATES = [("", _("Any state")), ("true", _("Active")), ("false", _("Blocked"))]


class UserFilterForm(forms.Form):
    """The user list's controls; the filtering is apps.accounts.filtersets.UserFilterSet
    (role, is_active: the API's) and the search box."""

    q = forms.CharField(label=_("Search"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("Any role")), *Role.choices])
    is_active = forms.ChoiceField(label=_("State"), required=False, choices=STATES)


class UserFields(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.CharField(label=_("E-mail"), required=False, max_length=254)
    first_name = forms.CharField(label=_("First name"), required=False, max_length=150)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=150)


def _staff_fields(form):
    """Role and reseller: only staff are offered them (the service refuses them to others)."""
    form.fields["role"] = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.CUSTOMER)
    form.fields["reseller"] = forms.ModelChoiceField(
        label=_("Reseller"),
        required=False,
        queryset=User.objects.filter(role=Role.RESELLER).order_by("username"),
        empty_label=_("None (the provider's own customer)"),
    )


class UserCreateForm(UserFields):
    password = forms.CharField(
        label=_("Password"),
        required=False,
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Without one the user cannot sign in until a password is set."),
    )

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        if staff:
            _staff_fields(self)


class UserEditForm(UserFields):
    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        if staff:
            _staff_fields(self)


class ProfileForm(forms.Form):
    """What a user changes of its own account (the user name is its manager's to change)."""

    email = UserFields.base_fields["email"]
    first_name = UserFields.base_fields["first_name"]
    last_name = UserFields.base_fields["last_name"]


class NewPasswordForm(forms.Form):
    """A password set by whoever manages the user (no old password asked)."""

    password = forms.CharField(
        label=_("New password"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class QuotaForm(forms.Form):
    """The limits (accounts.quotas.LIMITS); empty is no limit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = {
            "max_vms": _("VMs"),
            "max_vcpus": _("vCPUs"),
            "max_memory_mb": _("Memory, MiB"),
            "max_disk_gb": _("Disk, GiB"),
            "max_addresses": _("Public addresses"),
            "max_snapshots": _("Snapshots"),
            "max_backups": _("Backups"),
            "max_backup_gb": _("Backups, GiB stored"),
        }
        for field, _counted, _unit in LIMITS:
            self.fields[field] = WholeNumberField(
                label=labels[field], required=False, min_value=0, max_value=LIMIT_MAX, help_text=_("Empty: no limit.")
            )


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    vcpus = WholeNumberField(label=_("vCPUs"), min_value=SIZES["vcpus"][0], max_value=SIZES["vcpus"][1])
    memory_mb = WholeNumberField(
        label=_("Memory, MiB"), min_value=SIZES["memory_mb"][0], max_value=SIZES["memory_mb"][1]
    )
    disk_gb = WholeNumberField(label=_("Disk, GiB"), min_value=SIZES["disk_gb"][0], max_value=SIZES["disk_gb"][1])
    price_code = forms.CharField(
        label=_("Price code"), required=False, max_length=64, help_text=_("The billing system's code for this size.")
    )
    is_active = forms.BooleanField(label=_("Offered on the order form"), required=False, initial=True)
    traffic_limit_gb = WholeNumberField(
        label=_("Monthly traffic limit, GiB"),
        required=False,
        min_value=TRAFFIC_LIMITS["traffic_limit_gb"][0],
        max_value=TRAFFIC_LIMITS["traffic_limit_gb"][1],
        help_text=_("In and out together. Empty: no limit."),
    )
    traffic_action = forms.ChoiceField(
        label=_("Past the limit"), choices=TrafficAction.choices, initial=TrafficAction.THROTTLE, required=False
    )
    traffic_throttle_mbit = WholeNumberField(
        label=_("Throttled rate, Mbit/s"),
        initial=10,
        required=False,
        min_value=TRAFFIC_LIMITS["traffic_throttle_mbit"][0],
        max_value=TRAFFIC_LIMITS["traffic_throttle_mbit"][1],
        help_text=_("Each way, until the month ends."),
    )

    backup_frequency = forms.ChoiceField(
        label=_("Scheduled backups of its new VMs"), choices=BackupFrequency.choices, required=False,
        help_text=_("A VM's own schedule replaces the plan's; a change applies to VMs ordered afterwards."),
    )  # fmt: skip
    backup_hour = forms.TypedChoiceField(
        label=_("At (UTC)"), coerce=int, choices=[(h, f"{h:02d}:00") for h in range(24)], initial=3, required=False,
        empty_value=3,
    )  # fmt: skip
    backup_weekday = forms.TypedChoiceField(
        label=_("On (weekly)"), coerce=int, choices=WEEKDAYS, initial=6, required=False, empty_value=6,
        help_text=_("Weekly backups only."),
    )  # fmt: skip
    backup_keep_daily = WholeNumberField(
        label=_("Keep daily"), initial=7, required=False, min_value=0, max_value=BACKUP_TERMS["backup_keep_daily"][1]
    )
    backup_keep_weekly = WholeNumberField(
        label=_("Keep weekly"), initial=4, required=False, min_value=0, max_value=BACKUP_TERMS["backup_keep_weekly"][1]
    )

    def clean_traffic_action(self):
        return self.cleaned_data["traffic_action"] or TrafficAction.THROTTLE

    def clean_backup_keep_daily(self):
        value = self.cleaned_data["backup_keep_daily"]
        return 7 if value is None else value

    def clean_backup_keep_weekly(self):
        value = self.cleaned_data["backup_keep_weekly"]
        return 4 if value is None else value

    def clean_traffic_throttle_mbit(self):
        value = self.cleaned_data["traffic_throttle_mbit"]
        return 10 if value is None else value
