import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Schemes the driver can open: local, test driver, and remote transports.
URI_PATTERN = re.compile(r"^(qemu|qemu\+ssh|qemu\+tls|qemu\+tcp|qemu\+unix|test)://[^\s]*/[^\s]*$")


class DomainType(models.TextChoices):
    KVM = "kvm", _("KVM (hardware)")
    QEMU = "qemu", _("QEMU (emulation)")


class HostStatus(models.TextChoices):
    ONLINE = "online", _("Online")
    UNREACHABLE = "unreachable", _("Unreachable")
    MAINTENANCE = "maintenance", _("Maintenance")


class Host(models.Model):
    """A hypervisor the panel reaches through libvirt.

    The domain type is a setting, never guessed: some machines advertise KVM that
    cannot run guests (see docs/hypervisor.md).
    """

    name = models.CharField(max_length=64, unique=True)
    uri = models.CharField("libvirt URI", max_length=255, unique=True)
    domain_type = models.CharField(max_length=8, choices=DomainType.choices, default=DomainType.KVM)
    storage_pool = models.CharField(max_length=64, default="vmmanager")
    storage_path = models.CharField(max_length=255, default="/var/lib/vmmanager/pool")
    network = models.CharField(
        "libvirt network",
        max_length=64,
        default="default",
        blank=True,
        help_text="Empty: guests on this host get no network interface (the deploy waits for the guest agent).",
    )
    vnc_listen = models.GenericIPAddressField(
        "VNC listen address",
        default="127.0.0.1",
        help_text=(
            "Where the guests' graphical consoles listen on the host. Loopback: reached through the "
            "SSH connection of a qemu+ssh host, or directly on this machine; a private address of "
            "the host: reached directly (firewall it to the panel). New VMs get it at once, existing "
            "ones at their next start from the panel."
        ),
    )
    status = models.CharField(max_length=16, choices=HostStatus.choices, default=HostStatus.UNREACHABLE, db_index=True)
    status_reason = models.TextField(blank=True)
    # Capacity as last read from the host.
    cpus = models.PositiveIntegerField(default=0)
    memory_mb = models.PositiveBigIntegerField(default=0)
    disk_bytes = models.PositiveBigIntegerField(default=0)
    disk_free_bytes = models.PositiveBigIntegerField(default=0)
    hostname = models.CharField(max_length=255, blank=True)
    libvirt_version = models.CharField(max_length=32, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # What the last reconciliation found on the host that the panel may not remove itself:
    # [{"kind": "domain"|"volume", "name", "state", "why", "action"}] (apps.vms.strays).
    strays = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(domain_type__in=DomainType.values), name="host_domain_type_valid"),
            models.CheckConstraint(condition=Q(status__in=HostStatus.values), name="host_status_valid"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.uri and not URI_PATTERN.match(self.uri):
            raise ValidationError(
                {"uri": "Use a libvirt URI such as qemu:///system, qemu+ssh://root@host/system or test:///default."}
            )
        if self.storage_path and not self.storage_path.startswith("/"):
            raise ValidationError({"storage_path": "The storage path must be absolute."})

    @property
    def accepts_vms(self):
        return self.status == HostStatus.ONLINE


class Lease(models.Model):
    """A named role that one process at a time holds until `expires_at` (e.g. the one active
    host watcher of a deployment). Claimed and renewed with a conditional UPDATE: see
    apps/hosts/watcher_lease.py."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField()
    renewed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} held by {self.holder or 'nobody'} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
