"""Send one action's input through both doors (the web UI and the API) and read both
answers the same way, so a test can say that both refused it for the same reason or both
accepted it with the same job.

`ui_outcome` and `api_outcome` turn a response into an Outcome; `assert_same` compares two:

- "refused": the same messages; each on the same field, or above the form when the web
  form has no such field (e.g. `quota` on the order form, `image` on the delete form). A
  page without a form (the power buttons) says why in an error message; a busy target is
  the reason ("busy", <job id's first 8 characters>) in both doors, whose words differ
  (the web page links the job);
- "forbidden": the API's 403/404, the web UI's 404 (pages hide what one may not do) or a
  page without the form;
- "accepted": a 2xx answer or a redirect with no error message; the same job kind (None: no job).

`refused_alike` and `accepted_alike` run a parity row's two halves: the refused input changes
nothing through either door; the accepted one is sent through each door in a transaction
rolled back after it, so both start from the same state and their results can be compared.
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from apps.jobs.models import Job
from tests.api.conftest import client_for

JOB_PAGE = re.compile(r"/jobs/(?P<pk>[0-9a-f-]{36})/$")
BUSY_JOB = re.compile(r"is busy with .*job ([0-9a-f]{8})")


@dataclass(frozen=True)
class Outcome:
    verdict: str  # "accepted", "refused", "forbidden"
    reasons: frozenset = frozenset()  # {(field or None, message)} when refused
    job_kind: str | None = None
    form_fields: frozenset = field(default=frozenset(), compare=False)  # the web form's fields
    detail: str = field(default="", compare=False)  # for assertion messages


@dataclass(frozen=True)
class Keys:
    """What a user's doors are opened with: a session key and an API token."""

    session: str
    token: str


def keys_for(user):
    """Sign `user` in once (a session; a bearer token) for doors_with."""
    ui = Client()
    ui.force_login(user)
    return Keys(ui.session.session_key, client_for(user).raw_token)


def doors_with(keys):
    """(web UI client, API client) signed in with `keys`: new clients, no cookie (messages)
    of an earlier request."""
    ui = Client()
    ui.cookies[settings.SESSION_COOKIE_NAME] = keys.session
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {keys.token}")
    return ui, api


def doors(user):
    """(web UI client, API client) signed in as `user` (session; bearer token)."""
    return doors_with(keys_for(user))


def _message_reasons(response):
    reasons = set()
    for message in get_messages(response.wsgi_request):
        if message.level_tag == "error":
            busy = BUSY_JOB.search(str(message))
            reasons.add(("busy", busy.group(1)) if busy else (None, str(message)))
    return frozenset(reasons)


def ui_outcome(response):
    if response.status_code in (403, 404):
        return Outcome("forbidden", detail=f"UI {response.status_code}")
    if response.status_code == 302:
        refused = _message_reasons(response)
        if refused:
            return Outcome("refused", refused, detail=f"UI messages {sorted(refused)}")
        match = JOB_PAGE.search(response["Location"])
        kind = Job.objects.get(pk=match["pk"]).kind if match else None
        return Outcome("accepted", job_kind=kind, detail=response["Location"])
    form = (response.context or {}).get("form") if response.status_code == 200 else None
    if form is None:  # a page that does not offer the action to this user
        return Outcome("forbidden", detail=f"UI {response.status_code} without a form")
    reasons = frozenset(
        (None if name == "__all__" else name, message) for name, messages in form.errors.items() for message in messages
    ) | _message_reasons(response)
    return Outcome("refused", reasons, form_fields=frozenset(form.fields), detail=f"UI {form.errors.as_data()}")


def api_outcome(response):
    if response.status_code in (403, 404):
        return Outcome("forbidden", detail=f"API {response.status_code} {response.content[:300]!r}")
    if 200 <= response.status_code < 300:
        body = response.json() if response.content else {}
        return Outcome("accepted", job_kind=(body.get("job") or {}).get("kind"), detail=f"API {response.status_code}")
    assert response.status_code in (400, 409), f"API {response.status_code}: {response.content[:300]!r}"
    reasons = frozenset(
        ("busy", error["job"][:8]) if error["code"] == "busy" else (error["field"], error["message"])
        for error in response.json()["errors"]
    )
    return Outcome("refused", reasons, detail=f"API {sorted(reasons)}")


def assert_same(ui, api):
    """Both doors gave the same answer (see the module's docstring)."""
    assert ui.verdict == api.verdict, f"{ui.detail} / {api.detail}"
    if ui.verdict == "refused":
        for name, message in api.reasons:
            assert name is not None, f"the API names no field for {message!r}"
        as_the_page_shows = frozenset(
            (name if name in ui.form_fields or name == "busy" else None, message) for name, message in api.reasons
        )
        assert ui.reasons == as_the_page_shows, f"{ui.detail} / {api.detail}"
    assert ui.job_kind == api.job_kind, f"{ui.detail} / {api.detail}"


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def refused_alike(user, send_ui, send_api, state, verdict, field=None):
    """Both doors refuse (`verdict`) for the same reasons, on `field` if given, and `state()`
    is what it was. Returns the API's Outcome."""
    ui_client, api_client = doors(user)
    before = state()
    ui = ui_outcome(send_ui(ui_client))
    assert state() == before
    api = api_outcome(send_api(api_client))
    assert state() == before
    assert ui.verdict == verdict, ui.detail
    assert_same(ui, api)
    if field:
        assert field in {name for name, _message in api.reasons}, api.detail
    return api


def accepted_alike(user, send_ui, send_api, state):
    """Both doors accept alike and leave the same `state()`, which differs from before.
    Returns (before, after): the states before and after either door."""
    ui_client, api_client = doors(user)
    before = state()
    with rolled_back():
        ui = ui_outcome(send_ui(ui_client))
        after_ui = state()
    with rolled_back():
        api = api_outcome(send_api(api_client))
        after_api = state()
    assert ui.verdict == "accepted" and after_ui != before, ui.detail
    assert_same(ui, api)
    assert after_ui == after_api
    return before, after_ui
