import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.virt.types import DomainState

# RFC 1123 host name: labels of letters, digits and inner hyphens, 253 characters at most.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\Z")


class PowerState(models.TextChoices):
    """What the hypervisor last reported; `missing` means the domain is gone from the host."""

    UNKNOWN = "unknown", _("Unknown")
    RUNNING = "running", pgettext_lazy("power state", "Running")
    STOPPED = "stopped", _("Stopped")
    PAUSED = "paused", _("Paused")
    CRASHED = "crashed", _("Crashed")
    MISSING = "missing", _("Missing on host")


class VmStatus(models.TextChoices):
    """Where the VM is in its life, independent of power."""

    CREATING = "creating", _("Creating")
    ACTIVE = "active", _("Active")
    FAILED = "failed", pgettext_lazy("vm status", "Failed")
    DELETING = "deleting", _("Deleting")


# libvirt's domain states, folded into ours.
POWER_STATE_FROM_DRIVER = {
    DomainState.RUNNING: PowerState.RUNNING,
    DomainState.BLOCKED: PowerState.RUNNING,
    DomainState.PAUSED: PowerState.PAUSED,
    DomainState.PMSUSPENDED: PowerState.PAUSED,
    DomainState.SHUTDOWN: PowerState.RUNNING,  # shutting down: still running until it is off
    DomainState.SHUTOFF: PowerState.STOPPED,
    DomainState.CRASHED: PowerState.CRASHED,
}


