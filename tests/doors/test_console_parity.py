"""Opening a console through both doors: the web UI's ticket endpoint (the console page's
script asks it) and POST /api/v1/vms/{id}/console/ call apps.vms.consoles.open_console and
answer alike: a ticket and the websocket's path for the same input, the same field and
message when refused, not found for someone else's VM."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from apps.vms.models import ConsoleSession, VirtualMachine, VmStatus
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

UI_ROUTES = {"vm_console_ticket": "console"}
API_ROUTES = {("vm", "console"): "console"}


def both(user, vm, data):
    ui = Client()
    ui.force_login(user)
    ui_answer = ui.post(reverse("ui:vm_console_ticket", args=[vm.pk]), data)
    api_answer = client_for(user).post(f"/api/v1/vms/{vm.pk}/console/", data, format="json")
    return ui_answer, api_answer


def reasons(answer):
    return sorted((error["field"], error["message"]) for error in answer.json()["errors"])


@pytest.mark.parametrize("kind", ["serial", "vnc"])
@pytest.mark.parametrize("actor", ["customer", "reseller", "admin"])
def test_both_doors_give_the_owner_its_reseller_and_staff_a_ticket(world, actor, kind):
    ui, api = both(getattr(world, actor), world.vm, {"kind": kind})
    assert (ui.status_code, api.status_code) == (201, 201), (ui.content, api.content)
    for answer in (ui.json(), api.json()):
        assert answer["kind"] == kind
        assert urlsplit(answer["url"]).path == f"/ws/console/{world.vm.pk}/{kind}/"
        assert ("vnc_password" in answer) == (kind == "vnc")
    sessions = ConsoleSession.objects.filter(vm=world.vm, user=getattr(world, actor), kind=kind)
    assert sessions.count() == 2 and not sessions.filter(opened_at__isnull=False).exists()


def test_both_doors_refuse_an_unknown_kind(world):
    ui, api = both(world.customer, world.vm, {"kind": "rdp"})
    assert (ui.status_code, api.status_code) == (400, 400)
    assert [field for field, _ in reasons(ui)] == [field for field, _ in reasons(api)] == ["kind"]
    assert not ConsoleSession.objects.exists()


def test_both_doors_refuse_a_vm_that_is_not_active_for_the_same_reason(world):
    VirtualMachine.objects.filter(pk=world.vm.pk).update(status=VmStatus.CREATING)
    ui, api = both(world.customer, world.vm, {"kind": "serial"})
    assert (ui.status_code, api.status_code) == (400, 400)
    assert reasons(ui) == reasons(api) == [("vm", "Only an active VM has a console.")]


def test_another_customers_vm_is_not_found_in_both_doors(world, other_customer):
    ui, api = both(other_customer, world.vm, {"kind": "serial"})
    assert (ui.status_code, api.status_code) == (404, 404)
    assert not ConsoleSession.objects.exists()
