"""The series endpoints: what the graphs fetch, walled off per tenant, bad input named."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.stats.models import METRICS, HostSample, Tier, VmSample
from tests.api.conftest import client_for, make_vm

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(customer, test_host):
    return make_vm(customer, test_host, name="graphs-1")


def sample(vm, tier, at, **values):
    return VmSample.objects.create(tier=tier, at=at, vm_id=vm.pk, host_id=vm.host_id, **values)


def test_the_owner_gets_the_last_hour_of_raw_samples_as_columns(vm, customer):
    now = timezone.now()
    sample(vm, Tier.RAW, now - timedelta(minutes=90), cpu_pct=1.0)  # outside the hour
    sample(vm, Tier.RAW, now - timedelta(minutes=20), cpu_pct=10.0, memory_used_bytes=2**29)
    sample(vm, Tier.RAW, now - timedelta(minutes=10), cpu_pct=30.0, net_rx_bps=None)
    response = client_for(customer).get(f"/api/v1/vms/{vm.pk}/stats/")
    assert response.status_code == 200
    body = response.json()
    assert body["range"] == "1h" and body["tier"] == "raw" and body["points"] == 2
    columns = body["series"]
    assert set(columns) == {"t", *METRICS}
    assert columns["cpu_pct"] == [10.0, 30.0] and columns["memory_used_bytes"] == [2**29, None]
    assert columns["t"] == sorted(columns["t"]) and columns["t"][-1] == int((now - timedelta(minutes=10)).timestamp())


def test_longer_ranges_read_coarser_tiers_and_continue_with_finer_rows_up_to_now(vm, customer):
    now = timezone.now().replace(second=0, microsecond=0)
    hour_start = now.replace(minute=0) - timedelta(hours=2)
    sample(vm, Tier.HOUR, hour_start, cpu_pct=5.0)
    sample(vm, Tier.HOUR, hour_start + timedelta(hours=1), cpu_pct=6.0)
    sample(vm, Tier.MINUTE, hour_start + timedelta(hours=1, minutes=30), cpu_pct=99.0)  # inside a stored hour
    sample(vm, Tier.MINUTE, hour_start + timedelta(hours=2, minutes=1), cpu_pct=7.0)  # after the last hour
    body = client_for(customer).get(f"/api/v1/vms/{vm.pk}/stats/?range=7d").json()
    assert body["tier"] == "hour"
    assert body["series"]["cpu_pct"] == [5.0, 6.0, 7.0]


@pytest.mark.parametrize("query", ["range=5y", "range=", "range=1H", "range=%201h"])
def test_a_bad_range_is_a_400_naming_the_field(vm, customer, query):
    """Given empty it is not the default either: the schema allows no empty value."""
    response = client_for(customer).get(f"/api/v1/vms/{vm.pk}/stats/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "range"


def test_another_tenants_vm_is_404_and_its_stats_do_not_leak(vm, other_customer, reseller, admin_user):
    sample(vm, Tier.RAW, timezone.now(), cpu_pct=42.0)
    assert client_for(other_customer).get(f"/api/v1/vms/{vm.pk}/stats/").status_code == 404
    assert client_for(reseller).get(f"/api/v1/vms/{vm.pk}/stats/").json()["series"]["cpu_pct"] == [42.0]
    assert client_for(admin_user).get(f"/api/v1/vms/{vm.pk}/stats/").status_code == 200
    assert client_for(None).get(f"/api/v1/vms/{vm.pk}/stats/").status_code == 401
    assert client_for(admin_user).get("/api/v1/vms/999999/stats/").status_code == 404


def test_host_series_are_for_staff_only(test_host, admin_user, customer):
    HostSample.objects.create(tier=Tier.RAW, at=timezone.now(), host_id=test_host.pk, cpu_pct=12.5)
    response = client_for(admin_user).get(f"/api/v1/hosts/{test_host.pk}/stats/?range=1h")
    assert response.status_code == 200 and response.json()["series"]["cpu_pct"] == [12.5]
    assert client_for(customer).get(f"/api/v1/hosts/{test_host.pk}/stats/").status_code == 403


def test_with_no_samples_yet_the_answer_has_the_same_shape_and_no_points(vm, customer):
    body = client_for(customer).get(f"/api/v1/vms/{vm.pk}/stats/?range=30d").json()
    assert body["points"] == 0 and body["series"]["t"] == [] and body["series"]["cpu_pct"] == []


def test_a_read_only_token_may_read_series(vm, customer):
    assert client_for(customer, read_only=True).get(f"/api/v1/vms/{vm.pk}/stats/").status_code == 200
