"""Idempotency-Key retries and quota enforcement, including under real concurrency
(threads against PostgreSQL, each with its own connection)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.accounts.quotas import Quota
from apps.api.models import IdempotencyRecord
from apps.jobs.reconcile import reconcile
from apps.vms.models import VirtualMachine
from tests.api.conftest import client_for, codes, order


def parallel(count, call):
    """Run call(i) in `count` threads at once; each thread closes its connection."""

    def run(i):
        try:
            return call(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.django_db
def test_a_retry_with_the_same_key_returns_the_same_vm(api, customer, host, ready_image):
    client = api(customer)
    first = client.post("/api/v1/vms/", order(ready_image), HTTP_IDEMPOTENCY_KEY="order-1")
    again = client.post("/api/v1/vms/", order(ready_image), HTTP_IDEMPOTENCY_KEY="order-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert VirtualMachine.objects.count() == 1


@pytest.mark.django_db
def test_a_key_is_forgotten_by_the_reconciler_after_the_configured_hours(api, customer, host, ready_image, settings):
    settings.VMM_IDEMPOTENCY_KEY_HOURS = 24
    client = api(customer)
    client.post("/api/v1/vms/", order(ready_image), HTTP_IDEMPOTENCY_KEY="old")
    client.post("/api/v1/vms/", order(ready_image, name="web-2"), HTTP_IDEMPOTENCY_KEY="recent")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    reconcile()  # the jobs reconciler, with its housekeeping

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]
    replay = client.post("/api/v1/vms/", order(ready_image, name="web-2"), HTTP_IDEMPOTENCY_KEY="recent")
    assert replay["Idempotent-Replayed"] == "true"
    again = client.post("/api/v1/vms/", order(ready_image, name="web-3"), HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 202 and "Idempotent-Replayed" not in again  # a new call
    assert VirtualMachine.objects.count() == 3


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422(api, customer, host, ready_image):
    client = api(customer)
    client.post("/api/v1/vms/", order(ready_image), HTTP_IDEMPOTENCY_KEY="order-1")
    response = client.post("/api/v1/vms/", order(ready_image, name="web-2"), HTTP_IDEMPOTENCY_KEY="order-1")
    assert (response.status_code, codes(response)) == (422, [(None, "idempotency_key_reused")])


@pytest.mark.django_db
def test_a_failed_call_is_not_kept_so_the_key_can_be_retried(api, customer, host, ready_image):
    client = api(customer)
    bad = client.post("/api/v1/vms/", order(ready_image, password="x"), HTTP_IDEMPOTENCY_KEY="k-1")
    assert bad.status_code == 400
    good = client.post("/api/v1/vms/", order(ready_image, password="x"), HTTP_IDEMPOTENCY_KEY="k-1")
    assert good.status_code == 400  # same input, same answer: it ran again, nothing stored


@pytest.mark.django_db
def test_keys_are_per_user_and_actions_are_covered_too(api, customer, reseller, host, ready_image):
    from tests.api.conftest import make_vm

    vm = make_vm(customer, host)
    first = api(customer).post(f"/api/v1/vms/{vm.pk}/start/", HTTP_IDEMPOTENCY_KEY="start-1")
    again = api(customer).post(f"/api/v1/vms/{vm.pk}/start/", HTTP_IDEMPOTENCY_KEY="start-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["job"]["id"] == again.json()["job"]["id"]
    other = api(reseller).post(f"/api/v1/vms/{vm.pk}/start/", HTTP_IDEMPOTENCY_KEY="start-1")
    assert other.status_code == 409  # a new call for another user: the VM is busy with the first job


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_create_one_vm(customer, host, ready_image):
    raw = client_for(customer).raw_token

    def call(i):
        client = client_for(None)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client.post("/api/v1/vms/", order(ready_image), HTTP_IDEMPOTENCY_KEY="same-key")

    responses = parallel(8, call)
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["vm"]["id"] for r in responses}) == 1
    assert VirtualMachine.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_orders_against_a_quota_of_five_create_exactly_five(customer, host, ready_image):
    Quota.objects.create(user=customer, max_vms=5)
    raw = client_for(customer).raw_token

    def call(i):
        client = client_for(None)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client.post("/api/v1/vms/", order(ready_image, name=f"vm-{i}"))

    responses = parallel(20, call)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] * 5 + [400] * 15
    refused = [r for r in responses if r.status_code == 400]
    assert all(codes(r) == [("quota", "quota_exceeded")] for r in refused)
    assert "max_vms" in refused[0].json()["errors"][0]["message"]
    assert VirtualMachine.objects.filter(owner=customer).count() == 5


@pytest.mark.django_db
def test_a_resellers_quota_covers_its_customers_vms(api, reseller, customer, host, ready_image):
    Quota.objects.create(user=reseller, max_vcpus=2)
    client = api(customer)
    assert client.post("/api/v1/vms/", order(ready_image, vcpus=2)).status_code == 202
    response = client.post("/api/v1/vms/", order(ready_image, name="web-2"))
    assert codes(response) == [("quota", "quota_exceeded")]
    assert "reseller" in response.json()["errors"][0]["message"]


@pytest.mark.django_db
def test_staff_set_reseller_quotas_and_resellers_set_customers_within_their_own(
    api, admin_user, reseller, customer, other_customer
):
    admin, mine = api(admin_user), api(reseller)
    assert admin.put(f"/api/v1/quotas/{reseller.pk}/", {"max_vms": 10, "max_vcpus": 20}).status_code == 200
    assert mine.put(f"/api/v1/quotas/{reseller.pk}/", {"max_vms": 99}).status_code == 403
    too_big = mine.put(f"/api/v1/quotas/{customer.pk}/", {"max_vms": 11, "max_vcpus": 4})
    assert (too_big.status_code, codes(too_big)) == (400, [("max_vms", "invalid")])
    unlimited = mine.put(f"/api/v1/quotas/{customer.pk}/", {"max_vms": 5})
    assert {field for field, _ in codes(unlimited)} == {"max_vcpus"}
    assert mine.put(f"/api/v1/quotas/{customer.pk}/", {"max_vms": 5, "max_vcpus": 4}).status_code == 200
    assert mine.put(f"/api/v1/quotas/{other_customer.pk}/", {"max_vms": 1}).status_code == 404
    assert api(customer).put(f"/api/v1/quotas/{customer.pk}/", {"max_vms": 99}).status_code == 403
    assert api(customer).get(f"/api/v1/quotas/{customer.pk}/").json()["max_vms"] == 5
    assert api(customer).get(f"/api/v1/quotas/{customer.pk}/usage/").json()["vms"] == 0


@pytest.mark.django_db
def test_growing_a_vm_counts_against_the_quota(api, customer, host):
    from tests.api.conftest import make_vm

    Quota.objects.create(user=customer, max_vcpus=2)
    vm = make_vm(customer, host, vcpus=1)
    response = api(customer).post(f"/api/v1/vms/{vm.pk}/resize/", {"vcpus": 4})
    assert codes(response) == [("quota", "quota_exceeded")]
