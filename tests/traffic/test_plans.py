"""A plan's traffic terms (limit in GiB, in + out; throttle or suspend; the throttled rate)
through the API and the plans page, and the plan a VM is ordered by (API and order form)
being the one whose limit applies to it."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.plans import Plan
from apps.vms.models import VirtualMachine
from tests.api.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def jobs_stay_queued(monkeypatch):
    monkeypatch.setattr("apps.jobs.runner.enqueue", lambda job, sync=None: None)


@pytest.fixture
def as_admin(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def room(test_host):
    test_host.cpus, test_host.memory_mb, test_host.disk_bytes = 8, 16384, 200 * 2**30
    test_host.save()
    return test_host


def test_staff_set_the_traffic_terms_through_the_api(admin_user, customer):
    staff = client_for(admin_user)
    body = {"name": "t-1", "vcpus": 1, "memory_mb": 512, "disk_gb": 5, "traffic_limit_gb": 1000}
    created = staff.post("/api/v1/plans/", body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["traffic_limit_gb"], data["traffic_action"], data["traffic_throttle_mbit"]) == (1000, "throttle", 10)
    changed = staff.patch(f"/api/v1/plans/{data['id']}/", {"traffic_action": "suspend"}, format="json")
    assert changed.json()["traffic_action"] == "suspend"
    refused = staff.patch(f"/api/v1/plans/{data['id']}/", {"traffic_throttle_mbit": 0}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "traffic_throttle_mbit"
    none = staff.patch(f"/api/v1/plans/{data['id']}/", {"traffic_limit_gb": None}, format="json")
    assert none.json()["traffic_limit_gb"] is None
    assert client_for(customer).patch(f"/api/v1/plans/{data['id']}/", {"traffic_limit_gb": 5}).status_code == 403


def test_the_plans_page_sets_and_shows_the_terms(as_admin):
    form = {"name": "t-2", "vcpus": 1, "memory_mb": 512, "disk_gb": 5, "is_active": "on", "traffic_limit_gb": 250,
            "traffic_action": "throttle", "traffic_throttle_mbit": 50}  # fmt: skip
    assert as_admin.post(reverse("ui:plan_create"), form).status_code == 302
    plan = Plan.objects.get(name="t-2")
    assert (plan.traffic_limit_gb, plan.traffic_action, plan.traffic_throttle_mbit) == (250, "throttle", 50)
    assert "250 GiB, throttle the network (50 Mbit/s)" in as_admin.get(reverse("ui:plan_list")).content.decode()


def test_a_vm_ordered_by_a_plan_keeps_it_through_either_door(customer, room, ready_image):
    plan = Plan.objects.create(name="t-3", vcpus=1, memory_mb=512, disk_gb=5, traffic_limit_gb=100)
    order = {"name": "by-api", "image": ready_image.pk, "plan": plan.pk, "password": PASSWORD}
    answer = client_for(customer).post("/api/v1/vms/", order, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["vm"]["plan"] == plan.pk
    assert answer.json()["vm"]["traffic"]["limit_bytes"] == 100 * 2**30

    page = Client()
    page.force_login(customer)
    assert f'data-size-plan="{plan.pk}"' in page.get(reverse("ui:vm_create")).content.decode()
    form = {"name": "by-page", "image": ready_image.pk, "plan": plan.pk, "vcpus": 1, "memory_mb": 512, "disk_gb": 5,
            "password": PASSWORD}  # fmt: skip
    assert page.post(reverse("ui:vm_create"), form).status_code == 302
    assert VirtualMachine.objects.get(name="by-page").plan == plan
