"""One door per action: the same input through the web UI and through the API is refused
for the same reason, or accepted with the same rows and the same job (tests/doors/actions.py
is the table; a row per action, a test per input)."""

import pytest
from django.db.models import Max

from apps.jobs.models import Job
from apps.vms.models import VirtualMachine
from tests.conftest import made_once
from tests.doors.actions import ACTIONS
from tests.doors.conftest import make_world
from tests.doors.outcomes import api_outcome, assert_same, doors_with, keys_for, ui_outcome

pytestmark = pytest.mark.django_db

REFUSED = [(action, case) for action in ACTIONS for case in action.refused]
# What a job's parameters may differ in between two doors: salted hashes and the names
# the accepted orders were told apart by.
DIFFERS = {"root_password_hash", "hostname"}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """tests/doors/conftest.py's World made once for the module's rows (tests.conftest.made_once),
    its users signed in once (`keys`: each knock opens new clients with them)."""
    yield from made_once(django_db_blocker, make_signed_in_world)


def make_signed_in_world():
    world = make_world()
    world.keys = {action.actor: keys_for(getattr(world, action.actor)) for action in ACTIONS}
    return world


def fill(value, door):
    if isinstance(value, str):
        return value.replace("{door}", door)
    if isinstance(value, dict):
        return {key: fill(item, door) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, door) for item in value]
    return value


def knock(action, inputs, world, door):
    """Send `inputs`' data through `door` as the action's actor; returns its Outcome."""
    ui_data, api_body = inputs(world)
    ui_client, api_client = doors_with(world.keys[action.actor])
    if door == "ui":
        return ui_outcome(ui_client.post(action.ui_url(world), fill(ui_data, "ui")))
    method, url = action.api_call(world)
    return api_outcome(getattr(api_client, method)(url, fill(api_body, "api"), format="json"))


def snapshot():
    """What a refused change must not have touched: VMs (with their claims) and jobs."""
    vms = list(VirtualMachine.objects.order_by("pk").values())
    return vms, Job.objects.count()


@pytest.mark.parametrize(("action", "case"), REFUSED, ids=[f"{action.name}: {case.name}" for action, case in REFUSED])
def test_both_doors_refuse_it_for_the_same_reason(world, action, case):
    if case.setup is not None:
        case.setup(world)
    answers = {}
    for door in ("ui", "api"):
        before = snapshot()
        answers[door] = knock(action, case.inputs, world, door)
        assert snapshot() == before, f"{door}: a refused change left something behind"
    assert answers["ui"].verdict == "refused", answers["ui"].detail
    assert_same(answers["ui"], answers["api"])


@pytest.mark.parametrize("action", ACTIONS, ids=[action.name for action in ACTIONS])
def test_both_doors_accept_it_with_the_same_rows_and_job(world, action):
    jobs = {}
    rows = {}
    if action.accepted.setup is not None:
        action.accepted.setup(world)
    for door in ("ui", "api"):
        newest = Job.objects.aggregate(newest=Max("created_at"))["newest"]
        answer = knock(action, action.accepted.inputs, world, door)
        assert answer.verdict == "accepted", answer.detail
        if action.between is not None:
            action.between(world)
        if action.job_kind is None:
            continue
        created = Job.objects.exclude(created_at__lte=newest) if newest else Job.objects.all()
        jobs[door] = created.get(kind=action.job_kind)
        model = jobs[door].target_type.model_class()
        target = model.objects.get(pk=jobs[door].target_id)
        rows[door] = {k: v for k, v in target.__dict__.items() if not k.startswith("_")}
        # Let the other door find the VM free again, as if this job had finished.
        VirtualMachine.objects.filter(pk=world.vm.pk).update(current_job=None)
    if action.job_kind is None:
        return
    ui, api = jobs["ui"], jobs["api"]
    assert ui.actor_id == api.actor_id == getattr(world, action.actor).pk
    assert {k: v for k, v in ui.params.items() if k not in DIFFERS} == {
        k: v for k, v in api.params.items() if k not in DIFFERS
    }
    assert ui.params.keys() == api.params.keys()
    if action.job_kind == "vm_create":
        ignore = {"id", "uuid", "name", "hostname", "mac_address", "current_job_id", "created_at", "updated_at"}
        assert {k: v for k, v in rows["ui"].items() if k not in ignore} == {
            k: v for k, v in rows["api"].items() if k not in ignore
        }
