"""What a VM's public addresses become: the guest's static configuration (systemd-networkd
unit for virt-customize, cloud-init network-config v2) and its NIC, on the pools' network
with the anti-spoofing filter bound to its MAC and addresses."""

import json

from apps.ipam.allocation import addresses_of
from apps.ipam.guest import guest_network, link_local
from apps.ipam.models import Ipv6Mode
from apps.ipam.pools import create_pool
from apps.virt.domain_xml import build_domain_xml, parse_domain_xml
from apps.vms import guest_config
from apps.vms.create import create_vm
from apps.vms.deploy.steps import domain_spec

ORDER = {"vcpus": 1, "memory_mb": 512, "disk_gb": 4, "password": "Correct-Horse-7"}


def ordered(customer, image):
    vm, _job = create_vm(customer, image=image, name="a", **ORDER)
    return vm


def test_the_guest_is_told_its_addresses_gateways_and_dns(customer, ready_image, v4_pool, v6_pool):
    vm = ordered(customer, ready_image)
    network = guest_network(addresses_of(vm))
    assert network == {
        "addresses": ["198.51.100.10/24", "2001:db8::1/64"],
        "gateway": "198.51.100.1",
        "gateway6": None,
        "dns": ["198.51.100.53"],
        "onlink": [],
    }
    unit = guest_config.static_network_unit(network)
    assert "Address=198.51.100.10/24\nAddress=2001:db8::1/64\nGateway=198.51.100.1\nDNS=198.51.100.53\n" in unit
    assert "IPv6AcceptRA=no" in unit

    params = {"hostname": "a", "timezone": "UTC", "network": network}
    _user, _meta, network_config = guest_config.cloud_init_seed(vm, params)
    assert json.loads(network_config) == {
        "version": 2,
        "ethernets": {
            # cloud-init names the interface after the entry (for systemd-networkd, ifupdown).
            "eth0": {
                "match": {"macaddress": vm.mac_address},
                "set-name": "eth0",
                "addresses": ["198.51.100.10/24", "2001:db8::1/64"],
                "routes": [{"to": "default", "via": "198.51.100.1"}],
                "nameservers": {"addresses": ["198.51.100.53"]},
                "accept-ra": False,
            }
        },
    }


def test_the_nic_is_on_the_pools_network_with_the_dual_stack_filter(customer, ready_image, v4_pool, v6_pool):
    vm = ordered(customer, ready_image)
    nic = parse_domain_xml(build_domain_xml(domain_spec(vm, "/pool/disk.qcow2"))).nics[0]
    assert (nic.network, nic.mac, nic.filter) == ("vmm-test-public", vm.mac_address, "vmm-clean-traffic-dual-v2")
    # The routed /64 as a whole (the VM may send from any of its addresses), the link-local alone.
    assert nic.filter_params == (
        ("IP", "198.51.100.10"),
        ("IPV6", "2001:db8::"),
        ("IPV6", link_local(vm.mac_address)),
        ("IPV6_PREFIX", "64"),
        ("IPV6_PREFIX", "128"),
    )


def test_a_single_ipv6_address_is_allowed_alone(customer, ready_image, public_net):
    create_pool(network=public_net, name="v6", subnet="2001:db8::/48", ranges=[["2001:db8::10", "2001:db8::11"]])
    vm = ordered(customer, ready_image)
    nic = domain_spec(vm, "/pool/disk.qcow2").nics[0]
    assert nic.filter_params == (
        ("IPV6", "2001:db8::10"),
        ("IPV6", link_local(vm.mac_address)),
        ("IPV6_PREFIX", "128"),
        ("IPV6_PREFIX", "128"),
    )


def test_a_routed_64s_gateway_is_reached_on_the_link(customer, ready_image, public_net):
    """The gateway of a /64 pool is outside every VM's /64: the guest routes to it on-link
    (a plain Gateway= would be refused by the kernel: no route to it)."""
    create_pool(
        network=public_net, name="v6", subnet="2001:db8::/56", gateway="2001:db8::1", ipv6_mode=Ipv6Mode.PREFIX64
    )
    vm = ordered(customer, ready_image)
    network = guest_network(addresses_of(vm))
    assert network["addresses"] == ["2001:db8:0:1::1/64"]
    assert (network["gateway6"], network["onlink"]) == ("2001:db8::1", ["2001:db8::1"])
    unit = guest_config.static_network_unit(network)
    assert "Gateway=" not in unit.split("[Route]")[0]
    assert unit.endswith("[Route]\nGateway=2001:db8::1\nGatewayOnLink=yes\n")
    routes = guest_config.network_config(network)["ethernets"]["primary"]["routes"]  # no MAC: by name
    assert routes == [{"to": "::/0", "via": "2001:db8::1", "on-link": True}]


def test_an_ipv4_only_vm_gets_libvirts_clean_traffic(customer, ready_image, v4_pool):
    vm = ordered(customer, ready_image)
    nic = domain_spec(vm, "/pool/disk.qcow2").nics[0]
    assert (nic.filter, nic.filter_params) == ("clean-traffic", (("IP", "198.51.100.10"),))


def test_a_vm_without_public_addresses_keeps_the_hosts_network(customer, ready_image, roomy_host):
    vm = ordered(customer, ready_image)
    nic = domain_spec(vm, "/pool/disk.qcow2").nics[0]
    assert (nic.network, nic.filter) == (roomy_host.network, None)


def test_link_local_is_the_eui64_of_the_mac():
    assert link_local("52:54:00:00:02:0b") == "fe80::5054:ff:fe00:20b"
