from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OsFamily(models.TextChoices):
    DEBIAN = "debian", "Debian"
    UBUNTU = "ubuntu", "Ubuntu"
    ALMALINUX = "almalinux", "AlmaLinux"
    ROCKY = "rocky", "Rocky Linux"
    CENTOS = "centos", "CentOS"
    FEDORA = "fedora", "Fedora"
    OTHER_LINUX = "linux", "Other Linux"


class ImageFormat(models.TextChoices):
    QCOW2 = "qcow2", "qcow2"
    RAW = "raw", "raw"


class Visibility(models.TextChoices):
    PRIVATE = "private", _("Private")
    SHARED = "shared", _("Shared")
    PUBLIC = "public", _("Public")


class ImageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    READY = "ready", _("Ready")
    ERROR = "error", _("Error")


class GuestConfig(models.TextChoices):
    CUSTOMIZE = "customize", _("virt-customize (offline)")
    CLOUD_INIT = "cloud-init", _("cloud-init")


class Image(models.Model):
    """An OS image VMs are deployed from. The file lives in the panel's image store;
    hosts get their own copy (`ImageCopy`) the first time a VM needs it there."""

    name = models.CharField(max_length=100)
    os_family = models.CharField(max_length=16, choices=OsFamily.choices, default=OsFamily.OTHER_LINUX)
    os_version = models.CharField(max_length=32, blank=True)
    format = models.CharField(max_length=8, choices=ImageFormat.choices, default=ImageFormat.QCOW2)
    guest_config = models.CharField(max_length=16, choices=GuestConfig.choices, default=GuestConfig.CUSTOMIZE)
    path = models.CharField("file in the image store", max_length=500, blank=True)
    virtual_size_bytes = models.PositiveBigIntegerField(default=0)
    file_size_bytes = models.PositiveBigIntegerField(default=0)
    checksum_sha256 = models.CharField(max_length=64, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="images",
        help_text="Empty for the provider's own images.",
    )
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.PRIVATE)
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_images")
    status = models.CharField(max_length=8, choices=ImageStatus.choices, default=ImageStatus.PENDING, db_index=True)
    status_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="image_name_unique_per_owner"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(owner__isnull=True), name="image_name_unique_for_provider"
            ),
            models.CheckConstraint(condition=Q(visibility__in=Visibility.values), name="image_visibility_valid"),
            models.CheckConstraint(
                condition=~Q(status="ready") | (Q(virtual_size_bytes__gt=0) & ~Q(checksum_sha256="")),
                name="image_ready_has_size_and_checksum",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def virtual_size_gb(self):
        return -(-self.virtual_size_bytes // 2**30)

    def clean(self):
        super().clean()
        if self.checksum_sha256 and len(self.checksum_sha256) != 64:
            raise ValidationError({"checksum_sha256": "A SHA-256 checksum is 64 hexadecimal characters."})


class CopyStatus(models.TextChoices):
    COPYING = "copying", "Copying"
    READY = "ready", "Ready"
    ERROR = "error", "Error"


class ImageCopy(models.Model):
    """An image's cached copy in one host's storage pool; linked clones are made on it."""

    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="copies")
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="image_copies")
    volume = models.CharField(max_length=255)
    path = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=8, choices=CopyStatus.choices, default=CopyStatus.COPYING)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "image copies"
        constraints = [
            models.UniqueConstraint(fields=["image", "host"], name="image_copy_one_per_host"),
        ]

    def __str__(self):
        return f"{self.image} on {self.host}"
