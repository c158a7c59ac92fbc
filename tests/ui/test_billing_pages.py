"""The billing pages: a suspended VM says why (in the customer's language) and the customer
gets no suspension buttons while its reseller does; webhooks are for staff and resellers,
and an endpoint's page shows its secret and delivery log."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.webhooks.models import Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_suspended_vm_tells_its_customer_why(customer, reseller, my_vm):
    type(my_vm).objects.filter(pk=my_vm.pk).update(suspended_at=timezone.now(), suspension_reason="invoice 42")
    page = signed_in(customer).get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    assert "data-suspended" in page and "invoice 42" in page
    assert reverse("ui:vm_billing_unsuspend", args=[my_vm.pk]) not in page
    russian = signed_in(customer).get(reverse("ui:vm_detail", args=[my_vm.pk]), HTTP_ACCEPT_LANGUAGE="ru")
    assert "Приостановлена." in russian.content.decode()
    theirs = signed_in(reseller).get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    assert reverse("ui:vm_billing_unsuspend", args=[my_vm.pk]) in theirs


def test_the_reseller_is_offered_suspension_and_the_customer_is_not(customer, reseller, my_vm):
    url = reverse("ui:vm_billing_suspend", args=[my_vm.pk])
    assert url in signed_in(reseller).get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    assert url not in signed_in(customer).get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    assert signed_in(customer).get(url).status_code == 403
    assert signed_in(reseller).get(url).status_code == 200


def test_webhooks_are_for_staff_and_resellers(settings, customer, reseller):
    settings.VMM_WEBHOOK_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert signed_in(customer).get(reverse("ui:webhook_list")).status_code == 404
    client = signed_in(reseller)
    refused = client.post(reverse("ui:webhook_add"), {"url": "http://127.0.0.1/", "events": ["vm.created"]})
    assert refused.context["form"].errors["url"]
    added = client.post(reverse("ui:webhook_add"), {"url": "https://203.0.113.7/h", "events": ["vm.created"]})
    endpoint = Endpoint.objects.get()
    assert added["Location"] == reverse("ui:webhook_detail", args=[endpoint.pk])
    event = Event.objects.create(type="vm.created", owner=customer, body="{}")
    Delivery.objects.create(endpoint=endpoint, event=event, status="failed", attempts=9, error="timed out")
    page = client.get(added["Location"]).content.decode()
    assert endpoint.secret in page and "timed out" in page
    assert "https://203.0.113.7/h" in client.get(reverse("ui:webhook_list")).content.decode()


def test_a_user_sets_the_language_of_its_notices_and_turns_the_optional_ones_off(customer):
    client = signed_in(customer)
    assert client.get(reverse("ui:notice_settings")).status_code == 200
    answer = client.post(reverse("ui:notice_settings"), {"language": "ru"})
    assert answer.status_code == 302
    customer.refresh_from_db()
    assert (customer.language, customer.email_notices) == ("ru", False)
