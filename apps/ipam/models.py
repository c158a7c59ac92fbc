"""Networks, their address pools and the addresses handed to VMs (docs/addresses.md).

Every address a pool may hand out is a row, made when the pool is created (at most
MAX_POOL_ADDRESSES): taking one is a `SELECT ... FOR UPDATE SKIP LOCKED` of the first free
row plus a conditional UPDATE (apps.ipam.allocation), which stays as fast with 60,000
addresses in use as with none, and never gives one address to two VMs."""

import ipaddress

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# A /16 of IPv4, or 65,536 IPv6 /64s of a /48 (or single IPv6 addresses from the ranges).
MAX_POOL_ADDRESSES = 2**17


class NetworkKind(models.TextChoices):
    NAT = "nat", _("NAT")
    BRIDGED = "bridged", _("Bridged")
    ROUTED = "routed", _("Routed")
    ISOLATED = "isolated", _("Isolated")


class Ipv6Mode(models.TextChoices):
    PREFIX64 = "prefix64", _("A routed /64 per VM")
    SINGLE = "single", _("A single address per VM")


class Network(models.Model):
    """A network guests are plugged into: a libvirt network (or a host bridge) of that name
    on every host that carries it."""

    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=NetworkKind.choices, default=NetworkKind.BRIDGED)
    libvirt_network = models.CharField(
        max_length=64, blank=True, help_text=_("The libvirt network on each host (empty: use the bridge).")
    )
    bridge = models.CharField(
        max_length=15, blank=True, help_text=_("A host bridge, when there is no libvirt network.")
    )
    hosts = models.ManyToManyField("hosts.Host", blank=True, related_name="ipam_networks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(libvirt_network="") | ~Q(bridge=""), name="ipam_network_has_source"),
        ]

    def __str__(self):
        return self.name


class Pool(models.Model):
    """An IPv4 or IPv6 subnet of a network, and which of its addresses may be handed out."""

    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="pools")
    name = models.CharField(max_length=64, unique=True)
    subnet = models.CharField(max_length=64, help_text=_("CIDR, e.g. 198.51.100.0/24 or 2001:db8::/48."))
    gateway = models.GenericIPAddressField(null=True, blank=True)
    dns_servers = models.JSONField(default=list, blank=True)
    # [["first", "last"], ...]; empty: the whole subnet (without network, broadcast, gateway).
    ranges = models.JSONField(default=list, blank=True)
    ipv6_mode = models.CharField(max_length=8, choices=Ipv6Mode.choices, default=Ipv6Mode.SINGLE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["network", "name"]
        constraints = [models.CheckConstraint(condition=Q(ipv6_mode__in=Ipv6Mode.values), name="ipam_pool_mode")]

    def __str__(self):
        return f"{self.name} ({self.subnet})"

    @property
    def ip_network(self):
        return ipaddress.ip_network(self.subnet)

    @property
    def version(self):
        return self.ip_network.version

    @property
    def per_vm_prefix64(self):
        return self.version == 6 and self.ipv6_mode == Ipv6Mode.PREFIX64


class Address(models.Model):
    """One address (or, for a /64 pool, one /64) a pool may hand out. Free when it has no VM,
    is not reserved and its cool-down after the last release has passed."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="addresses")
    position = models.BigIntegerField()  # allocation order inside the pool
    address = models.GenericIPAddressField()  # the guest's address (for /64 pools: prefix::1)
    prefixlen = models.PositiveSmallIntegerField()  # what the guest configures
    vm = models.ForeignKey(
        "vms.VirtualMachine", null=True, blank=True, on_delete=models.SET_NULL, related_name="addresses"
    )
    reserved = models.BooleanField(default=False)
    assigned_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    reverse_name = models.CharField(max_length=253, blank=True)

    class Meta:
        ordering = ["pool", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "position"], name="ipam_address_position_unique"),
            models.UniqueConstraint(fields=["pool", "address"], name="ipam_address_unique"),
        ]
        indexes = [
            # The free rows of a pool, in allocation order: what allocation reads.
            models.Index(
                fields=["pool", "position"],
                name="ipam_address_free",
                condition=Q(vm__isnull=True, reserved=False),
            ),
            models.Index(fields=["address"], name="ipam_address_search"),
        ]

    def __str__(self):
        return self.cidr

    @property
    def cidr(self):
        return f"{self.address}/{self.prefixlen}"
