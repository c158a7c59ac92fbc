"""Input serializers for ordering a VM and for the VM actions that take parameters.

They check shapes and resolve references (plan, owner, host, saved keys) within what the
caller may see; everything about the VM itself is validated by apps.vms.create.create_vm,
whose ValidationError (keyed by field) reaches the client in the API's error format."""

from rest_framework import serializers

from apps.accounts.plans import Plan
from apps.accounts.sshkeys import SshKey
from apps.accounts.tenancy import is_staff_user, visible_users
from apps.hosts.models import Host
from apps.images.models import Image
from apps.vms import validators
from apps.vms.create import LIMITS

SIZES = ("vcpus", "memory_mb", "disk_gb")


def size_field(name, required=False):
    low, high = LIMITS[name]
    return serializers.IntegerField(min_value=low, max_value=high, required=required)


class NetworkSerializer(serializers.Serializer):
    address = serializers.CharField(max_length=64, help_text="IPv4 address with prefix, e.g. 192.0.2.10/24")
    gateway = serializers.CharField(max_length=64)
    dns = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=4)


class VmOrderSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    image = serializers.IntegerField(min_value=1)
    plan = serializers.IntegerField(min_value=1, required=False, help_text="A plan's id: its sizes by default.")
    vcpus = size_field("vcpus")
    memory_mb = size_field("memory_mb")
    disk_gb = size_field("disk_gb")
    hostname = serializers.CharField(max_length=253, required=False, allow_blank=True, default="")
    password = serializers.CharField(max_length=128, required=False, allow_blank=True, default="", write_only=True)
    ssh_keys = serializers.ListField(child=serializers.CharField(max_length=16384), required=False, max_length=32)
    ssh_key_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=32)
    network = NetworkSerializer(required=False, allow_null=True, default=None)
    first_boot_script = serializers.CharField(max_length=65536, required=False, allow_blank=True, default="")
    timezone = serializers.CharField(max_length=64, required=False, default="UTC")
    full_copy = serializers.BooleanField(
        required=False, default=False, help_text="A disk of its own instead of a linked clone of the image."
    )
    owner = serializers.IntegerField(min_value=1, required=False, help_text="Staff and resellers: a user they see.")
    host = serializers.IntegerField(min_value=1, required=False, help_text="Staff only: pin the host.")

    def validate(self, attrs):
        user = self.context["request"].user
        out = dict(attrs)
        owner_id = attrs.get("owner")
        owner = user if owner_id is None else visible_users(user).filter(pk=owner_id).first()
        if owner is None:
            raise serializers.ValidationError({"owner": "No such user."}, code="does_not_exist")
        out["owner"] = owner
        out["image"] = Image.objects.filter(pk=attrs["image"]).first()  # create_vm checks it is usable
        if "plan" in attrs:
            plan = Plan.objects.filter(pk=attrs["plan"], is_active=True).first()
            if plan is None:
                raise serializers.ValidationError({"plan": "No such plan."}, code="does_not_exist")
            for size in SIZES:
                out.setdefault(size, getattr(plan, size))
        missing = {size: "Give this size or a plan." for size in SIZES if size not in out}
        if missing:
            raise serializers.ValidationError(missing, code="required")
        out["host"] = None
        if attrs.get("host") is not None:
            if not is_staff_user(user):
                raise serializers.ValidationError({"host": "Only staff may choose the host."}, code="forbidden")
            out["host"] = Host.objects.filter(pk=attrs["host"]).first()
            if out["host"] is None:
                raise serializers.ValidationError({"host": "No such host."}, code="does_not_exist")
        keys = list(attrs.get("ssh_keys") or [])
        ids = attrs.get("ssh_key_ids") or []
        saved = dict(SshKey.objects.filter(owner=owner, pk__in=ids).values_list("pk", "public_key"))
        if set(ids) - set(saved):
            raise serializers.ValidationError({"ssh_key_ids": "No such saved key."}, code="does_not_exist")
        out["ssh_keys"] = keys + [saved[pk] for pk in ids]
        out.pop("ssh_key_ids", None)
        out.pop("plan", None)
        return out


class PasswordSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, write_only=True)

    def validate_password(self, value):
        validators.validate_root_password(value)
        return value


class ReinstallSerializer(serializers.Serializer):
    image = serializers.IntegerField(min_value=1)
    password = serializers.CharField(max_length=128, required=False, allow_blank=True, default="", write_only=True)
    ssh_keys = serializers.ListField(child=serializers.CharField(max_length=16384), required=False, max_length=32)

    def validate(self, attrs):
        if attrs["password"]:
            validators.validate_root_password(attrs["password"])
        for key in attrs.get("ssh_keys") or []:
            validators.validate_ssh_key(key)
        if not attrs["password"] and not attrs.get("ssh_keys"):
            raise serializers.ValidationError({"password": "Give a root password, an SSH key, or both."})
        return attrs


class ResizeSerializer(serializers.Serializer):
    vcpus = size_field("vcpus")
    memory_mb = size_field("memory_mb")
    disk_gb = size_field("disk_gb")

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give at least one of vcpus, memory_mb, disk_gb.", code="required")
        return attrs


class MakeImageSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, min_length=1)
    visibility = serializers.ChoiceField(choices=["private", "shared", "public"], default="private")
