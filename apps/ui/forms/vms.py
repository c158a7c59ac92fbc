"""Forms for ordering, finding and changing VMs. They shape the input; the services
(apps.vms.create.create_vm, apps.vms.services) decide what is valid and their
ValidationError messages are put back on the fields they name (`apply_errors`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.plans import Plan
from apps.accounts.sshkeys import SshKey
from apps.accounts.tenancy import is_staff_user, visible_users
from apps.hosts.models import Cluster, Host, HostStatus
from apps.images.models import ImageStatus
from apps.images.selectors import visible_images
from apps.vms.create import LIMITS


def apply_errors(form, error):
    """Put a service's ValidationError on `form`: each message on the field it names, the
    rest (and fields the form does not show, such as `host` for customers) above the form."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for field, messages in error.message_dict.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def usable_images(user):
    return visible_images(user).filter(status=ImageStatus.READY).order_by("name")


def parse_keys(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class SizeFields(forms.Form):
    vcpus = forms.IntegerField(label=_("vCPUs"), min_value=LIMITS["vcpus"][0], max_value=LIMITS["vcpus"][1], initial=1)
    memory_mb = forms.IntegerField(
        label=_("Memory, MiB"), min_value=LIMITS["memory_mb"][0], max_value=LIMITS["memory_mb"][1], initial=1024
    )
    disk_gb = forms.IntegerField(
        label=_("Disk, GiB"), min_value=LIMITS["disk_gb"][0], max_value=LIMITS["disk_gb"][1], initial=10
    )


class AccessFields(forms.Form):
    password = forms.CharField(
        label=_("Root password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters mixing three of: lower case, upper case, digits, symbols."),
    )
    saved_keys = forms.ModelMultipleChoiceField(
        label=_("Saved SSH keys"), required=False, queryset=SshKey.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    ssh_keys = forms.CharField(
        label=_("SSH public keys"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ssh-ed25519 AAAA… user@laptop"}),
        help_text=_("One key per line. Give a password, a key, or both."),
    )

    def setup_keys(self, user):
        self.fields["saved_keys"].queryset = SshKey.objects.filter(owner=user)
        if not self.fields["saved_keys"].queryset.exists():
            del self.fields["saved_keys"]

    def all_keys(self):
        saved = [key.public_key for key in self.cleaned_data.get("saved_keys") or []]
        return parse_keys(self.cleaned_data.get("ssh_keys")) + saved


class VmCreateForm(SizeFields, AccessFields):
    """Everything the API's order takes (apps.api.resources.vm_inputs.VmOrderSerializer),
    as form fields; apps.vms.create.create_vm decides."""

    name = forms.CharField(label=_("Name"), max_length=64, widget=forms.TextInput(attrs={"autofocus": True}))
    image = forms.ModelChoiceField(label=_("Image"), queryset=None, empty_label=None)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False, empty_label=_("Myself"))
    plan = forms.ModelChoiceField(
        label=_("Plan"),
        queryset=None,
        required=False,
        empty_label=_("None: the sizes above"),
        help_text=_("The VM is ordered by this plan: its monthly traffic limit applies (a size preset chooses it)."),
    )
    host = forms.ModelChoiceField(
        label=_("Host"), queryset=None, required=False, empty_label=_("Automatic (the best fit)")
    )
    cluster = forms.ModelChoiceField(
        label=_("Cluster"),
        queryset=None,
        required=False,
        empty_label=_("Any (placement chooses)"),
        help_text=_("Placement chooses among this cluster's hosts; a VM stays in its cluster."),
    )
    hostname = forms.CharField(
        label=_("Host name"), max_length=253, required=False, help_text=_("Empty: the same as the name.")
    )
    timezone = forms.CharField(
        label=_("Time zone"), max_length=64, required=False, initial="UTC", help_text=_("Empty: UTC.")
    )
    full_copy = forms.BooleanField(
        label=_("A disk of its own (full copy)"),
        required=False,
        help_text=_("Slower to create; otherwise the disk is a linked clone of the image."),
    )
    network = forms.CharField(
        label=_("Static address"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "203.0.113.10/24"}),
        help_text=_("IPv4 with prefix. Empty: the address comes from the host's network (DHCP)."),
    )
    gateway = forms.CharField(label=_("Gateway"), max_length=64, required=False)
    dns = forms.CharField(label=_("DNS servers"), max_length=260, required=False, help_text=_("Empty: the gateway."))
    first_boot_script = forms.CharField(
        label=_("First-boot script"),
        max_length=65536,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "#!/bin/sh\napt-get install -y nginx"}),
        help_text=_("Runs once as root when the VM first starts."),
    )

    field_order = ["name", "image", "vcpus", "memory_mb", "disk_gb", "owner", "host", "cluster", "hostname"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["image"].queryset = usable_images(user)
        plans = Plan.objects.filter(is_active=True)
        if plans.exists():
            self.fields["plan"].queryset = plans
        else:
            del self.fields["plan"]
        self.setup_keys(user)
        staff = is_staff_user(user)
        if staff:
            self.fields["host"].queryset = Host.objects.filter(status=HostStatus.ONLINE).order_by("name")
            self.fields["cluster"].queryset = Cluster.objects.order_by("name")
        else:
            del self.fields["host"]
            del self.fields["cluster"]
        others = visible_users(user).exclude(pk=user.pk).order_by("username")
        if staff or others.exists():
            self.fields["owner"].queryset = others
        else:
            del self.fields["owner"]

    def static_network(self):
        """The static address as create_vm takes it (None: DHCP); the service checks it."""
        data = self.cleaned_data
        if not (data.get("network") or data.get("gateway")):
            return None
        dns = [part for part in (data.get("dns") or "").replace(",", " ").split() if part]
        return {"address": data["network"], "gateway": data["gateway"], **({"dns": dns} if dns else {})}

    def order(self):
        """The valid form as create_vm's keyword arguments."""
        data = self.cleaned_data
        return {
            "owner": data.get("owner"),
            "plan": data.get("plan"),
            "name": data["name"],
            "image": data["image"],
            "vcpus": data["vcpus"],
            "memory_mb": data["memory_mb"],
            "disk_gb": data["disk_gb"],
            "hostname": data["hostname"],
            "password": data["password"],
            "ssh_keys": self.all_keys(),
            "host": data.get("host"),
            "cluster": data.get("cluster"),
            "timezone": data["timezone"] or "UTC",
            "full_copy": data["full_copy"],
            "network": self.static_network(),
            "first_boot_script": data["first_boot_script"],
        }


class PasswordResetForm(forms.Form):
    password = forms.CharField(
        label=_("New root password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=AccessFields.base_fields["password"].help_text,
    )


class ReinstallForm(AccessFields):
    image = forms.ModelChoiceField(label=_("Image"), queryset=None, empty_label=None)
    confirm = forms.BooleanField(label=_("I understand that every file on the VM's disk will be erased."))

    field_order = ["image", "password", "saved_keys", "ssh_keys", "confirm"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["image"].queryset = usable_images(user)
        self.setup_keys(user)


class ResizeForm(SizeFields):
    pass


class MakeImageForm(forms.Form):
    """Name and visibility of an image made from a VM (public only for staff)."""

    name = forms.CharField(label=_("Image name"), max_length=64)
    visibility = forms.ChoiceField(label=_("Visibility"), choices=())

    def __init__(self, *args, user, **kwargs):
        from apps.ui.forms.images import offer_visibilities

        super().__init__(*args, **kwargs)
        offer_visibilities(self.fields["visibility"], user)
        self.fields["visibility"].initial = "private"


class DeleteForm(forms.Form):
    name = forms.CharField(label=_("Type the VM's name to confirm"), max_length=64)
    keep_backups = forms.TypedChoiceField(
        label=_("Its backups"),
        choices=[
            ("true", _("Keep them (listed under Backups of deleted VMs, restorable into a new VM)")),
            ("false", _("Delete them with the VM")),
        ],  # fmt: skip
        coerce=lambda value: value == "true",
        empty_value=True,
        required=False,
        initial="true",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, vm, **kwargs):
        super().__init__(*args, **kwargs)
        self.vm = vm

    def clean_name(self):
        if self.cleaned_data["name"] != self.vm.name:
            raise forms.ValidationError(_("This is not the VM's name."))
        return self.cleaned_data["name"]


class RecoverForm(forms.Form):
    """Recovering a VM from a lost host (staff): apps.vms.recovery decides."""

    confirm_host_down = forms.BooleanField(
        label=_("I have checked that the host is really down (powered off or cut off for good)"), required=False
    )


class MigrateForm(forms.Form):
    """Moving a stopped VM to another host (staff): apps.vms.migration decides, so every
    host is offered (one that cannot take the VM is refused with the reason)."""

    host = forms.ChoiceField(label=_("Target host"), required=False)

    def __init__(self, *args, **kwargs):
        from apps.hosts.models import Host

        super().__init__(*args, **kwargs)
        hosts = Host.objects.order_by("name")
        self.fields["host"].choices = [("", _("Let placement choose"))] + [
            (str(h.pk), f"{h.name} ({h.get_status_display()})") for h in hosts
        ]


class SuspendForm(forms.Form):
    """Suspension for non-payment (a VM or a customer): the shapes; apps.vms.suspension decides."""

    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown to the customer, e.g. the unpaid invoice."),
    )
    mode = forms.CharField(
        label=_("How"),
        required=False,
        widget=forms.Select(
            choices=[
                ("", _("The reseller's choice")),
                ("stop", _("Shut down (graceful, then forced)")),
                ("pause", _("Pause (memory kept)")),
            ]
        ),
    )
