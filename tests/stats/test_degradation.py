"""With the collector stopped, never started or stale, everything else works as before:
pages, the API and jobs never wait for statistics, and pages never read them at all."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.stats.models import HostSample, Tier, VmSample
from tests.api.conftest import client_for, make_vm
from tests.table_locks import tables_locked

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(customer, test_host):
    return make_vm(customer, test_host, name="quiet-1")


def test_pages_render_the_graph_card_without_reading_the_statistics_tables(client, admin_user, vm, test_host):
    client.force_login(admin_user)
    for url in (reverse("ui:vm_detail", args=[vm.pk]), reverse("ui:host_detail", args=[test_host.pk])):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert 'class="card stats-card"' in page and "No statistics for this period yet" in page
        assert "vendor/uplot/uPlot.iife.min.js" in page
        assert not [q["sql"] for q in queries if "stats_" in q["sql"]], url


def test_the_vm_page_links_its_own_series_and_the_host_page_the_hosts(client, admin_user, vm, test_host):
    client.force_login(admin_user)
    assert (
        f'data-stats-url="/api/v1/vms/{vm.pk}/stats/"'
        in client.get(reverse("ui:vm_detail", args=[vm.pk])).content.decode()
    )
    host_page = client.get(reverse("ui:host_detail", args=[test_host.pk])).content.decode()
    assert f'data-stats-url="/api/v1/hosts/{test_host.pk}/stats/"' in host_page


def test_a_customers_page_shows_graphs_in_russian_too(client, customer, vm):
    client.force_login(customer)
    page = client.get(reverse("ui:vm_detail", args=[vm.pk]), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Статистика" in page and "За этот период статистики пока нет" in page


def test_stale_statistics_from_a_collector_that_stopped_an_hour_ago_change_nothing_else(vm, customer, test_host):
    old = timezone.now() - timedelta(hours=2)
    VmSample.objects.create(tier=Tier.RAW, at=old, vm_id=vm.pk, host_id=test_host.pk, cpu_pct=50.0)
    HostSample.objects.create(tier=Tier.RAW, at=old, host_id=test_host.pk, cpu_pct=50.0)
    api = client_for(customer)
    assert api.get("/api/v1/vms/").json()["results"][0]["id"] == vm.pk
    body = api.get(f"/api/v1/vms/{vm.pk}/stats/").json()
    assert body["points"] == 0  # nothing in the last hour: the graph says "no statistics"
    assert api.get(f"/api/v1/vms/{vm.pk}/stats/?range=24h").json()["points"] == 1  # the raw tail


@pytest.fixture
def stuck_collector_write():
    """Another connection holds an exclusive lock on the statistics tables inside an open
    transaction, as a collector stuck in the middle of its write (or a long prune) would."""
    with tables_locked("stats_vmsample", "stats_hostsample"):
        yield


@pytest.mark.django_db(transaction=True)
def test_jobs_pages_and_the_api_carry_on_while_the_statistics_tables_are_locked(
    stuck_collector_write, admin_user, customer, test_host, client, django_capture_on_commit_callbacks
):
    vm = make_vm(customer, test_host, name="quiet-2")
    began = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        job = runner.submit("host_refresh", test_host, actor=admin_user, request_id="r-stats-degrade")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert client_for(customer).get("/api/v1/vms/").json()["results"][0]["id"] == vm.pk
    client.force_login(customer)
    assert client.get(reverse("ui:vm_detail", args=[vm.pk])).status_code == 200
    assert time.monotonic() - began < 10  # nothing waited for the lock (its holder waits 30 s)
