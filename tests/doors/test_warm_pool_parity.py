"""Warm pool actions (staff: create, change, delete; docs/warm-pool.md) answer the same
through the web UI and the API: the same refused input is refused by both for the same
reason, the same accepted input leaves the same pools and audit entries."""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from apps.hosts.models import Host, HostStatus
from apps.vms.models import WarmPool
from tests.doors.outcomes import accepted_alike, refused_alike


@dataclass(frozen=True)
class Action:
    name: str
    ui_route: str
    api_route: tuple
    ui: Callable
    api: Callable


ACTIONS = {
    action.name: action
    for action in [
        Action("warm_pool_create", "warm_pool_create", ("warmpool", "create"),
               ui=lambda c, k: c.post(reverse("ui:warm_pool_create"), k["data"]),
               api=lambda c, k: c.post("/api/v1/warm-pools/", k["data"], format="json")),
        Action("warm_pool_update", "warm_pool_edit", ("warmpool", "partial_update"),
               ui=lambda c, k: c.post(reverse("ui:warm_pool_edit", args=[k["pool"].pk]), k["data"]),
               api=lambda c, k: c.patch(f"/api/v1/warm-pools/{k['pool'].pk}/", k["data"], format="json")),
        Action("warm_pool_delete", "warm_pool_delete", ("warmpool", "destroy"),
               ui=lambda c, k: c.post(reverse("ui:warm_pool_delete", args=[k["pool"].pk])),
               api=lambda c, k: c.delete(f"/api/v1/warm-pools/{k['pool'].pk}/")),
    ]
}  # fmt: skip


@dataclass(frozen=True)
class Row:
    action: str
    actor: str
    case: Callable
    verdict: str
    field: str | None = None

    def __str__(self):
        return f"{self.action}-{self.actor}-{self.verdict}"


def sizes(**extra):
    return {"size": 2, "max_vcpus": 2, "max_memory_mb": 2048, "disk_gb": 10, **extra}


ROWS = [
    Row("warm_pool_create", "admin", lambda w: {"data": sizes(image=w.image.pk, host=w.spare.pk, disk_gb=1)},
        "refused", "disk_gb"),
    Row("warm_pool_create", "reseller", lambda w: {"data": sizes(image=w.image.pk, host=w.spare.pk)}, "forbidden"),
    Row("warm_pool_create", "admin", lambda w: {"data": sizes(image=w.image.pk, host=w.spare.pk)}, "accepted"),
    Row("warm_pool_update", "admin", lambda w: {"pool": w.pool, "data": sizes(disk_gb=1)}, "refused", "disk_gb"),
    Row("warm_pool_update", "reseller", lambda w: {"pool": w.pool, "data": sizes()}, "forbidden"),
    Row("warm_pool_update", "admin", lambda w: {"pool": w.pool, "data": sizes(size=3, max_vcpus=4)}, "accepted"),
    Row("warm_pool_delete", "reseller", lambda w: {"pool": w.pool}, "forbidden"),
    Row("warm_pool_delete", "admin", lambda w: {"pool": w.pool}, "accepted"),
]  # fmt: skip


@pytest.fixture
def world(admin_user, reseller, test_host, ready_image):
    spare = Host.objects.create(name="spare", uri="test:///default?spare", status=HostStatus.ONLINE)
    pool = WarmPool.objects.create(image=ready_image, host=test_host, size=1)
    return SimpleNamespace(users={"admin": admin_user, "reseller": reseller}, image=ready_image, spare=spare, pool=pool)


def state():
    pools = sorted(WarmPool.objects.values_list("image_id", "host_id", "size", "max_vcpus", "max_memory_mb", "disk_gb"))
    audit = sorted(
        (
            (e.content_type.model, e.action, e.actor_id, e.object_repr, tuple(sorted(e.changes_dict)))
            for e in LogEntry.objects.select_related("content_type")
            if e.content_type.model != "user"  # the pool user, made once
        ),
        key=repr,
    )
    return {"pools": pools, "audit": audit}


@pytest.mark.parametrize("row", [r for r in ROWS if r.verdict != "accepted"], ids=str)
def test_both_doors_refuse_the_same_input_for_the_same_reason(world, row):
    action, case = ACTIONS[row.action], row.case(world)
    refused_alike(
        world.users[row.actor],
        lambda c: action.ui(c, case),
        lambda c: action.api(c, case),
        state,
        row.verdict,
        row.field,
    )


@pytest.mark.parametrize("row", [r for r in ROWS if r.verdict == "accepted"], ids=str)
def test_both_doors_accept_the_same_input_with_the_same_pools_and_audit_entries(world, row):
    action, case = ACTIONS[row.action], row.case(world)
    before, after = accepted_alike(
        world.users[row.actor], lambda c: action.ui(c, case), lambda c: action.api(c, case), state
    )
    assert after["audit"] != before["audit"], "no audit entry"


# Where each action is in each door (tests/doors/test_every_action_has_a_row.py reads them).
UI_ROUTES = {action.ui_route: action.name for action in ACTIONS.values()}
API_ROUTES = {action.api_route for action in ACTIONS.values()}


def test_every_warm_pool_action_has_rows_of_both_verdicts():
    assert {row.action for row in ROWS if row.verdict == "accepted"} == set(ACTIONS)
    assert {row.action for row in ROWS if row.verdict != "accepted"} == set(ACTIONS)
