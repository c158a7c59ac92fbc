from django import forms
from django.utils.translation import gettext_lazy as _

from apps.hosts.models import Host


class HostAddForm(forms.ModelForm):
    """A new hypervisor host; the model's clean() checks the URI and the storage path."""

    class Meta:
        model = Host
        fields = ["name", "uri", "domain_type", "storage_pool", "storage_path", "network"]
        labels = {
            "name": _("Name"),
            "uri": _("libvirt URI"),
            "domain_type": _("Virtualization"),
            "storage_pool": _("Storage pool"),
            "storage_path": _("Storage path"),
            "network": _("libvirt network"),
        }
        help_texts = {
            "uri": _("qemu:///system for this machine, qemu+ssh://root@host/system or qemu+tls://host/system."),
            "domain_type": _("KVM on hardware with working virtualization; QEMU emulates (slow, for tests)."),
            "storage_pool": _("Created on the host if it does not exist."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["uri"].widget.attrs["placeholder"] = "qemu+ssh://root@203.0.113.10/system"
