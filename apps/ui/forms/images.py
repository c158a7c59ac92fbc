"""Image forms: they parse what the user typed and offer the choices the images service
allows this user (apps.images.sharing). Whether a choice is allowed is for the service to
say, the same way as to the API: the fields accept any well-formed value and show only
the offered ones."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.images import sharing
from apps.images.models import GuestConfig, OsFamily, Visibility


def visibility_choices(user):
    """The visibilities `user` may set, with their labels (apps.images.sharing decides)."""
    return [(key, Visibility(key).label) for key in sharing.visibilities_for(user)]


def offer_visibilities(field, user):
    """Show `user` the visibilities it may set; accept any (the service refuses with its reason)."""
    field.choices = [(key, Visibility(key).label) for key in Visibility.values]
    field.widget.choices = visibility_choices(user)


class UserIdsField(forms.TypedMultipleChoiceField):
    """User ids as check boxes for the offered users; any id is passed on to the service,
    which says which ones it refuses."""

    def __init__(self, **kwargs):
        super().__init__(coerce=int, **kwargs)

    def valid_value(self, value):
        return str(value).isdigit() and 0 < int(value) < 2**63


class ImageFields(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    os_family = forms.ChoiceField(label=_("OS family"), choices=OsFamily.choices, initial=OsFamily.DEBIAN)
    os_version = forms.CharField(label=_("OS version"), max_length=32, required=False)
    guest_config = forms.ChoiceField(
        label=_("Guest set-up"), choices=GuestConfig.choices, initial=GuestConfig.CUSTOMIZE
    )
    # Not required: left out, it is the service's default (as in the API).
    visibility = forms.ChoiceField(label=_("Visibility"), choices=(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        offer_visibilities(self.fields["visibility"], user)
        self.fields["visibility"].initial = sharing.default_visibility(user)


class ImageImportForm(ImageFields):
    path = forms.CharField(
        label=_("File on the panel machine"),
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "/var/cache/vmmanager/images/debian-12.qcow2"}),
        help_text=_("A qcow2 or raw file readable by the panel. It is copied into the image store."),
    )
    field_order = ["path", "name"]


class ImageUploadForm(ImageFields):
    file = forms.FileField(label=_("qcow2 or raw file"))
    field_order = ["file", "name"]


class ImageShareForm(forms.Form):
    visibility = forms.ChoiceField(label=_("Visibility"), choices=())
    shared_with = UserIdsField(
        label=_("Shared with"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Used when the visibility is “Shared”."),
    )

    def __init__(self, *args, user, image, **kwargs):
        initial = {"visibility": image.visibility, "shared_with": [u.pk for u in image.shared_with.all()]}
        super().__init__(*args, initial=initial, **kwargs)
        offer_visibilities(self.fields["visibility"], user)
        self.fields["shared_with"].choices = [(u.pk, u.username) for u in sharing.share_candidates(user, image)]


class ImageDeleteForm(forms.Form):
    name = forms.CharField(label=_("Type the image's name to confirm"), max_length=100)

    def __init__(self, *args, image, **kwargs):
        super().__init__(*args, **kwargs)
        self.image = image

    def clean_name(self):
        if self.cleaned_data["name"] != self.image.name:
            raise forms.ValidationError(_("This is not the image's name."))
        return self.cleaned_data["name"]
