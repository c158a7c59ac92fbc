"""Send one action's input through both doors (the web UI and the API) and read both
answers the same way, so a test can say that both refused it for the same reason or both
accepted it with the same job.

An Action is a pair of functions `ui(client, case)` and `api(client, case)`: each sends the
input `case` (a dict) to one door and returns the response. `ui_outcome` and `api_outcome`
turn the answers into Outcomes; `assert_same` compares them:

- "refused": the same messages; each on the same field, or above the form when the web
  form has no such field (e.g. `image` on the delete form);
- "forbidden": the API's 403/404, the web UI's 404 (pages hide what one may not do) or a
  page without the form;
- "accepted": a 2xx answer or a redirect; the same job kind (None: no job).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from apps.jobs.models import Job

JOB_PAGE = re.compile(r"/jobs/(?P<pk>[0-9a-f-]{36})/$")


@dataclass(frozen=True)
class Action:
    name: str
    ui: Callable
    api: Callable


@dataclass(frozen=True)
class Outcome:
    verdict: str  # "accepted", "refused", "forbidden"
    reasons: frozenset = frozenset()  # {(field or None, message)} when refused
    job_kind: str | None = None
    form_fields: frozenset = field(default=frozenset(), compare=False)  # the web form's fields
    detail: str = field(default="", compare=False)  # for assertion messages


def ui_outcome(response):
    if response.status_code in (403, 404):
        return Outcome("forbidden", detail=f"UI {response.status_code}")
    if response.status_code == 302:
        match = JOB_PAGE.search(response["Location"])
        kind = Job.objects.get(pk=match["pk"]).kind if match else None
        return Outcome("accepted", job_kind=kind, detail=response["Location"])
    form = (response.context or {}).get("form") if response.status_code == 200 else None
    if form is None:  # a page that does not offer the action to this user
        return Outcome("forbidden", detail=f"UI {response.status_code} without a form")
    reasons = frozenset(
        (None if name == "__all__" else name, message) for name, messages in form.errors.items() for message in messages
    )
    return Outcome("refused", reasons, form_fields=frozenset(form.fields), detail=f"UI {form.errors.as_data()}")


def api_outcome(response):
    if response.status_code in (403, 404):
        return Outcome("forbidden", detail=f"API {response.status_code} {response.content[:300]!r}")
    if 200 <= response.status_code < 300:
        body = response.json() if response.content else {}
        return Outcome("accepted", job_kind=(body.get("job") or {}).get("kind"), detail=f"API {response.status_code}")
    assert response.status_code == 400, f"API {response.status_code}: {response.content[:300]!r}"
    reasons = frozenset((error["field"], error["message"]) for error in response.json()["errors"])
    return Outcome("refused", reasons, detail=f"API {reasons}")


def assert_same(ui, api):
    """Both doors gave the same answer (see the module's docstring)."""
    assert ui.verdict == api.verdict, f"{ui.detail} / {api.detail}"
    if ui.verdict == "refused":
        as_the_form_shows = frozenset(
            (name if name in ui.form_fields else None, message) for name, message in api.reasons
        )
        assert ui.reasons == as_the_form_shows, f"{ui.detail} / {api.detail}"
    assert ui.job_kind == api.job_kind, f"{ui.detail} / {api.detail}"
