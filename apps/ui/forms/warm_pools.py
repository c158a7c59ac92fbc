"""The warm pool form (staff): apps.vms.warm_pool decides, as for the API."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.filtersets import WholeNumberField
from apps.hosts.models import Host
from apps.images.models import GuestConfig, Image, ImageStatus
from apps.vms.warm_pool import FIELDS


def _number(label, field, help_text=""):
    low, high = FIELDS[field]
    return WholeNumberField(label=label, min_value=low, max_value=high, help_text=help_text)


class WarmPoolForm(forms.Form):
    image = forms.ModelChoiceField(
        label=_("Image"),
        queryset=Image.objects.filter(status=ImageStatus.READY, guest_config=GuestConfig.CUSTOMIZE).order_by("name"),
    )
    host = forms.ModelChoiceField(label=_("Host"), queryset=Host.objects.order_by("name"))
    size = _number(_("Standby VMs"), "size", _("How many are kept running, ready for orders."))
    max_vcpus = _number(_("Largest order: vCPUs"), "max_vcpus")
    max_memory_mb = _number(_("Largest order: memory, MiB"), "max_memory_mb")
    disk_gb = _number(_("Standby disk, GiB"), "disk_gb", _("Orders with at least this disk are served."))

    def __init__(self, *args, pool=None, **kwargs):
        super().__init__(*args, **kwargs)
        if pool is not None:  # a pool's image and host stay
            del self.fields["image"], self.fields["host"]
