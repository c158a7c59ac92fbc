"""Public addresses on real guests (docs/addresses.md): two TCG guests, one of each demo image
(virt-customize and cloud-init each write the static addresses their own way), ordered on an
isolated libvirt network of this test's own, made on the host by the panel's
host_network_setup job (no forwarding, no host address, documentation prefixes only), get
distinct addresses from the pools (IPv4, a single IPv6 address, a routed IPv6 /64),
configured statically inside the guest (read back through the guest agent), reach each other
over IPv4 and IPv6 (a TCP connection to the neighbour's SSH port: the image has no ping), and
a guest that takes an address that is not its own can no longer send, over IPv4 and IPv6
(the anti-spoofing filter), while it may send from any address of its own /64; its duplicate
address detection (sent from ::) reaches the neighbour, its router advertisements do not; an
extra address added to the running guest by staff is let through and configured at once. On the way,
one guest sends the other a known amount, counted into both VMs' monthly traffic totals
within 2 % (tests/deploy/traffic_between_guests.py)."""

import os
import re
import subprocess
import time

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.ipam.guest import link_local
from apps.ipam.host_networks import set_up_on_host
from apps.ipam.models import Address, Ipv6Mode, Network, NetworkKind
from apps.ipam.pools import create_pool
from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.vms.addresses import add_address
from apps.vms.changes import delete_vm
from apps.vms.create import create_vm
from tests.deploy.traffic_between_guests import traffic_is_counted

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

NET = f"vmmt-iso-{os.getpid()}"
BRIDGE = f"vmmt{os.getpid() % 10**9}"[:15]


def virsh(*args):
    return subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def isolated(local_host, admin_user):
    network = Network.objects.create(name="public", kind=NetworkKind.ISOLATED, libvirt_network=NET, bridge=BRIDGE)
    network.hosts.add(local_host)
    create_pool(network=network, name="v4", subnet="198.51.100.0/24", ranges=[["198.51.100.10", "198.51.100.11"]])
    create_pool(network=network, name="v6", subnet="2001:db8::/48", ranges=[["2001:db8::10", "2001:db8::12"]])
    create_pool(network=network, name="v6net", subnet="2001:db8:1::/56", ipv6_mode=Ipv6Mode.PREFIX64)
    try:
        # The panel makes the network on the host (pools without gateways: no host address).
        job = runner.execute(set_up_on_host(admin_user, network, local_host).pk)
        assert job.status == JobStatus.SUCCEEDED, job.error
        info = virsh("net-info", NET).stdout
        assert re.search(r"Active:\s+yes", info) and re.search(r"Autostart:\s+yes", info), info
        yield network
    finally:
        virsh("net-destroy", NET)
        virsh("net-undefine", NET)