class VirtualMachine(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=64)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vms")
    host = models.ForeignKey("hosts.Host", null=True, blank=True, on_delete=models.PROTECT, related_name="vms")
    # PROTECT: an image that VMs (linked clones) were made from cannot be deleted under them.
    image = models.ForeignKey("images.Image", null=True, blank=True, on_delete=models.PROTECT, related_name="vms")
    vcpus = models.PositiveSmallIntegerField(default=1)
    memory_mb = models.PositiveIntegerField(default=1024)
    disk_gb = models.PositiveIntegerField(default=10)
    # The plan it was ordered by (its traffic limit applies: docs/traffic.md); kept empty
    # when ordered by sizes or when the plan is deleted.
    plan = models.ForeignKey("accounts.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="vms")
    hostname = models.CharField(max_length=253, blank=True)
    # Kept across reinstalls so the VM keeps its DHCP address.
    mac_address = models.CharField(max_length=17, blank=True)
    ip_addresses = models.JSONField(default=list, blank=True)
    power_state = models.CharField(max_length=8, choices=PowerState.choices, default=PowerState.UNKNOWN, db_index=True)
    status = models.CharField(max_length=8, choices=VmStatus.choices, default=VmStatus.CREATING, db_index=True)
    # The running operation; claimed with a conditional UPDATE so there is one at a time.
    current_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The host a migration or an evacuation is moving the VM to: its room there is held while
    # that move is the VM's current job (apps/vms/placement.py), so no order takes it meanwhile.
    moving_to = models.ForeignKey("hosts.Host", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state_synced_at = models.DateTimeField(null=True, blank=True)
    # Suspended for non-payment (apps/vms/suspension.py, docs/billing.md): why, since when,
    # whether with its whole customer, and the power state to bring back when it is lifted.
    suspended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    suspension_reason = models.CharField(max_length=500, blank=True)
    suspended_with_owner = models.BooleanField(default=False)
    power_before_suspension = models.CharField(max_length=8, choices=PowerState.choices, blank=True)
    # Set while the VM boots the panel's rescue system with its disk attached (apps/vms/rescue.py,
    # docs/rescue.md): since when. Cleared when it boots its own system again.
    rescue_since = models.DateTimeField(null=True, blank=True)
    # Set while the VM is a warm pool's standby, owned by the panel's pool user and waiting
    # for an order (apps/vms/warm_pool.py, docs/warm-pool.md); cleared when an order takes it.
    standby_of = models.ForeignKey(
        "vms.WarmPool", null=True, blank=True, on_delete=models.SET_NULL, related_name="standbys"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "virtual machine"
        ordering = ["name"]
        # The UI's list is sorted by name: with this index a page of a 100,000-VM table is
        # read in name order instead of sorting every visible VM (docs/api.md, "Performance").
        indexes = [models.Index(fields=["name"], name="vm_name_idx")]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="vm_name_unique_per_owner"),
            models.CheckConstraint(condition=Q(vcpus__gte=1) & Q(vcpus__lte=256), name="vm_vcpus_range"),
            models.CheckConstraint(condition=Q(memory_mb__gte=128), name="vm_memory_min"),
            models.CheckConstraint(condition=Q(disk_gb__gte=1), name="vm_disk_min"),
            models.CheckConstraint(condition=Q(power_state__in=PowerState.values), name="vm_power_state_valid"),
            models.CheckConstraint(condition=Q(status__in=VmStatus.values), name="vm_status_valid"),
            models.CheckConstraint(condition=~Q(status="active") | Q(host__isnull=False), name="vm_active_has_host"),
        ]

    def __str__(self):
        return self.name

    @property
    def domain_name(self):
        """The libvirt domain name: unique on every host whatever users call their VMs."""
        return f"vmm-{self.uuid}"

    @property
    def disk_volume(self):
        return f"vmm-{self.uuid}-disk0.qcow2"

    def clean(self):
        super().clean()
        errors = {}
        if self.hostname and not HOSTNAME_RE.match(self.hostname):
            errors["hostname"] = "Use letters, digits and hyphens in dot-separated labels (RFC 1123)."
        if self.image_id and self.disk_gb and self.image.virtual_size_bytes > self.disk_gb * 2**30:
            errors["disk_gb"] = f"The disk must be at least the image's size ({self.image.virtual_size_gb} GiB)."
        if errors:
            raise ValidationError(errors)

    @property
    def is_suspended(self):
        return self.suspended_at is not None

    @property
    def in_rescue(self):
        return self.rescue_since is not None

    @property
    def host_unreachable(self):
        """True while the VM's host is lost (unreachable): its power state is then only the
        last one known (apps/vms/lost_host.py, docs/outages.md)."""
        return self.host_id is not None and self.host.status == "unreachable"

    def has_pending_cleanup(self):
        """True while a failed operation still owes its host a clean-up (OwedCleanup)."""
        return self.owed_cleanups.filter(done_at__isnull=True).exists()


class WarmPool(models.Model):
    """Standby VMs of one image kept deployed and running on one host ahead of orders
    (apps/vms/warm_pool.py, docs/warm-pool.md). A standby is defined with `max_vcpus` and
    `max_memory_mb` as its maximums and a disk of `disk_gb`: it serves an order of the image
    with at most those vCPUs and memory and at least that disk."""

    image = models.ForeignKey("images.Image", on_delete=models.PROTECT, related_name="warm_pools")
    host = models.ForeignKey("hosts.Host", on_delete=models.PROTECT, related_name="warm_pools")
    size = models.PositiveSmallIntegerField(default=1)  # standbys kept ready
    max_vcpus = models.PositiveSmallIntegerField(default=2)
    max_memory_mb = models.PositiveIntegerField(default=2048)
    disk_gb = models.PositiveIntegerField(default=10)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["image__name", "host__name"]
        constraints = [
            models.UniqueConstraint(fields=["image", "host"], name="warm_pool_unique_per_image_host"),
            models.CheckConstraint(condition=Q(size__lte=50), name="warm_pool_size_max"),
            models.CheckConstraint(condition=Q(max_vcpus__gte=1), name="warm_pool_vcpus_min"),
            models.CheckConstraint(condition=Q(max_memory_mb__gte=256), name="warm_pool_memory_min"),
            models.CheckConstraint(condition=Q(disk_gb__gte=1), name="warm_pool_disk_min"),
        ]

    def __str__(self):
        return f"warm pool of {self.image} on {self.host}"


class OwedCleanup(models.Model):
    """What a failed operation left on a host and could not remove then, because the host
    did not answer: a domain and volumes, removed by apps.vms.cleanup once the host is back
    (the host watcher's reconciliation, the jobs reconciler). One row per thing owed;
    `done_at` set when it is gone (or found gone). docs/health.md."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="owed_cleanups")
    # SET_NULL: the debt outlives the VM row; the domain name says what to remove.
    vm = models.ForeignKey(
        VirtualMachine, null=True, blank=True, on_delete=models.SET_NULL, related_name="owed_cleanups"
    )
    domain_name = models.CharField(max_length=255)
    volumes = models.JSONField(default=list, blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)  # why the clean-up could not be done at the time
    created_at = models.DateTimeField(auto_now_add=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True, db_index=True)
    outcome = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        state = "done" if self.done_at else "pending"
        return f"clean-up of {self.domain_name} on host {self.host_id} ({state})"


class ConsoleKind(models.TextChoices):
    SERIAL = "serial", _("Serial console")
    VNC = "vnc", _("Graphical console")


class ConsoleSession(models.Model):
    """One console of one VM opened by one user: the ticket that lets a websocket in (stored as
    its SHA-256, valid for seconds, used once) and, once used, the audit record of the session:
    who, which VM, from where, when and how long. apps/vms/consoles.py; docs/console.md."""

    # SET_NULL: the record outlives the VM and the user; the names say whose it was.
    vm = models.ForeignKey(VirtualMachine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    vm_name = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    kind = models.CharField(max_length=6, choices=ConsoleKind.choices)
    ticket_hash = models.CharField(max_length=64, unique=True)
    # Issued to an API client (bearer token): the ticket alone opens the socket, no session cookie.
    bearer = models.BooleanField(default=False)
    address = models.GenericIPAddressField(null=True, blank=True)  # who asked for the ticket
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)  # the ticket was used
    socket_address = models.GenericIPAddressField(null=True, blank=True)  # the websocket's peer
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ConsoleKind.values), name="console_kind_valid"),
        ]

    def __str__(self):
        return f"{self.kind} console of {self.vm_name} for {self.username}"

    @property
    def duration(self):
        if self.opened_at and self.closed_at:
            return self.closed_at - self.opened_at
        return None


class SnapshotState(models.TextChoices):
    CREATING = "creating", _("Being taken")
    READY = "ready", pgettext_lazy("snapshot state", "Ready")
    REVERTING = "reverting", _("Reverting")
    DELETING = "deleting", _("Being deleted")
    FAILED = "failed", pgettext_lazy("snapshot state", "Failed")


class SnapshotConsistency(models.TextChoices):
    """How the snapshot was taken (docs/snapshots.md)."""

    FROZEN = "frozen", _("Filesystems frozen")
    STOPPED = "stopped", _("VM stopped")
    CRASH = "crash", _("Not frozen (crash-consistent)")
    UNKNOWN = "unknown", _("Unknown")


class Snapshot(models.Model):
    """A point in time of a VM's disk: an external qcow2 snapshot (docs/snapshots.md). The
    VM's disk is a chain: its first volume (`disk0`), then one overlay per snapshot. At the
    snapshot the layer below `overlay_volume` (the previous snapshot's overlay, or disk0)
    was frozen; `overlay_volume` holds what the guest wrote since (the disk's top for the
    newest snapshot). Snapshots of a VM form one line, oldest first: `parent` is the one
    before. The rules: apps.vms.snapshots; the work: apps.vms.snapshot_work."""

    vm = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="snapshots")
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=500, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    overlay_volume = models.CharField(max_length=255)
    state = models.CharField(max_length=9, choices=SnapshotState.choices, default=SnapshotState.CREATING)
    consistency = models.CharField(
        max_length=7, choices=SnapshotConsistency.choices, default=SnapshotConsistency.UNKNOWN
    )
    # What the host holds for it: its overlay's allocation, as of the last snapshot job of the VM.
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vm", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["vm", "name"], name="snapshot_name_unique_per_vm"),
            models.CheckConstraint(condition=Q(state__in=SnapshotState.values), name="snapshot_state_valid"),
        ]

    def __str__(self):
        return f"snapshot {self.name} of {self.vm}"

    @property
    def consistent(self):
        """Whether the guest's filesystems were consistent (frozen, or the VM stopped)."""
        return self.consistency in (SnapshotConsistency.FROZEN, SnapshotConsistency.STOPPED)
