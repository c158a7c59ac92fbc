"""The VM list's toolbar: the search box, the filter menus and the sort order, as the page
shows them. It only draws the controls and keeps the sort: the filtering itself is the VM
list's one FilterSet (apps.vms.filtersets.VmFilterSet), the same the API uses."""

from html import escape

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from apps.accounts.tenancy import is_staff_user, sees_other_users, visible_users
from apps.hosts.models import Host
from apps.images.selectors import visible_images
from apps.vms.models import PowerState, VmStatus


def _choices(choices, everything):
    return [("", everything), *choices]


class QuickSelect(forms.Select):
    """A <select> written in Python. Django draws each <option> through a template (about
    50 µs each): a reseller's 2,000 customers in the owner menu were most of the VM list
    page's time (bench/api.py, docs/api.md "Performance")."""

    rows = None  # a callable giving (value, label) pairs: drawn as they come, not normalised first

    def use_required_attribute(self, initial):
        """Never: these menus filter, all optional (Django's own answer reads every choice)."""
        return False

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(v) for v in self.format_value(value)}
        options = "".join(
            f'<option value="{escape(str(v))}"{" selected" if str(v) in chosen else ""}>{escape(str(label))}</option>'
            for v, label in (self.rows() if self.rows else self.choices)
        )
        return mark_safe(
            f'<select name="{escape(name)}"{flatatt(self.build_attrs(self.attrs, attrs))}>{options}</select>'
        )  # noqa: S308 - every part escaped above


SORTS = {
    "name": ("name",),
    "state": ("power_state", "name"),
    "host": ("host__name", "name"),
    "owner": ("owner__username", "name"),
    "image": ("image__name", "name"),
    "size": ("memory_mb", "vcpus", "name"),
    "created": ("created_at",),
}


class VmFilterForm(forms.Form):
    """The controls of the VM list (all optional, from the query string)."""

    q = forms.CharField(label=_("Search"), required=False)
    state = forms.ChoiceField(
        label=_("Power"), required=False, choices=_choices(PowerState.choices, _("Any power state"))
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_choices(VmStatus.choices, _("Any status")))
    host = forms.ModelChoiceField(
        label=_("Host"), required=False, queryset=None, empty_label=_("Any host"), widget=QuickSelect
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False, widget=QuickSelect)
    image = forms.ModelChoiceField(
        label=_("Image"), required=False, queryset=None, empty_label=_("Any image"), widget=QuickSelect
    )
    standby = forms.ChoiceField(
        label=_("Warm pool standbys"),
        required=False,
        choices=[("", _("Standbys too")), ("false", _("Without standbys")), ("true", _("Standbys only"))],
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["image"].queryset = visible_images(user).order_by("name")
        if is_staff_user(user):
            self.fields["host"].queryset = Host.objects.order_by("name")
        else:  # only staff see standbys
            del self.fields["host"], self.fields["standby"]
        if sees_other_users(user):  # ids and names only: a reseller may have thousands of customers
            others = visible_users(user).order_by("username").values_list("pk", "username")
            # A callable: read only when the menu is drawn (as it comes) or a chosen owner is
            # checked (normalised by Django), not for the table alone (htmx).
            owners = lambda: [("", _("Any owner")), *others]  # noqa: E731
            self.fields["owner"].choices = owners
            self.fields["owner"].widget.rows = owners
        else:
            del self.fields["owner"]

    def order_by(self):
        """The ORDER BY for the chosen sort key ('-' prefix: descending); by name if unknown."""
        key = (self.data.get("sort") or "name") if self.is_bound else "name"
        descending = key.startswith("-")
        fields = SORTS.get(key.lstrip("-"), SORTS["name"])
        return [f"-{f}" if descending else f for f in fields]
