"""The host form (add, edit) and the cluster form: parse a host's settings into the fields of apps.hosts.models.Host.
Whether they are acceptable (URI, storage path, a name or URI already taken) is for
apps.hosts.services (add_host, update_host) to say, as it does for the API."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.hosts.models import Host
from apps.hosts.services import SETTINGS

LABELS = {
    "name": _("Name"),
    "uri": _("libvirt URI"),
    "domain_type": _("Virtualization"),
    "storage_pool": _("Storage pool"),
    "storage_path": _("Storage path"),
    "network": _("libvirt network"),
    "vnc_listen": _("VNC listen address"),
    "cluster": _("Cluster"),
}
HELP_TEXTS = {
    "uri": _("qemu:///system for this machine, qemu+ssh://root@host/system or qemu+tls://host/system."),
    "domain_type": _("KVM on hardware with working virtualization; QEMU emulates (slow, for tests)."),
    "storage_pool": _("Created on the host if it does not exist."),
    "cluster": _(
        "Its hosts share virtualization type, network and storage path (the first host of an empty cluster sets "
        "them) and one guest CPU. Empty: the default cluster."
    ),
    "vnc_listen": _(
        "Where the graphical consoles listen on the host: loopback for this machine and for qemu+ssh "
        "hosts (reached through SSH), or a private address of the host the panel can reach."
    ),
}


class HostForm(forms.Form):
    """A hypervisor host's settings (a plain form, not a ModelForm: the model is validated
    once, by the service)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(forms.fields_for_model(Host, fields=SETTINGS, labels=LABELS, help_texts=HELP_TEXTS))
        self.fields["uri"].widget.attrs["placeholder"] = "qemu+ssh://root@203.0.113.10/system"
        self.fields["vnc_listen"].required = False  # left empty: loopback, the model's default
        self.fields["cluster"].empty_label = _("The default cluster")
        self.fields["cluster"].error_messages["invalid_choice"] = _("No such cluster.")  # as the service says

    def clean_vnc_listen(self):
        return self.cleaned_data.get("vnc_listen") or Host._meta.get_field("vnc_listen").default


class ClusterForm(forms.Form):
    """A cluster's name and description (apps.hosts.clusters says whether they are acceptable)."""

    name = forms.CharField(label=_("Name"), max_length=64)
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
