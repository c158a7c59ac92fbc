"""/metrics for Prometheus: off unless a token is set, bearer-protected, current values only."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.stats.models import HostSample, Tier, VmSample
from tests.api.conftest import make_vm

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-metrics-token"


def scrape(client, token=TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get("/metrics", **headers)


def test_without_a_token_configured_metrics_are_off(client, settings):
    settings.VMM_METRICS_TOKEN = None
    assert scrape(client).status_code == 404


def test_a_missing_or_wrong_token_is_refused(client, settings):
    settings.VMM_METRICS_TOKEN = TOKEN
    for token in (None, "wrong"):
        response = scrape(client, token)
        assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_current_values_of_vms_and_hosts_in_the_exposition_format(client, settings, customer, test_host):
    settings.VMM_METRICS_TOKEN = TOKEN
    settings.VMM_STATS_INTERVAL = 10
    vm = make_vm(customer, test_host, name="prom-1")
    gone = make_vm(customer, test_host, name="prom-2")
    now = timezone.now()
    VmSample.objects.create(
        tier=Tier.RAW, at=now - timedelta(seconds=12), vm_id=vm.pk, host_id=test_host.pk, cpu_pct=10.0
    )
    VmSample.objects.create(
        tier=Tier.RAW, at=now - timedelta(seconds=2), vm_id=vm.pk, host_id=test_host.pk, cpu_pct=20.0, net_rx_bps=1e6
    )
    # Not swept for minutes (collector stopped for its host): not current, not exported.
    VmSample.objects.create(
        tier=Tier.RAW, at=now - timedelta(minutes=5), vm_id=gone.pk, host_id=test_host.pk, cpu_pct=5.0
    )
    HostSample.objects.create(tier=Tier.RAW, at=now - timedelta(seconds=2), host_id=test_host.pk, cpu_pct=33.0)
    response = scrape(client)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }
    labels = (("host", test_host.name), ("vm", str(vm.uuid)), ("vm_id", str(vm.pk)))
    assert samples[("vmm_vm_cpu_percent", labels)] == 20.0  # the newest row
    assert samples[("vmm_vm_network_receive_bytes_per_second", labels)] == 1e6
    assert samples[("vmm_host_cpu_percent", (("host", test_host.name),))] == 33.0
    assert not [key for key in samples if ("vm_id", str(gone.pk)) in key[1]]
    assert ("vmm_vm_disk_read_bytes_per_second", labels) not in samples  # unknown is absent, not 0