# Replace the guest's IPv4 address {old} with {new} on its interface.
SWAP = (
    "dev=$(ip -o -4 addr show scope global | awk '{print $2; exit}'); "
    "ip addr del {old}/24 dev $dev && ip addr add {new}/24 dev $dev"
)
# The same for an IPv6 address of the /48 (no duplicate address detection: usable at once).
SWAP6 = (
    "dev=$(ip -o -6 addr show scope global | awk '{print $2; exit}'); "
    "ip -6 addr del {old}/48 dev $dev && ip -6 addr add {new}/48 dev $dev nodad"
)
# Send to {to} from {source} (added on the interface as part of /64): a host route's source hint.
FROM = (
    "dev=$(ip -o -6 addr show scope global | awk '{print $2; exit}'); "
    "ip -6 addr replace {source}/64 dev $dev nodad && ip -6 route replace {to}/128 dev $dev src {source}"
)
# Send to {to} from {source}, an address the guest has (once its duplicate address detection
# is done), and show it.
VIA = (
    "dev=$(ip -o -6 addr show scope global | awk '{print $2; exit}'); "
    "for i in $(seq 50); do ip -6 addr show dev $dev to {source}/128 | grep -q tentative || break; sleep 0.2; done; "
    "ip -6 addr show dev $dev to {source}/128 && ip -6 route replace {to}/128 dev $dev src {source}"
)
UNFROM = (
    "dev=$(ip -o -6 addr show scope global | awk '{print $2; exit}'); "
    "ip -6 route del {to}/128 dev $dev; ip -6 addr del {source}/64 dev $dev"
)
# Add {address} with duplicate address detection (the kernel probes from ::), wait until it
# is decided, show its flags, remove it.
DAD = (
    "dev=$(ip -o -6 addr show scope global | awk '{print $2; exit}'); ip -6 addr add {address}/48 dev $dev; "
    "for i in $(seq 50); do s=$(ip -6 addr show dev $dev to {address}/128); "
    "case $s in *dadfailed*) break;; *tentative*) sleep 0.2;; *) break;; esac; done; "
    "echo $s; ip -6 addr del {address}/48 dev $dev"
)
# ICMPv6 messages of each type counted in by the kernel (also those it then ignores).
ICMP6_IN = "grep '^Icmp6InType' /proc/net/snmp6"
# A router advertisement (lifetime 0: no default router even where one is accepted) and an
# echo request to all nodes on the link, from the link-local address (the image has python3).
RA_AND_ECHO = """python3 - <<'PY'
import socket, struct
dev = [l.split()[5] for l in open('/proc/net/if_inet6') if l.split()[3] == '00'][0]  # a global address's
index = socket.if_nametoindex(dev)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
for i in range(3):
    s.sendto(struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 0, 0, 0), ('ff02::1', 0, 0, index))
    s.sendto(struct.pack('!BBHHH', 128, 0, 0, 7, i), ('ff02::1', 0, 0, index))
PY"""
# Both /64s of the pool on the link (the provider's router would route them; there is none here).
ON_LINK = (
    "dev=$(ip -o -6 addr show scope global | awk '{print $2; exit}'); ip -6 route replace 2001:db8:1::/56 dev $dev"
)


def fill(script, **values):
    for key, value in values.items():
        script = script.replace("{" + key + "}", value)
    return script


def guest(driver, vm, script, timeout=60):
    return driver.agent_exec(vm.domain_name, ["/bin/bash", "-c", script], timeout=timeout)


def icmp6_in(out):
    """{ICMPv6 type: messages counted in} from ICMP6_IN's output."""
    lines = [line.split() for line in out.splitlines() if line.startswith("Icmp6InType")]
    return {int(name[len("Icmp6InType") :]): int(count) for name, count in lines}


