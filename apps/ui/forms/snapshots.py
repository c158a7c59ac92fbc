from django import forms
from django.utils.translation import gettext_lazy as _


class SnapshotForm(forms.Form):
    """The shape only; apps.vms.snapshots.create_snapshot decides."""

    name = forms.CharField(
        label=_("Name"), max_length=64, help_text=_("Letters, digits, dots, hyphens and underscores.")
    )
    description = forms.CharField(label=_("Description"), max_length=500, required=False)


class RevertSnapshotForm(forms.Form):
    """Whether the user confirmed; apps.vms.snapshots.revert_snapshot refuses without it."""

    confirm = forms.BooleanField(
        label=_("Yes: power the VM off and lose everything written since this snapshot"), required=False
    )


class DeleteSnapshotForm(forms.Form):
    """Nothing to fill: the snapshot is in the URL."""
