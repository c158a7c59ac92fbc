"""Input serializers for ordering a VM and for the VM actions that take parameters.

They check shapes only (types, lengths, ranges the schema declares); whether the order or
change may happen (tenancy, role, quota, references, state) is decided by the services in
apps.vms.create and apps.vms.changes, whose ValidationError (keyed by field) reaches the
client in the API's error format. Every field takes JSON's type exactly (apps.api.fields):
"true" for a boolean, "5" for a number, 7 for a string are 400 `invalid` on the field."""

from rest_framework import serializers

from apps.api.fields import IdOrNameField, StrictBooleanField, StrictCharField, StrictChoiceField, StrictIntegerField
from apps.vms.create import LIMITS

SIZES = ("vcpus", "memory_mb", "disk_gb")


MAX_ID = 2**63 - 1  # the database's integer range: larger ids are refused, never looked up


def id_field(**kwargs):
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def size_field(name, required=False):
    low, high = LIMITS[name]
    return StrictIntegerField(min_value=low, max_value=high, required=required)


class NetworkSerializer(serializers.Serializer):
    address = StrictCharField(max_length=64, help_text="IPv4 address with prefix, e.g. 203.0.113.10/24")
    gateway = StrictCharField(max_length=64)
    dns = serializers.ListField(child=StrictCharField(max_length=64), required=False, max_length=4)


class VmOrderSerializer(serializers.Serializer):
    name = StrictCharField(max_length=64)
    image = id_field()
    plan = id_field(required=False, help_text="A plan's id: its sizes by default.")
    vcpus = size_field("vcpus")
    memory_mb = size_field("memory_mb")
    disk_gb = size_field("disk_gb")
    hostname = StrictCharField(max_length=253, required=False, allow_blank=True, default="")
    password = StrictCharField(max_length=128, required=False, allow_blank=True, default="", write_only=True)
    ssh_keys = serializers.ListField(child=StrictCharField(max_length=16384), required=False, max_length=32)
    ssh_key_ids = serializers.ListField(child=id_field(), required=False, max_length=32)
    network = NetworkSerializer(required=False, allow_null=True, default=None)
    first_boot_script = StrictCharField(max_length=65536, required=False, allow_blank=True, default="")
    timezone = StrictCharField(max_length=64, required=False, default="UTC")
    full_copy = StrictBooleanField(
        required=False, default=False, help_text="A disk of its own instead of a linked clone of the image."
    )
    owner = id_field(required=False, help_text="Staff and resellers: a user they see.")
    host = id_field(required=False, help_text="Staff only: pin the host.")
    cluster = id_field(required=False, help_text="Staff only: placement chooses among this cluster's hosts.")

    def to_order(self):
        """The validated body as create_vm's keyword arguments."""
        data = dict(self.validated_data)
        data["saved_key_ids"] = data.pop("ssh_key_ids", [])
        data["ssh_keys"] = [key.strip() for key in data.get("ssh_keys") or []]
        return data


class ReinstallSerializer(serializers.Serializer):
    image = id_field()
    password = StrictCharField(max_length=128, required=False, allow_blank=True, default="", write_only=True)
    ssh_keys = serializers.ListField(child=StrictCharField(max_length=16384), required=False, max_length=32)


class PasswordSerializer(serializers.Serializer):
    password = StrictCharField(max_length=128, write_only=True)


class ResizeSerializer(serializers.Serializer):
    vcpus = size_field("vcpus")
    memory_mb = size_field("memory_mb")
    disk_gb = size_field("disk_gb")


class MakeImageSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100, min_length=1)
    visibility = StrictChoiceField(choices=["private", "shared", "public"], default="private")


class RecoverSerializer(serializers.Serializer):
    """Recovering a VM from a lost host (staff): the service refuses without the confirmation."""

    confirm_host_down = StrictBooleanField(
        default=False, help_text="Staff checked that the lost host is really down (required: true)."
    )


class MigrateSerializer(serializers.Serializer):
    """Moving a stopped VM to another host (staff): the service checks the target."""

    host = IdOrNameField(
        required=False,
        default=None,
        allow_null=True,
        help_text="The target host, by id or name; left out (or null): placement chooses one.",
    )


class SuspendSerializer(serializers.Serializer):
    """Suspension for non-payment (a VM or a customer): the shapes; the service checks them."""

    reason = StrictCharField(
        required=False, allow_blank=True, default="", help_text="Shown to the customer (at most 500 characters)."
    )
    mode = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="stop (graceful, then forced) or pause; default: the reseller's choice, else VMM_SUSPEND_MODE.",
    )


class AddAddressSerializer(serializers.Serializer):
    pool = IdOrNameField(
        required=False, default="",
        help_text="A pool of the VM's network, by id or name (default: its first pool by name).",
    )  # fmt: skip


class ConsoleSerializer(serializers.Serializer):
    kind = StrictChoiceField(choices=["serial", "vnc"], default="serial")


class DeleteQuerySerializer(serializers.Serializer):
    """DELETE /api/v1/vms/<id>/'s query: whether the VM's backups are kept (docs/backups.md)."""

    keep_backups = StrictChoiceField(
        choices=["true", "false"],
        required=False,
        default="true",
        help_text="true (the default): its backups stay its owner's; false: they are forgotten with it.",
    )


class NewVmFromBackupSerializer(serializers.Serializer):
    """A new VM from a backup (apps.backups.restore_new decides): ordered like any VM."""

    name = StrictCharField(max_length=64)
    plan = id_field(required=False, help_text="A plan's id: its sizes by default.")
    vcpus = size_field("vcpus")
    memory_mb = size_field("memory_mb")
    disk_gb = size_field("disk_gb")
    hostname = StrictCharField(max_length=253, required=False, allow_blank=True, default="")
    host = id_field(required=False, help_text="Staff only: pin the host.")
    cluster = id_field(required=False, help_text="Staff only: placement chooses among this cluster's hosts.")
    start = StrictBooleanField(required=False, default=True, help_text="Start the VM once its disk is restored.")
