"""Deleting a webhook endpoint answers the same through the web UI and the API: someone
else's endpoint is not found through either door; one's own is deleted (with its delivery
log) by either. (Changing an endpoint is a row of tests/doors/actions.py.)"""

import pytest
from django.urls import reverse

from apps.accounts.models import Role, User
from apps.webhooks.models import Delivery, Endpoint, Event
from tests.doors.outcomes import accepted_alike, refused_alike

UI_ROUTES = {"webhook_delete": "delete"}
API_ROUTES = {("webhook", "destroy"): "delete"}


@pytest.fixture
def endpoints(reseller):
    other_reseller = User.objects.create_user("reseller-2", password="pw-reseller-2", role=Role.RESELLER)
    mine = Endpoint.objects.create(owner=reseller, url="https://203.0.113.5/mine", events=["vm.created"])
    theirs = Endpoint.objects.create(owner=other_reseller, url="https://203.0.113.5/theirs", events=["vm.created"])
    event = Event.objects.create(type="vm.created", body="{}")
    Delivery.objects.create(endpoint=mine, event=event)
    return {"mine": mine, "theirs": theirs}


def state():
    return sorted(Endpoint.objects.values_list("pk", "url")), Delivery.objects.count()


def send(which):
    return (
        lambda client: client.post(reverse("ui:webhook_delete", args=[which.pk])),
        lambda client: client.delete(f"/api/v1/webhooks/{which.pk}/"),
    )


def test_someone_elses_endpoint_is_not_found_through_either_door(reseller, endpoints):
    refused_alike(reseller, *send(endpoints["theirs"]), state, "forbidden")


def test_a_customer_deletes_nothing_through_either_door(customer, endpoints):
    refused_alike(customer, *send(endpoints["mine"]), state, "forbidden")


def test_both_doors_delete_ones_own_endpoint_and_its_log(reseller, endpoints):
    before, after = accepted_alike(reseller, *send(endpoints["mine"]), state)
    assert after == ([(endpoints["theirs"].pk, "https://203.0.113.5/theirs")], 0)
    assert before[1] == 1
