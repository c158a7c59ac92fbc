"""Hosts carry the panel's networks (apps.ipam.host_networks): staff set a network up on a
host that carries it, from the host page, the API, the admin (attaching the host) or
manage.py; the host_network_setup job defines the libvirt network from the network's kind
and pools, starts it and has it start at boot, and does nothing more when run again. On
libvirt's test driver (test:///default supports networks); the host check names the
network while the host lacks it."""

import itertools
import os
import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.hosts.services import refresh_host
from apps.ipam.host_networks import network_spec, set_up_on_host
from apps.ipam.models import Ipv6Mode, Network, NetworkKind
from apps.ipam.pools import create_pool
from apps.jobs import runner
from apps.jobs.models import Job, JobStatus
from apps.virt.errors import NotFound
from apps.virt.network_xml import build_network_xml

_names = itertools.count()


@pytest.fixture
def net_name(test_host):
    """A libvirt network name of this test's own on the test driver, removed after it."""
    name = f"vmmt-net-{os.getpid()}-{next(_names)}"
    yield name
    try:
        hypervisor_for(test_host).remove_network(name)
    except NotFound:
        pass


@pytest.fixture
def network(test_host, net_name):
    network = Network.objects.create(name="public", kind=NetworkKind.ISOLATED, libvirt_network=net_name)
    network.hosts.add(test_host)
    create_pool(network=network, name="v4", subnet="198.51.100.0/24", gateway="198.51.100.1")
    create_pool(network=network, name="v6", subnet="2001:db8::/56", gateway="2001:db8::1", ipv6_mode=Ipv6Mode.PREFIX64)
    return network


def xml_of(network):
    return ET.fromstring(build_network_xml(network_spec(network)))


def test_an_isolated_network_has_no_forwarding_no_dns_and_the_pools_gateways_on_its_bridge(network):
    root = xml_of(network)
    assert root.findtext("name") == network.libvirt_network
    assert root.find("forward") is None
    assert root.find("dns").get("enable") == "no" and root.find("ip/dhcp") is None
    ips = [(ip.get("family"), ip.get("address"), ip.get("prefix")) for ip in root.findall("ip")]
    assert ips == [(None, "198.51.100.1", "24"), ("ipv6", "2001:db8::1", "56")]


@pytest.mark.parametrize(("kind", "mode"), [(NetworkKind.NAT, "nat"), (NetworkKind.ROUTED, "route")])
def test_nat_and_routed_networks_forward_through_the_host(network, kind, mode):
    Network.objects.filter(pk=network.pk).update(kind=kind, bridge="vmmbr0")
    network.refresh_from_db()
    root = xml_of(network)
    assert root.find("forward").get("mode") == mode
    assert root.find("bridge").get("name") == "vmmbr0"
    assert [ip.get("address") for ip in root.findall("ip")] == ["198.51.100.1", "2001:db8::1"]


def test_a_bridged_network_puts_guests_on_the_existing_host_bridge(network):
    Network.objects.filter(pk=network.pk).update(kind=NetworkKind.BRIDGED, bridge="br0")
    network.refresh_from_db()
    root = xml_of(network)
    assert root.find("forward").get("mode") == "bridge" and root.find("bridge").get("name") == "br0"
    assert root.find("ip") is None and root.find("dns") is None


def test_there_is_nothing_to_make_for_a_host_bridge_or_a_bridged_network_without_one(network):
    Network.objects.filter(pk=network.pk).update(kind=NetworkKind.BRIDGED, bridge="")
    network.refresh_from_db()
    with pytest.raises(ValidationError) as bridged:
        network_spec(network)
    assert "names no host bridge" in bridged.value.message_dict["network"][0]
    bare = Network(name="lan", kind=NetworkKind.BRIDGED, bridge="br0")
    with pytest.raises(ValidationError) as bridge_only:
        network_spec(bare)
    assert "is the host bridge br0" in bridge_only.value.message_dict["network"][0]


def test_the_job_makes_the_host_carry_the_network_and_the_host_check_stops_naming_it(network, test_host, admin_user):
    driver = hypervisor_for(test_host)
    name = network.libvirt_network
    host = refresh_host(test_host)
    assert host.status == HostStatus.UNREACHABLE and f"'{name}' is missing" in host.status_reason

    job = runner.execute(set_up_on_host(admin_user, network, test_host, request_id="req-net").pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.kind, job.request_id, job.actor) == ("host_network_setup", "req-net", admin_user)
    state = driver.network_state(name)
    assert state.active and state.autostart
    define, start = job.steps.order_by("position")
    assert define.name == "Define the network" and f"defined {name}" in define.detail
    assert "started" in start.detail and "starts it at boot" in start.detail
    test_host.refresh_from_db()  # the runner checked the host after the job
    assert test_host.status == HostStatus.ONLINE, test_host.status_reason

    again = runner.execute(set_up_on_host(admin_user, network, test_host).pk)
    assert again.status == JobStatus.SUCCEEDED, again.error
    define, start = again.steps.order_by("position")
    assert "is there already: kept as it is" in define.detail and "was running" in start.detail


