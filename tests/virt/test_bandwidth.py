"""The interface bandwidth limit (apps/virt/bandwidth.py) on libvirt's test driver: set on
a running domain (live and in its definition), read back, removed with 0; a domain or
interface that does not exist and a bad rate are refused."""

import uuid

import pytest

from apps.virt.driver import Hypervisor
from apps.virt.errors import NotFound, VirtError
from apps.virt.types import DomainSpec, NicSpec

MAC = "52:54:00:17:00:01"


@pytest.fixture
def domain():
    driver = Hypervisor("test:///default")
    name = f"vmmtest-bw-{uuid.uuid4().hex[:8]}"
    driver.define(DomainSpec(name=name, domain_type="qemu", vcpus=1, memory_mb=256, nics=(NicSpec(mac=MAC),)))
    driver.start(name)
    yield driver, name
    driver.destroy(name)
    driver.undefine(name)


def test_a_limit_is_set_live_read_back_and_removed(domain):
    driver, name = domain
    assert driver.interface_bandwidth(name, MAC) == (0, 0)
    assert driver.set_interface_bandwidth(name, MAC, 2441) is True
    assert driver.interface_bandwidth(name, MAC) == (2441, 2441)
    assert "average='2441'" in driver.domain_xml(name, inactive=True)  # kept for the next start
    driver.set_interface_bandwidth(name, MAC, 0)
    assert driver.interface_bandwidth(name, MAC) == (0, 0)


def test_a_stopped_domain_gets_it_in_its_definition_only(domain):
    driver, name = domain
    driver.destroy(name)
    assert driver.set_interface_bandwidth(name, MAC, 100) is False
    driver.start(name)
    assert driver.interface_bandwidth(name, MAC) == (100, 100)


def test_unknown_domains_interfaces_and_rates_are_refused(domain):
    driver, name = domain
    with pytest.raises(NotFound):
        driver.set_interface_bandwidth("vmmtest-no-such-domain", MAC, 100)
    with pytest.raises(VirtError):
        driver.set_interface_bandwidth(name, "52:54:00:ff:ff:ff", 100)
    for rate in (-1, 2**32, True, 1.5):
        with pytest.raises(ValueError):
            driver.set_interface_bandwidth(name, MAC, rate)
