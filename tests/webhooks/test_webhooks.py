"""Webhooks against a real receiver on 127.0.0.1: signed deliveries of a whole suspension
flow, retries with backoff until the receiver answers 200, the SSRF allow-list checked when
an endpoint is saved and again when it is delivered to, the delivery log and re-sending by
hand through the API, and who may have endpoints."""

import time

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.vms.models import PowerState
from apps.webhooks import delivery as sending
from apps.webhooks.events import emit
from apps.webhooks.models import Delivery, DeliveryStatus, Endpoint
from tests.api.conftest import client_for
from tests.vms.factories import vm_with_domain

pytestmark = pytest.mark.django_db(transaction=True)
EVENTS = ["customer.suspended", "customer.unsuspended", "job.succeeded", "job.failed", "vm.state_changed"]


def register(user, receiver, events=EVENTS):
    answer = client_for(user).post("/api/v1/webhooks/", {"url": receiver.url, "events": events}, format="json")
    assert answer.status_code == 201, answer.content
    receiver.secret = answer.json()["secret"]
    return answer.json()


def until(condition, tries=400):
    """Send what is due (the reconciler's housekeeping does it every minute) until `condition`."""
    for _ in range(tries):
        if condition():
            return True
        sending.deliver_due()
        time.sleep(0.02)
    return condition()


def test_a_suspension_flow_reaches_the_resellers_receiver_signed(reseller, customer, test_host, receiver):
    register(reseller, receiver)
    vm = vm_with_domain(customer, test_host, name="hook-run", power_state=PowerState.RUNNING)
    try:
        billing = client_for(reseller)
        assert billing.post(f"/api/v1/users/{customer.pk}/suspend/", {"reason": "unpaid"}).status_code == 202
        assert billing.post(f"/api/v1/users/{customer.pk}/unsuspend/").status_code == 202
    finally:
        for call in (hypervisor_for(test_host).destroy, hypervisor_for(test_host).undefine):
            try:
                call(vm.domain_name)
            except Exception:  # noqa: BLE001
                pass
    assert until(lambda: "customer.unsuspended" in receiver.types() and receiver.types().count("job.succeeded") == 2)
    assert all(valid for _, _, valid in receiver.received)
    suspended = next(p for _, p, _ in receiver.received if p["type"] == "customer.suspended")
    assert suspended["data"] == {"customer": {"id": customer.pk, "username": customer.username}, "reason": "unpaid"}
    jobs = [p["data"]["job"]["kind"] for _, p, _ in receiver.received if p["type"] == "job.succeeded"]
    assert sorted(jobs) == ["customer_suspend", "customer_unsuspend"]
    headers = receiver.received[0][0]
    assert headers["VMM-Event"] == receiver.received[0][1]["type"] and headers["VMM-Delivery"].isdigit()
    states = [p["data"]["vm"]["power_state"] for _, p, _ in receiver.received if p["type"] == "vm.state_changed"]
    assert "stopped" in states and states[-1] == "running"
    assert {p["data"]["vm"]["in_rescue"] for _, p, _ in receiver.received if p["type"] == "vm.state_changed"} == {False}


def test_a_receiver_answering_500_three_times_gets_it_on_the_fourth_try(admin_user, receiver):
    register(admin_user, receiver, ["job.failed"])
    receiver.answers = [500, 500, 500]
    emit_now("job.failed", admin_user, {"job": {"id": "x"}})
    hook = Delivery.objects.get()
    assert until(lambda: Delivery.objects.get(pk=hook.pk).status == DeliveryStatus.DELIVERED)
    hook.refresh_from_db()
    assert (hook.attempts, hook.response_code, hook.response_excerpt) == (4, 200, "ok")
    assert len(receiver.received) == 4 and all(valid for _, _, valid in receiver.received)
    assert len({payload["id"] for _, payload, _ in receiver.received}) == 1


def emit_now(event_type, owner, data):
    from django.db import transaction

    with transaction.atomic():
        emit(event_type, owner, data)


def test_an_address_outside_the_allow_list_is_refused_when_saved(reseller, receiver):
    api = client_for(reseller)
    for url in ("http://127.0.0.2:8080/hook", "http://169.254.169.254/latest", "http://10.1.2.3/", "ftp://127.0.0.1/"):
        answer = api.post("/api/v1/webhooks/", {"url": url, "events": ["vm.created"]}, format="json")
        assert answer.status_code == 400, url
        assert [e["field"] for e in answer.json()["errors"]] == ["url"], url
    assert not Endpoint.objects.exists()


def test_the_allow_list_is_checked_again_at_delivery(settings, admin_user, receiver):
    register(admin_user, receiver, ["job.failed"])
    settings.VMM_WEBHOOK_ALLOWED_NETWORKS = []  # the name now points somewhere not allowed
    emit_now("job.failed", admin_user, {"job": {"id": "y"}})
    hook = Delivery.objects.get()
    assert hook.status == DeliveryStatus.PENDING and "may not be sent to" in hook.error
    assert receiver.received == []


def test_the_delivery_log_and_resending_by_hand(reseller, customer, receiver):
    endpoint = register(reseller, receiver, ["customer.suspended"])
    client_for(reseller).post(f"/api/v1/users/{customer.pk}/suspend/")
    assert until(lambda: len(receiver.received) == 1)
    api = client_for(reseller)
    log = api.get(f"/api/v1/webhook-deliveries/?endpoint={endpoint['id']}").json()["results"]
    assert [(d["event_type"], d["status"], d["response_code"]) for d in log] == [
        ("customer.suspended", "delivered", 200)
    ]
    assert log[0]["payload"]["data"]["customer"]["id"] == customer.pk
    again = api.post(f"/api/v1/webhook-deliveries/{log[0]['id']}/resend/")
    assert again.status_code == 202 and again.json()["resent_from"] == log[0]["id"]
    assert until(lambda: len(receiver.received) == 2)
    assert receiver.received[0][1] == receiver.received[1][1]  # the same event, byte for byte


def test_only_staff_and_resellers_have_endpoints_each_their_own(reseller, customer, admin_user, receiver):
    assert (
        client_for(customer).post("/api/v1/webhooks/", {"url": receiver.url, "events": ["vm.created"]}).status_code
        == 403
    )
    mine = register(admin_user, receiver, ["vm.created"])
    assert client_for(reseller).get(f"/api/v1/webhooks/{mine['id']}/").status_code == 404
    assert client_for(reseller).get("/api/v1/webhooks/").json()["results"] == []