def test_a_stopped_network_is_started_and_kept(network, test_host, admin_user):
    driver = hypervisor_for(test_host)
    runner.execute(set_up_on_host(admin_user, network, test_host).pk)
    driver.remove_network(network.libvirt_network)
    driver.define_network(network_spec(network))  # defined, not running (as after a host's reboot without autostart)
    assert not driver.network_state(network.libvirt_network).active
    job = runner.execute(set_up_on_host(admin_user, network, test_host).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert driver.network_state(network.libvirt_network).active


def test_only_staff_set_networks_up_and_only_on_hosts_that_carry_them(network, test_host, reseller, admin_user):
    with pytest.raises(PermissionDenied):
        set_up_on_host(reseller, network, test_host)
    other = Host.objects.create(name="kvm-9", uri="qemu+ssh://root@203.0.113.9/system")
    with pytest.raises(ValidationError) as refused:
        set_up_on_host(admin_user, network, other)
    assert refused.value.message_dict["host"] == [
        "Host kvm-9 does not carry network public: attach it to the network first."
    ]
    assert not Job.objects.filter(kind="host_network_setup").exists()


def test_attaching_a_host_in_the_admin_sets_the_network_up_there(test_host, admin_user, net_name):
    client = Client()
    client.force_login(admin_user)
    form = {"name": "public", "kind": NetworkKind.ISOLATED, "libvirt_network": net_name, "bridge": ""}
    response = client.post(reverse("admin:ipam_network_add"), form)
    assert response.status_code == 302
    network = Network.objects.get(name="public")
    assert not Job.objects.filter(kind="host_network_setup").exists()  # no host yet

    response = client.post(reverse("admin:ipam_network_change", args=[network.pk]), {**form, "hosts": [test_host.pk]})
    assert response.status_code == 302
    job = Job.objects.get(kind="host_network_setup")
    assert (job.target_id, job.params, job.actor) == (test_host.pk, {"network_id": network.pk}, admin_user)
    # Saving again without a new host starts nothing more.
    client.post(reverse("admin:ipam_network_change", args=[network.pk]), {**form, "hosts": [test_host.pk]})
    assert Job.objects.filter(kind="host_network_setup").count() == 1


def test_manage_py_sets_the_network_up_on_each_host_that_carries_it(network, test_host, capsys):
    call_command("network", "setup", "public")
    out = capsys.readouterr().out
    assert f"public on {test_host.name}:" in out and "[ok] 1. Define the network" in out
    assert hypervisor_for(test_host).network_state(network.libvirt_network).active
    Host.objects.create(name="kvm-9", uri="qemu+ssh://root@203.0.113.9/system")
    with pytest.raises(CommandError, match="Host kvm-9 does not carry network public"):
        call_command("network", "setup", "public", "--host", "kvm-9")


def test_the_host_page_offers_it_and_says_why_it_refuses(network, test_host, admin_user):
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("ui:host_detail", args=[test_host.pk])).content.decode()
    url = reverse("ui:host_network_setup", args=[test_host.pk, network.pk])
    assert 'id="host-networks"' in page and f'action="{url}"' in page
    Network.objects.filter(pk=network.pk).update(kind=NetworkKind.BRIDGED, bridge="")
    response = client.post(url, follow=True)
    assert "names no host bridge" in response.content.decode()
    assert not Job.objects.filter(kind="host_network_setup").exists()


def test_the_host_check_names_a_missing_host_bridge(test_host):
    """The panel does not make bridges; the host check says when one a network needs is not
    there (the test driver has the interface eth1 only)."""
    lan = Network.objects.create(name="lan", kind=NetworkKind.BRIDGED, bridge="vmmt-br9")
    lan.hosts.add(test_host)
    host = refresh_host(test_host)
    assert host.status == HostStatus.UNREACHABLE
    assert "The host bridge 'vmmt-br9' of network lan is missing on the host." in host.status_reason
    Network.objects.filter(pk=lan.pk).update(bridge="eth1")
    assert refresh_host(test_host).status == HostStatus.ONLINE, test_host.status_reason
