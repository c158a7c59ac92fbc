"""Monthly traffic limits end to end on libvirt's test driver, jobs run in this process: the
minute's round (apps.traffic.enforcement.housekeeping) copies the month's totals, warns at
80 % and acts at 100 % once per VM and month (e-mail, signed webhook to a real receiver,
the interface throttled live or the VM suspended), the new month lifts it, staff lift it
through the API; the figures in the API and on the VM page."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.accounts.plans import TrafficAction
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import Job, JobStatus
from apps.stats.traffic import month_of, month_start, next_month
from apps.traffic.enforcement import TRAFFIC_REASON, housekeeping
from apps.traffic.models import TrafficPeriod
from apps.traffic.operations.vm_traffic_throttle import kib_per_s
from apps.virt.types import DomainState
from apps.vms.models import VirtualMachine
from apps.webhooks.models import Event
from tests.api.conftest import client_for
from tests.traffic.conftest import GIB, transferred

pytestmark = pytest.mark.django_db(transaction=True)


def next_month_start():
    return month_start(next_month(month_of(timezone.now()))) + timedelta(minutes=5)


def bandwidth(vm):
    return hypervisor_for(vm.host).interface_bandwidth(vm.domain_name, vm.mac_address)


def jobs(kind):
    return list(Job.objects.filter(kind=kind).values_list("status", flat=True))


def subjects():
    return [message.subject for message in mail.outbox]


def traffic_of(vm, user):
    answer = client_for(user).get(f"/api/v1/vms/{vm.pk}/")
    assert answer.status_code == 200, answer.content
    return answer.json()["traffic"]


def test_under_80_percent_the_figures_are_copied_and_nothing_happens(limited_vm, customer):
    transferred(limited_vm, 5, 2.9)
    housekeeping()
    data = traffic_of(limited_vm, customer)
    assert data["month"] == timezone.now().strftime("%Y-%m")
    assert (data["rx_bytes"], data["tx_bytes"], data["used_bytes"]) == (5 * GIB, int(2.9 * GIB), int(7.9 * GIB))
    assert (data["limit_bytes"], data["state"], data["action"]) == (10 * GIB, "ok", "throttle")
    assert data["synced_at"] is not None
    assert mail.outbox == [] and Event.objects.count() == 0 and Job.objects.count() == 0


def test_80_percent_warns_once_by_mail_and_signed_webhook(limited_vm, customer, reseller, receiver):
    hook = {"url": receiver.url, "events": ["traffic.warning", "traffic.limit_reached"]}
    answer = client_for(reseller).post("/api/v1/webhooks/", hook, format="json")
    receiver.secret = answer.json()["secret"]
    transferred(limited_vm, 6, 2.5)
    housekeeping()
    housekeeping()  # the next minute: nothing again
    assert subjects() == [f"Your VM {limited_vm.name} has used 80 % of its monthly traffic"]
    assert "8.5 GiB" in mail.outbox[0].body and "10 GiB" in mail.outbox[0].body
    assert mail.outbox[0].to == ["c1@example.com"]
    assert receiver.types() == ["traffic.warning"] and all(valid for _, _, valid in receiver.received)
    payload = receiver.received[0][1]["data"]
    assert payload["vm"]["id"] == limited_vm.pk
    assert payload["traffic"] == {
        "month": timezone.now().strftime("%Y-%m"),
        "rx_bytes": 6 * GIB,
        "tx_bytes": int(2.5 * GIB),
        "used_bytes": int(8.5 * GIB),
        "limit_bytes": 10 * GIB,
    }
    assert traffic_of(limited_vm, customer)["state"] == "warning"
    assert Job.objects.count() == 0


def test_the_warning_mail_is_optional_the_limit_mail_is_not(limited_vm, customer):
    customer.email_notices = False
    customer.language = "ru"
    customer.save()
    transferred(limited_vm, 9, 2)
    housekeeping()
    assert len(mail.outbox) == 1
    assert "достигла месячного лимита трафика" in mail.outbox[0].subject
    assert "20 Мбит/с" in mail.outbox[0].body


def test_past_the_limit_the_interface_is_throttled_live_once(limited_vm, customer, reseller, receiver):
    hook = {"url": receiver.url, "events": ["traffic.limit_reached"]}
    answer = client_for(reseller).post("/api/v1/webhooks/", hook, format="json")
    receiver.secret = answer.json()["secret"]
    assert bandwidth(limited_vm) == (0, 0)
    transferred(limited_vm, 7, 4)
    housekeeping()
    housekeeping()
    assert jobs("vm_traffic_throttle") == [JobStatus.SUCCEEDED]
    assert bandwidth(limited_vm) == (kib_per_s(20), kib_per_s(20)) == (2441, 2441)
    assert hypervisor_for(limited_vm.host).get_domain(limited_vm.domain_name).state == DomainState.RUNNING
    assert subjects() == [
        f"Your VM {limited_vm.name} has used 80 % of its monthly traffic",
        f"Your VM {limited_vm.name} has reached its monthly traffic limit",
    ]
    assert "20 Mbit/s" in mail.outbox[1].body
    assert receiver.types() == ["traffic.limit_reached"]
    assert receiver.received[0][1]["data"]["action"] == "throttle"
    data = traffic_of(limited_vm, customer)
    assert (data["state"], data["used_bytes"]) == ("throttled", 11 * GIB)


def test_a_busy_vm_is_throttled_at_the_next_round(limited_vm, customer):
    running = Job.objects.create(kind="vm_reboot", target=limited_vm, owner=customer, request_id="r-busy")
    VirtualMachine.objects.filter(pk=limited_vm.pk).update(current_job=running)
    transferred(limited_vm, 10, 1)
    housekeeping()
    assert jobs("vm_traffic_throttle") == [] and bandwidth(limited_vm) == (0, 0)
    assert traffic_of(limited_vm, customer)["state"] == "reached"
    VirtualMachine.objects.filter(pk=limited_vm.pk).update(current_job=None)
    housekeeping()
    assert jobs("vm_traffic_throttle") == [JobStatus.SUCCEEDED] and bandwidth(limited_vm) != (0, 0)
    assert len([s for s in subjects() if "reached" in s]) == 1


def test_a_host_that_cannot_throttle_shows_it_and_is_not_asked_every_minute(limited_vm, admin_user, customer):
    VirtualMachine.objects.filter(pk=limited_vm.pk).update(mac_address="52:54:00:aa:17:99")  # no such NIC
    transferred(limited_vm, 11, 0)
    housekeeping()
    housekeeping()
    assert jobs("vm_traffic_throttle") == [JobStatus.FAILED]
    assert traffic_of(limited_vm, customer)["state"] == "failed"
    answer = client_for(admin_user).post(f"/api/v1/vms/{limited_vm.pk}/lift-traffic-limit/")
    assert (answer.status_code, answer.json()["job"]) == (200, None)
    assert answer.json()["vm"]["traffic"]["state"] == "lifted"


def test_a_resize_or_reinstall_does_not_shake_off_the_throttle(limited_vm, customer):
    transferred(limited_vm, 11, 0)
    housekeeping()
    # A resize redefines the domain without the <bandwidth> (as here by hand) and then ends.
    hypervisor_for(limited_vm.host).set_interface_bandwidth(limited_vm.domain_name, limited_vm.mac_address, 0)
    Job.objects.create(
        kind="vm_resize", target=limited_vm, owner=customer, request_id="r-resize", status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
    )  # fmt: skip
    housekeeping()
    housekeeping()
    assert jobs("vm_traffic_throttle") == [JobStatus.SUCCEEDED, JobStatus.SUCCEEDED]
    assert bandwidth(limited_vm) == (2441, 2441)


def test_the_new_month_frees_the_network(limited_vm):
    transferred(limited_vm, 11, 0)
    housekeeping()
    assert bandwidth(limited_vm) != (0, 0)
    housekeeping(next_month_start())
    housekeeping(next_month_start())
    assert jobs("vm_traffic_unthrottle") == [JobStatus.SUCCEEDED]
    assert bandwidth(limited_vm) == (0, 0)
    period = TrafficPeriod.objects.get(vm=limited_vm, month=month_of(timezone.now()))
    assert period.lifted_at is not None and period.lifted_by is None


def test_the_suspend_action_suspends_with_the_reason_and_the_new_month_lifts_it(limited_vm, plan, customer):
    plan.traffic_action = TrafficAction.SUSPEND
    plan.save()
    transferred(limited_vm, 0, 10)
    housekeeping()
    limited_vm.refresh_from_db()
    assert limited_vm.suspended_at is not None and limited_vm.suspension_reason == TRAFFIC_REASON
    assert jobs("vm_billing_suspend") == [JobStatus.SUCCEEDED]
    driver = hypervisor_for(limited_vm.host)
    assert driver.get_domain(limited_vm.domain_name).state == DomainState.SHUTOFF
    assert traffic_of(limited_vm, customer)["state"] == "suspended"
    refused = client_for(customer).post(f"/api/v1/vms/{limited_vm.pk}/start/")
    assert refused.status_code == 400 and TRAFFIC_REASON in refused.json()["errors"][0]["message"]
    assert any("suspended until the month ends" in message.body for message in mail.outbox)

    housekeeping(next_month_start())
    limited_vm.refresh_from_db()
    assert limited_vm.suspended_at is None
    assert jobs("vm_billing_unsuspend") == [JobStatus.SUCCEEDED]
    assert driver.get_domain(limited_vm.domain_name).state == DomainState.RUNNING


def test_a_suspension_for_non_payment_is_not_lifted_with_the_traffic_limit(limited_vm, plan, reseller):
    plan.traffic_action = TrafficAction.SUSPEND
    plan.save()
    billing = client_for(reseller)
    assert billing.post(f"/api/v1/vms/{limited_vm.pk}/billing-suspend/", {"reason": "unpaid"}).status_code == 202
    transferred(limited_vm, 0, 12)
    housekeeping()
    housekeeping(next_month_start())
    limited_vm.refresh_from_db()
    assert limited_vm.suspension_reason == "unpaid" and limited_vm.suspended_at is not None
    assert jobs("vm_billing_unsuspend") == []


def test_staff_lift_the_limit_for_the_month_and_it_stays_lifted(limited_vm, admin_user, customer, other_customer):
    transferred(limited_vm, 11, 0)
    housekeeping()
    assert bandwidth(limited_vm) != (0, 0)
    url = f"/api/v1/vms/{limited_vm.pk}/lift-traffic-limit/"
    assert client_for(customer).post(url).status_code == 403
    assert client_for(other_customer).post(url).status_code == 404
    answer = client_for(admin_user).post(url)
    assert answer.status_code == 202, answer.content
    assert answer.json()["job"]["kind"] == "vm_traffic_unthrottle"
    assert answer.json()["vm"]["traffic"]["state"] == "lifted"
    assert bandwidth(limited_vm) == (0, 0)
    again = client_for(admin_user).post(url)
    assert (again.status_code, again.json()["job"]) == (200, None)
    transferred(limited_vm, 15, 0)
    housekeeping()
    assert jobs("vm_traffic_throttle") == [JobStatus.SUCCEEDED] and bandwidth(limited_vm) == (0, 0)
    period = TrafficPeriod.objects.get(vm=limited_vm)
    assert period.lifted_by == admin_user


def test_the_api_gives_the_history_of_past_months(limited_vm, customer, other_customer):
    this_month = month_of(timezone.now())
    before = month_start(this_month) - timedelta(days=3)
    transferred(limited_vm, 1, 2, when=before)
    transferred(limited_vm, 3, 0)
    housekeeping()
    answer = client_for(customer).get(f"/api/v1/vms/{limited_vm.pk}/traffic/")
    assert answer.status_code == 200
    months = answer.json()["months"]
    assert [(m["month"], m["rx_bytes"], m["tx_bytes"]) for m in months] == [
        (this_month.strftime("%Y-%m"), 3 * GIB, 0),
        (before.strftime("%Y-%m"), GIB, 2 * GIB),
    ]
    assert client_for(other_customer).get(f"/api/v1/vms/{limited_vm.pk}/traffic/").status_code == 404


def test_a_vm_without_a_plan_has_no_limit(customer, test_host):
    vm = VirtualMachine.objects.create(name="free", owner=customer, host=test_host, status="active")
    data = traffic_of(vm, customer)
    assert (data["used_bytes"], data["limit_bytes"], data["state"], data["action"]) == (0, None, "unlimited", "")
    listed = client_for(customer).get("/api/v1/vms/").json()["results"][0]["traffic"]
    assert listed == data


def test_the_vm_page_shows_the_month_and_staff_get_the_lift_button(limited_vm, customer, admin_user):
    transferred(limited_vm, 9, 0)
    housekeeping()
    page = Client()
    page.force_login(customer)
    html = page.get(f"/vms/{limited_vm.pk}/").content.decode()
    assert "Traffic this month" in html and "9.0\xa0GB / 10.0\xa0GB (90 %)" in html
    assert "Nearing the limit (80 %)" in html and "Lift traffic limit" not in html
    page.force_login(admin_user)
    html = page.get(f"/vms/{limited_vm.pk}/").content.decode()
    assert "Lift traffic limit" in html
    answer = page.post(f"/vms/{limited_vm.pk}/traffic/lift/")
    assert answer.status_code == 302 and answer["Location"].endswith(f"/vms/{limited_vm.pk}/")
    assert "Limit lifted for this month" in page.get(f"/vms/{limited_vm.pk}/").content.decode()
