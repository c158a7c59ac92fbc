"""Plans: the provider's staff create, change and delete them; everyone else only reads
the active ones. Raises as apps.accounts.services says."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.plans import BACKUP_TERMS, SIZES, TRAFFIC_LIMITS, BackupFrequency, Plan, TrafficAction
from apps.accounts.tenancy import is_staff_user
from apps.core.uniques import unique_or_error
from apps.core.unset import UNSET, Unset


def name_taken() -> str:
    return _("A plan with this name already exists.")


def create_plan(
    *,
    actor: User,
    name: str,
    vcpus: int,
    memory_mb: int,
    disk_gb: int,
    price_code: str = "",
    is_active: bool = True,
    traffic_limit_gb: int | None = None,
    traffic_action: str = TrafficAction.THROTTLE,
    traffic_throttle_mbit: int = 10,
    backup_frequency: str = BackupFrequency.NONE,
    backup_hour: int = 3,
    backup_weekday: int = 6,
    backup_keep_daily: int = 7,
    backup_keep_weekly: int = 4,
) -> Plan:
    """A new plan; `traffic_limit_gb` (None: no limit) is in + out per month, past it the
    VM is throttled to `traffic_throttle_mbit` or suspended (`traffic_action`). With a
    `backup_frequency` (daily, weekly; "" none) its new VMs get that backup schedule
    (`backup_hour` UTC, `backup_weekday`, retention `backup_keep_daily` / `backup_keep_weekly`,
    not both 0) as their own."""
    _staff_only(actor)
    plan = Plan(
        name=name,
        vcpus=vcpus,
        memory_mb=memory_mb,
        disk_gb=disk_gb,
        price_code=price_code,
        is_active=is_active,
        traffic_limit_gb=traffic_limit_gb,
        traffic_action=traffic_action,
        traffic_throttle_mbit=traffic_throttle_mbit,
        backup_frequency=backup_frequency,
        backup_hour=backup_hour,
        backup_weekday=backup_weekday,
        backup_keep_daily=backup_keep_daily,
        backup_keep_weekly=backup_keep_weekly,
    )
    return _save(plan)


def update_plan(
    *,
    actor: User,
    plan: Plan,
    name: str | Unset = UNSET,
    vcpus: int | Unset = UNSET,
    memory_mb: int | Unset = UNSET,
    disk_gb: int | Unset = UNSET,
    price_code: str | Unset = UNSET,
    is_active: bool | Unset = UNSET,
    traffic_limit_gb: int | None | Unset = UNSET,
    traffic_action: str | Unset = UNSET,
    traffic_throttle_mbit: int | Unset = UNSET,
    backup_frequency: str | Unset = UNSET,
    backup_hour: int | Unset = UNSET,
    backup_weekday: int | Unset = UNSET,
    backup_keep_daily: int | Unset = UNSET,
    backup_keep_weekly: int | Unset = UNSET,
) -> Plan:
    """Change what is given (UNSET: leave as is). VMs ordered by the plan keep their size;
    a changed traffic limit applies to them from the next check (within a minute); a changed
    backup schedule applies to VMs ordered afterwards (the others keep their own)."""
    _staff_only(actor)
    changes = {
        "name": name,
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "disk_gb": disk_gb,
        "price_code": price_code,
        "is_active": is_active,
        "traffic_limit_gb": traffic_limit_gb,
        "traffic_action": traffic_action,
        "traffic_throttle_mbit": traffic_throttle_mbit,
        "backup_frequency": backup_frequency,
        "backup_hour": backup_hour,
        "backup_weekday": backup_weekday,
        "backup_keep_daily": backup_keep_daily,
        "backup_keep_weekly": backup_keep_weekly,
    }
    for field, value in changes.items():
        if value is not UNSET:
            setattr(plan, field, value)
    return _save(plan)


def delete_plan(*, actor: User, plan: Plan) -> None:
    _staff_only(actor)
    plan.delete()


def _staff_only(actor: User) -> None:
    if not is_staff_user(actor):
        raise PermissionDenied(_("Only the provider's staff may change this."))


def _check_backup_terms(plan: Plan, errors: dict) -> None:
    if plan.backup_frequency not in BackupFrequency.values:
        values = ", ".join(value or '""' for value in BackupFrequency.values)
        errors["backup_frequency"] = [ValidationError(_("One of: %(values)s.") % {"values": values}, "invalid_choice")]
    for field, (low, high) in BACKUP_TERMS.items():
        value = getattr(plan, field)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            message = _("Must be a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
            errors[field] = [ValidationError(message, "invalid")]
    keeps = ("backup_keep_daily", "backup_keep_weekly")
    if plan.backup_frequency and not any(f in errors for f in keeps) and not any(getattr(plan, f) for f in keeps):
        errors["backup_keep_daily"] = [ValidationError(_("Keep at least one daily or one weekly backup."), "invalid")]


def _save(plan: Plan) -> Plan:
    errors = {}
    for field, (low, high) in SIZES.items():
        value = getattr(plan, field)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            message = _("Must be a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
            errors[field] = [ValidationError(message, "invalid")]
    for field, (low, high) in TRAFFIC_LIMITS.items():
        value = getattr(plan, field)
        if value is None and field == "traffic_limit_gb":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            message = _("Must be a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
            errors[field] = [ValidationError(message, "invalid")]
    if plan.traffic_action not in TrafficAction.values:
        message = _("One of: %(values)s.") % {"values": ", ".join(TrafficAction.values)}
        errors["traffic_action"] = [ValidationError(message, "invalid_choice")]
    _check_backup_terms(plan, errors)
    if errors:
        raise ValidationError(errors)
    plan.full_clean(validate_unique=False, validate_constraints=False)
    if Plan.objects.filter(name=plan.name).exclude(pk=plan.pk).exists():
        raise ValidationError({"name": ValidationError(name_taken(), "unique")})
    with unique_or_error(Plan, {("name",): ("name", name_taken())}):
        plan.save()
    return plan
