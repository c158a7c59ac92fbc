"""Hosts: adding and changing one (staff only; name and URI unique, checked by the write
itself too), and refreshing what the panel knows of it."""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.tenancy import is_staff_user
from apps.core.uniques import unique_or_error
from apps.hosts.checks import check_host, summary
from apps.hosts.models import Host, HostStatus

logger = logging.getLogger("vmmanager.hosts")

# Fields a host's settings are made of (the rest is read from the host).
SETTINGS = ("name", "uri", "domain_type", "storage_pool", "storage_path", "network")


def taken_messages():
    return {
        ("name",): ("name", _("A host with this name already exists.")),
        ("uri",): ("uri", _("A host with this libvirt URI already exists.")),
    }


def add_host(*, actor, **settings) -> Host:
    """A new host with `settings` (SETTINGS; the model's defaults for those left out), not
    yet checked: the caller starts `host_refresh` on it in the same transaction. Raises
    PermissionDenied for non-staff, ValidationError naming the field."""
    return _save(actor, Host(), settings)


def update_host(*, actor, host: Host, **settings) -> Host:
    """Change the given settings of `host`."""
    return _save(actor, host, settings)


def _save(actor, host: Host, settings) -> Host:
    if not is_staff_user(actor):
        raise PermissionDenied(_("Only the provider's staff may do this."))
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise TypeError(f"not host settings: {sorted(unknown)}")
    for field, value in settings.items():
        setattr(host, field, value)
    host.full_clean(validate_unique=False, validate_constraints=False)
    _check_free(host)
    with unique_or_error(Host, taken_messages(), recheck=lambda: _check_free(host)):
        host.save()
    return host


def _check_free(host: Host) -> None:
    others = Host.objects.exclude(pk=host.pk)
    for (field,), (name, message) in taken_messages().items():
        if others.filter(**{field: getattr(host, field)}).exists():
            raise ValidationError({name: ValidationError(message, "unique")})


def refresh_host(host):
    """Check `host` (apps/hosts/checks.py: connect, guest type, network, storage pool, which
    is created if missing), read its capacity and set its status: online when nothing is
    missing, else unreachable with what is missing as the reason. A host in maintenance
    keeps that status. Returns the host; never raises for the host's own trouble."""
    result = check_host(host)
    reason = summary(result.findings)
    if result.error is not None:
        reason += f" (libvirt: {result.error})"
    fields = {"status_reason": reason}
    if result.info is not None:
        info = result.info
        fields.update(
            cpus=info.cpus,
            memory_mb=info.memory_mb,
            hostname=info.hostname,
            libvirt_version=info.libvirt_version,
            last_seen_at=timezone.now(),
        )
    if result.pool is not None:
        fields.update(disk_bytes=result.pool.capacity_bytes, disk_free_bytes=result.pool.available_bytes)
    if result.findings:
        logger.warning("host %s not usable: %s", host.name, fields["status_reason"])
    if host.status != HostStatus.MAINTENANCE:
        fields["status"] = HostStatus.UNREACHABLE if result.findings else HostStatus.ONLINE
    Host.objects.filter(pk=host.pk).update(**fields)
    host.refresh_from_db()
    return host
