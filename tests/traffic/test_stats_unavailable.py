"""The minute's traffic round never waits for the statistics tables: with them locked (a
collector stuck in its write) it gives up after its statement timeout, logs it and leaves
the panel's figures as they were; the VM page and the API do not read them at all."""

import time
from contextlib import contextmanager

import pytest
from django.test import Client

from apps.traffic import enforcement
from apps.traffic.models import TrafficPeriod
from tests.api.conftest import client_for
from tests.table_locks import tables_locked
from tests.traffic.conftest import transferred

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def locked_traffic_tables():
    """Another connection holds the monthly totals table locked, as a stuck collector would."""
    with tables_locked("stats_trafficmonth"):
        yield


def test_a_locked_statistics_table_stops_the_round_not_the_panel(limited_vm, customer, monkeypatch):
    transferred(limited_vm, 11, 0)
    enforcement.housekeeping()
    assert TrafficPeriod.objects.get(vm=limited_vm).used_bytes == 11 * 2**30
    transferred(limited_vm, 12, 0)
    monkeypatch.setattr(enforcement, "STATS_TIMEOUT_MS", 300)
    with locked_traffic_tables():
        began = time.monotonic()
        enforcement.housekeeping()
        assert time.monotonic() - began < 5
        assert client_for(customer).get(f"/api/v1/vms/{limited_vm.pk}/").json()["traffic"]["used_bytes"] == 11 * 2**30
        page = Client()
        page.force_login(customer)
        assert page.get(f"/vms/{limited_vm.pk}/").status_code == 200
    enforcement.housekeeping()
    assert TrafficPeriod.objects.get(vm=limited_vm).used_bytes == 12 * 2**30
