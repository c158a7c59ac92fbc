"""Sending one input through both doors and reading what each answered.

`through_ui` posts a form as a signed-in user (Django's test client) and `through_api`
sends the JSON body with a token; each returns an Answer: whether the change was accepted,
and otherwise the reasons, as (field or None, message) pairs. A busy VM is the reason
("busy", <job id>) in both doors, whose words differ (the web page links the job)."""

import re
from dataclasses import dataclass, field

from django.contrib.messages import get_messages
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.tokens import ApiToken

BUSY_JOB = re.compile(r"is busy with .*job ([0-9a-f]{8})")


@dataclass
class Answer:
    door: str
    accepted: bool
    status: int
    reasons: list = field(default_factory=list)
    form_fields: frozenset = frozenset()  # the fields the UI's form shows (None: no form)

    def messages(self):
        return sorted(message for _field, message in self.reasons)


def ui_client(user):
    client = Client()
    client.force_login(user)
    return client


def api_client(user):
    client = APIClient()
    _, raw = ApiToken.objects.issue(user, f"doors-{ApiToken.objects.count()}")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def through_ui(user, url, data):
    """POST `data` to the UI page `url`. Accepted: a redirect with no error message."""
    response = ui_client(user).post(url, data)
    reasons, form_fields = [], frozenset()
    form = response.context.get("form") if response.context is not None else None
    if form is not None and form.errors:
        form_fields = frozenset(form.fields)
        reasons = [(None if name == "__all__" else name, str(m)) for name, ms in form.errors.items() for m in ms]
    for message in get_messages(response.wsgi_request):
        if message.level_tag == "error":
            busy = BUSY_JOB.search(str(message))
            reasons.append(("busy", busy.group(1)) if busy else (None, str(message)))
    accepted = response.status_code == 302 and not reasons
    return Answer("ui", accepted, response.status_code, reasons, form_fields)


def through_api(user, method, url, body):
    response = getattr(api_client(user), method)(url, body, format="json")
    reasons = []
    if response.status_code >= 400:
        for error in response.json()["errors"]:
            reasons.append(
                ("busy", error["job"][:8]) if error["code"] == "busy" else (error["field"], error["message"])
            )
    return Answer("api", response.status_code < 300, response.status_code, reasons)


def same_refusal(ui, api):
    """Assert both doors refused, for the same reasons: the same messages, each named by the
    API with a field, and shown by the UI on that field where its form has it."""
    assert not ui.accepted and not api.accepted, (ui, api)
    assert api.status in (400, 409), api
    assert ui.messages() == api.messages(), (ui.reasons, api.reasons)
    for api_field, message in api.reasons:
        assert api_field is not None, f"the API names no field for {message!r}"
        if api_field in ui.form_fields:
            assert (api_field, message) in ui.reasons, (api_field, message, ui.reasons)
