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


# What the hosts of one cluster share (docs/clusters.md): a VM moves between them live, and
# its network and CPU are the same on each.
CLUSTER_SETUP = ("domain_type", "network", "storage_path")


class Cluster(models.Model):
    """A named group of hosts with one setup (CLUSTER_SETUP: virtualization type, libvirt
    network, storage path) and one guest CPU, the baseline of its hosts' CPUs. A VM stays in
    its host's cluster: placement, migration and the emptying of a host choose within it.

    The setup is recorded from the first host that joins the empty cluster; every other host
    must match it (Host.clean). The baseline is computed by the `cluster_baseline` job
    (apps/hosts/clusters.py), never in a web request."""

    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=255, blank=True)
    domain_type = models.CharField(max_length=8, choices=DomainType.choices, default=DomainType.KVM)
    network = models.CharField("libvirt network", max_length=64, default="default", blank=True)
    storage_path = models.CharField(max_length=255, default="/var/lib/vmmanager/pool")
    # The baseline guest CPU (<cpu mode='custom'> XML, libvirt's baseline of the hosts' CPUs),
    # empty while none is computed: the guests then get QEMU's default CPU.
    cpu_xml = models.TextField("baseline CPU", blank=True)
    cpu_model = models.CharField("baseline CPU model", max_length=64, blank=True)
    cpu_note = models.TextField(blank=True)  # how the last computation went (hosts left out, errors)
    cpu_computed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(domain_type__in=DomainType.values), name="cluster_domain_type_valid"),
        ]

    def __str__(self):
        return self.name

    @classmethod
    def default(cls):
        """The default cluster, where hosts go unless another is chosen: the oldest one
        (made, named "default", when there is none)."""
        cluster = cls.objects.order_by("pk").first()
        return cluster or cls.objects.get_or_create(name="default")[0]


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
    cluster = models.ForeignKey(
        Cluster,
        on_delete=models.PROTECT,
        related_name="hosts",
        blank=True,  # empty in a form: the default cluster
        help_text="Its hosts share virtualization type, network and storage path, and one guest CPU.",
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
    # The CPU the host offers guests of its virtualization type (<cpu mode='custom'> XML from
    # its domain capabilities), as last read; empty when its libvirt cannot tell.
    cpu_xml = models.TextField("guest CPU", blank=True)
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

    def save(self, *args, **kwargs):
        if self.cluster_id is None:
            self.cluster = Cluster.default()
        super().save(*args, **kwargs)
        # A host alone in its cluster sets the cluster's setup (its first host, or one that
        # changed its own settings while alone there).
        if not self.cluster.hosts.exclude(pk=self.pk).exists():
            setup = {field: getattr(self, field) for field in CLUSTER_SETUP}
            if any(getattr(self.cluster, f) != v for f, v in setup.items()):
                for field, value in setup.items():
                    setattr(self.cluster, field, value)
                self.cluster.save(update_fields=[*CLUSTER_SETUP, "updated_at"])

    def clean(self):
        super().clean()
        if self.uri and not URI_PATTERN.match(self.uri):
            raise ValidationError(
                {"uri": "Use a libvirt URI such as qemu:///system, qemu+ssh://root@host/system or test:///default."}
            )
        if self.storage_path and not self.storage_path.startswith("/"):
            raise ValidationError({"storage_path": "The storage path must be absolute."})

    def full_clean(self, *args, **kwargs):
        super().full_clean(*args, **kwargs)
        # Once the host's own settings are valid (a taken name is said alone, not along with
        # the cluster's setup it would not match either):
        self.clean_cluster()

    def clean_cluster(self):
        """A host joining a cluster (or changing its setup) matches the cluster's setup,
        unless it is alone there: then the cluster takes the host's (see save). A host that
        changes neither is not checked again."""
        if self.cluster_id is None:
            self.cluster = Cluster.default()
        saved = Host.objects.filter(pk=self.pk).values("cluster_id", *CLUSTER_SETUP).first() if self.pk else None
        if saved is not None and all(saved[f] == getattr(self, f) for f in ("cluster_id", *CLUSTER_SETUP)):
            return
        if not self.cluster.hosts.exclude(pk=self.pk).exists():
            return
        errors = {}
        for field in CLUSTER_SETUP:
            ours, theirs = getattr(self, field), getattr(self.cluster, field)
            if ours != theirs:
                label = self._meta.get_field(field).verbose_name
                errors[field] = ValidationError(
                    _(
                        "The hosts of cluster %(cluster)s have %(field)s %(theirs)s, this host %(ours)s: "
                        "hosts of one cluster share virtualization type, network and storage path. "
                        "Change it, or choose another cluster."
                    )
                    % {"cluster": self.cluster.name, "field": label, "theirs": repr(theirs), "ours": repr(ours)},
                    code="cluster_mismatch",
                )
        if errors:
            raise ValidationError(errors)

    @property
    def cpu_model(self):
        """The model name of the CPU it offers guests ("" when unknown)."""
        from apps.virt.domain_xml import cpu_model_name

        return cpu_model_name(self.cpu_xml)

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
