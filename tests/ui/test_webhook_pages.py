"""Changing and deleting a webhook endpoint on its pages (the rules are
apps.webhooks.services'; both doors alike: tests/doors)."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(reseller):
    return Endpoint.objects.create(
        owner=reseller, url="https://203.0.113.5/hook", description="billing", events=["vm.created"]
    )


@pytest.fixture
def page(reseller, settings):
    settings.VMM_WEBHOOK_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    client = Client()
    client.force_login(reseller)
    return client


def test_the_endpoint_page_offers_change_and_delete_and_the_form_shows_what_it_is(page, endpoint):
    detail = page.get(reverse("ui:webhook_detail", args=[endpoint.pk])).content.decode()
    assert reverse("ui:webhook_edit", args=[endpoint.pk]) in detail
    assert reverse("ui:webhook_delete", args=[endpoint.pk]) in detail
    form = page.get(reverse("ui:webhook_edit", args=[endpoint.pk])).context["form"]
    assert form.initial == {
        "url": "https://203.0.113.5/hook", "description": "billing", "events": ["vm.created"], "is_active": True,
    }  # fmt: skip


def test_a_change_is_saved_and_a_refused_url_says_why_on_its_field(page, endpoint):
    url = reverse("ui:webhook_edit", args=[endpoint.pk])
    refused = page.post(url, {"url": "http://127.0.0.1/x", "events": ["vm.created"], "is_active": "on"})
    assert "may not be sent to" in refused.context["form"].errors["url"][0]
    saved = page.post(url, {"url": "https://203.0.113.6/new", "events": ["traffic.limit_reached"]})
    assert saved["Location"] == reverse("ui:webhook_detail", args=[endpoint.pk])
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.is_active) == (
        "https://203.0.113.6/new", ["traffic.limit_reached"], False,
    )  # fmt: skip


def test_a_delete_removes_it_and_someone_else_finds_nothing(page, endpoint, customer):
    other = Client()
    other.force_login(customer)
    assert other.post(reverse("ui:webhook_delete", args=[endpoint.pk])).status_code == 404
    assert other.get(reverse("ui:webhook_edit", args=[endpoint.pk])).status_code == 404
    assert page.post(reverse("ui:webhook_delete", args=[endpoint.pk]))["Location"] == reverse("ui:webhook_list")
    assert not Endpoint.objects.exists()