def connects(driver, vm, address, tries=1):
    """Whether `vm` opens a TCP connection to `address`:22 within 5 s (tried `tries` times)."""
    for attempt in range(tries):
        code, _out = guest(driver, vm, f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/22'")
        if code == 0:
            return True
        if attempt + 1 < tries:
            time.sleep(3)
    return False


def test_two_guests_get_their_addresses_reach_each_other_and_cannot_spoof(
    customer, admin_user, local_host, isolated, plain_image, cloudinit_image, django_capture_on_commit_callbacks
):
    vms = []
    for name, image in (("pub-a", plain_image), ("pub-b", cloudinit_image)):
        with django_capture_on_commit_callbacks(execute=True):
            vm, job = create_vm(
                customer, name=name, image=image, vcpus=1, memory_mb=512, disk_gb=3, password="Correct-Horse-7"
            )
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, job.error
        vms.append(vm)
    a, b = vms
    assert sorted(Address.objects.filter(vm=a).values_list("address", flat=True)) == [
        "198.51.100.10",
        "2001:db8:1::1",
        "2001:db8::10",
    ]
    assert sorted(Address.objects.filter(vm=b).values_list("address", flat=True)) == [
        "198.51.100.11",
        "2001:db8:1:1::1",
        "2001:db8::11",
    ]
    driver = hypervisor_for(local_host)
    try:
        for vm, v4, v6, v6net in (
            (a, "198.51.100.10/24", "2001:db8::10/48", "2001:db8:1::1/64"),
            (b, "198.51.100.11/24", "2001:db8::11/48", "2001:db8:1:1::1/64"),
        ):
            code, shown = guest(driver, vm, "ip -o addr show")
            assert code == 0 and v4 in shown and v6 in shown and v6net in shown, shown
            # The link-local address the filter allows (EUI-64 of the MAC) is the guest's.
            assert f"{link_local(vm.mac_address)}/64" in shown, shown
        assert connects(driver, a, "198.51.100.11", tries=20)  # sshd may still be starting
        assert connects(driver, b, "198.51.100.10", tries=20)
        assert connects(driver, a, "2001:db8::11", tries=10)
        assert connects(driver, b, "2001:db8::10", tries=10)

        # a sends b a known amount: the monthly totals count it (tests/deploy/traffic_between_guests.py).
        traffic_is_counted(a, b, "198.51.100.11")

        # b takes an address that is not its own: the filter drops what it sends.
        code, out = guest(driver, b, fill(SWAP, old="198.51.100.11", new="198.51.100.20"))
        assert code == 0, out
        assert not connects(driver, b, "198.51.100.10")  # one try: the filter drops its SYN and both resends
        code, out = guest(driver, b, fill(SWAP, old="198.51.100.20", new="198.51.100.11"))
        assert code == 0, out
        assert connects(driver, b, "198.51.100.10", tries=5)  # its own address again: it sends

        # The same over IPv6: b sends from ::20, which is nobody's.
        code, out = guest(driver, b, fill(SWAP6, old="2001:db8::11", new="2001:db8::20"))
        assert code == 0, out
        assert not connects(driver, b, "2001:db8::10")
        code, out = guest(driver, b, fill(SWAP6, old="2001:db8::20", new="2001:db8::11"))
        assert code == 0, out
        assert connects(driver, b, "2001:db8::10", tries=5)

        # Both /64s of the pool on the link (for the /64 checks below); a's ICMPv6 counters.
        code, out = guest(driver, a, f"{ON_LINK}; {ICMP6_IN}")
        assert code == 0, out
        before = icmp6_in(out)
        # b: on the link too. Its duplicate address detection passes the filter: its probe
        # (from ::) for a's address reaches a, whose answer marks b's copy failed. b is no
        # router of a: its router advertisements are dropped, its echo requests from the same
        # link-local address are not.
        code, out = guest(driver, b, f"{ON_LINK}; {fill(DAD, address='2001:db8::10')}; {RA_AND_ECHO}")
        assert code == 0 and "dadfailed" in out, out
        code, out = guest(driver, a, ICMP6_IN)
        assert code == 0, out
        after = icmp6_in(out)
        assert after.get(128, 0) >= before.get(128, 0) + 3, (before, after)
        assert after.get(134, 0) == before.get(134, 0), (before, after)

        # Its routed /64 is b's as a whole: any address of it sends (a answers on the link);
        # an address of a's /64 does not.
        own = {"source": "2001:db8:1:1::99", "to": "2001:db8::10"}
        code, out = guest(driver, b, fill(FROM, **own))
        assert code == 0, out
        assert connects(driver, b, "2001:db8::10", tries=5)
        code, out = guest(driver, b, fill(UNFROM, **own))
        assert code == 0, out
        neighbours = {"source": "2001:db8:1::99", "to": "2001:db8::10"}
        code, out = guest(driver, b, fill(FROM, **neighbours))
        assert code == 0, out
        assert not connects(driver, b, "2001:db8::10")
        code, out = guest(driver, b, fill(UNFROM, **neighbours))
        assert code == 0, out
        assert connects(driver, b, "2001:db8::10", tries=5)

        # An extra address for the running b (docs/addresses.md, "Extra addresses"): the job
        # lets it through b's filter at once and configures it in the guest; b sends from it.
        b.refresh_from_db()  # active since its deploy
        job = runner.execute(add_address(b, pool="v6", actor=admin_user).pk)
        assert job.status == JobStatus.SUCCEEDED, job.error
        code, out = guest(driver, b, fill(VIA, source="2001:db8::12", to="2001:db8::10"))
        assert code == 0 and "2001:db8::12/48" in out, out
        assert connects(driver, b, "2001:db8::10", tries=5)
    finally:
        for vm in vms:
            with django_capture_on_commit_callbacks(execute=True):
                delete_vm(vm, actor=customer)
    assert Address.objects.filter(vm__isnull=False).count() == 0
    assert Address.objects.filter(released_at__isnull=False).count() == 7
