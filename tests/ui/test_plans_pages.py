"""Plans pages (staff only): create, change, retire and delete a plan; the order form offers
the active plans only."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.plans import Plan

SMALL = {"name": "small", "vcpus": "1", "memory_mb": "1024", "disk_gb": "10", "price_code": "S-1", "is_active": "on"}


@pytest.mark.parametrize("name", ["ui:plan_list", "ui:plan_create"])
def test_customers_and_resellers_do_not_find_the_plans_pages(client, customer, reseller, name):
    for user in (customer, reseller):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == 404


def test_staff_create_a_plan_the_order_form_offers(as_admin, customer):
    response = as_admin.post(reverse("ui:plan_create"), SMALL)
    assert response["Location"] == reverse("ui:plan_list")
    plan = Plan.objects.get(name="small")
    assert (plan.vcpus, plan.memory_mb, plan.disk_gb, plan.price_code, plan.is_active) == (1, 1024, 10, "S-1", True)
    assert "S-1" in as_admin.get(reverse("ui:plan_list")).content.decode()

    client = Client()
    client.force_login(customer)
    assert "small" in client.get(reverse("ui:vm_create")).content.decode()


def test_a_retired_plan_is_not_offered(as_admin, customer):
    plan = Plan.objects.create(name="old-size", vcpus=2, memory_mb=2048, disk_gb=20)
    as_admin.post(reverse("ui:plan_edit", args=[plan.pk]), {**SMALL, "name": "old-size", "is_active": ""})
    assert not Plan.objects.get(pk=plan.pk).is_active

    client = Client()
    client.force_login(customer)
    assert "old-size" not in client.get(reverse("ui:vm_create")).content.decode()


def test_refusals_show_on_their_fields(as_admin):
    Plan.objects.create(name="small", vcpus=1, memory_mb=1024, disk_gb=10)
    taken = as_admin.post(reverse("ui:plan_create"), SMALL)
    assert taken.context["form"].errors["name"] == ["A plan with this name already exists."]
    too_big = as_admin.post(reverse("ui:plan_create"), {**SMALL, "name": "huge", "vcpus": "65"})
    assert too_big.context["form"].errors["vcpus"]
    assert Plan.objects.count() == 1


def test_staff_delete_a_plan(as_admin):
    plan = Plan.objects.create(name="small", vcpus=1, memory_mb=1024, disk_gb=10)
    as_admin.post(reverse("ui:plan_delete", args=[plan.pk]))
    assert not Plan.objects.exists()
