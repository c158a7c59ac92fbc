from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.tenancy import is_staff_user, visible_users
from apps.images.models import GuestConfig, Image, OsFamily, Visibility


def visibility_choices(user):
    """Staff may publish to everyone; others share with users they can see at most."""
    keys = ["private", "shared", "public"] if is_staff_user(user) else ["private", "shared"]
    return [(key, Visibility(key).label) for key in keys]


class ImageFields(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    os_family = forms.ChoiceField(label=_("OS family"), choices=OsFamily.choices, initial=OsFamily.DEBIAN)
    os_version = forms.CharField(label=_("OS version"), max_length=32, required=False)
    guest_config = forms.ChoiceField(
        label=_("Guest set-up"), choices=GuestConfig.choices, initial=GuestConfig.CUSTOMIZE
    )
    visibility = forms.ChoiceField(label=_("Visibility"), choices=())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visibility"].choices = visibility_choices(user)
        self.fields["visibility"].initial = Visibility.PUBLIC if is_staff_user(user) else Visibility.PRIVATE


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


class ImageShareForm(forms.ModelForm):
    class Meta:
        model = Image
        fields = ["visibility", "shared_with"]
        labels = {"visibility": _("Visibility"), "shared_with": _("Shared with")}
        widgets = {"shared_with": forms.CheckboxSelectMultiple}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visibility"].choices = visibility_choices(user)
        self.fields["shared_with"].queryset = (
            visible_users(user).exclude(pk=self.instance.owner_id).order_by("username")
        )
        self.fields["shared_with"].help_text = _("Used when the visibility is “Shared”.")


class ImageDeleteForm(forms.Form):
    name = forms.CharField(label=_("Type the image's name to confirm"), max_length=100)

    def __init__(self, *args, image, **kwargs):
        super().__init__(*args, **kwargs)
        self.image = image

    def clean_name(self):
        if self.cleaned_data["name"] != self.image.name:
            raise forms.ValidationError(_("This is not the image's name."))
        return self.cleaned_data["name"]
