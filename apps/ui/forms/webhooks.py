"""The webhook endpoint form: shapes only; apps.webhooks.services decides (the URL's
address against the allow-list, the events)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.webhooks.models import EVENT_TYPES


class EndpointForm(forms.Form):
    url = forms.CharField(label=_("URL"), max_length=2000, widget=forms.URLInput(attrs={"placeholder": "https://"}))
    description = forms.CharField(label=_("Description"), required=False, max_length=2000)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        required=False,
        choices=[(event, event) for event in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
    )


class EndpointEditForm(EndpointForm):
    is_active = forms.BooleanField(
        label=_("Active"), required=False, help_text=_("Turned off, the endpoint gets no deliveries.")
    )
