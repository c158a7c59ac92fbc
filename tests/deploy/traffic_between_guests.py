"""Monthly traffic totals from real guests (docs/traffic.md, issue #17), run on the two guests
tests/deploy/test_public_addresses.py has made on its isolated network (a new guest costs
the suite a minute or more).

The sender sends a known amount to the receiver: ``dd`` writes DATAGRAMS UDP datagrams of
PAYLOAD bytes each through bash's ``/dev/udp`` (one write, one datagram; in bursts of
BURST with a short pause, so that the receiving TCG guest keeps up and its tap's queue never
overflows), to a UDP sink on the receiver (python3, from the cloud-init image; without a
listener the receiver's "port unreachable" would fail the sender's connected socket). The
expected bytes are the frames on the wire as the host's tap devices count them (libvirt's
interface counters read the taps): DATAGRAMS x (PAYLOAD + 8 UDP + 20 IPv4 + 14 Ethernet
header) = DATAGRAMS x 1514, no FCS, nothing else estimated. What else crosses the interfaces
meanwhile (ARP, IPv6 neighbour discovery) is a few hundred bytes, far inside the 2 %.

The counting is the production path: the statistics collector's sweeps (``Collector.sweep``:
the libvirt bulk stats call, a ``TrafficReading`` per VM) before and after, then the
maintenance holder's ``apps.stats.traffic.count`` (the first reading a baseline, the second
counted) into ``TrafficMonth``, then the jobs reconciler's ``apps.traffic.enforcement.housekeeping``
copying the totals to ``TrafficPeriod``, read back with ``apps.traffic.services.usage`` as
the VM page and the API show them: the sender's *out* and the receiver's *in* must be the
known amount within 2 %."""

import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from apps.hosts.hypervisor import hypervisor_for
from apps.stats import traffic
from apps.stats.collector import Collector
from apps.traffic import enforcement
from apps.traffic.services import usage

PORT = 5001
PAYLOAD = 1472  # the largest UDP payload in one 1500-byte IPv4 packet
FRAME = PAYLOAD + 8 + 20 + 14
BURST, BURSTS = 200, 10
DATAGRAMS = BURST * BURSTS

SINK = (
    "systemd-run --unit=vmm-udp-sink --quiet /usr/bin/python3 -c "
    "'import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    f's.bind(("0.0.0.0", {PORT}))\n'
    "while True: s.recv(65536)'"
)
LISTENING = f"for i in $(seq 50); do ss -Hlun 'sport = :{PORT}' | grep -q . && exit 0; sleep 0.2; done; exit 1"
SEND = (
    "exec 3>/dev/udp/{to}/" + str(PORT) + "; "
    f"for i in $(seq {BURSTS}); do dd if=/dev/zero bs={PAYLOAD} count={BURST} status=none >&3 || exit 1; "
    "sleep 0.05; done"
)


def shell(driver, vm, script):
    code, output = driver.agent_exec(vm.domain_name, ["/bin/bash", "-c", script], timeout=60)
    assert code == 0, (script, output)
    return output


def tap_counters(driver, vm):
    """The host's own counters of the VM's tap device (for the failure message)."""
    tap = ET.fromstring(driver.domain_xml(vm.domain_name)).find("devices/interface/target").get("dev")
    stats = {}
    for name in ("rx_bytes", "tx_bytes", "rx_dropped", "tx_dropped"):
        with open(f"/sys/class/net/{tap}/statistics/{name}") as f:
            stats[name] = int(f.read())
    return stats


def traffic_is_counted(sender, receiver, receiver_address):
    """Everything in the module docstring; `receiver` must have python3 (the cloud-init image)."""
    driver = hypervisor_for(sender.host)
    began = time.monotonic()
    shell(driver, receiver, SINK)
    shell(driver, receiver, LISTENING)
    taps = {vm.pk: tap_counters(driver, vm) for vm in (sender, receiver)}
    collector = Collector(name="traffic-test", interval=10)
    first = collector.sweep()
    assert first.readings >= 2 and sender.host_id in first.hosts, first

    shell(driver, sender, SEND.replace("{to}", receiver_address))
    time.sleep(1)  # the last burst through the receiver's tap
    second = collector.sweep()
    assert second.readings >= 2, second
    collector.stop()

    # The maintenance holder's counting (once a minute in production; here at once: both
    # readings are already stored), then the reconciler's copy for pages and the API.
    traffic.count(datetime.now(tz=UTC), settle=timedelta(0))
    enforcement.housekeeping()
    sent, received = usage(sender).tx_bytes, usage(receiver).rx_bytes
    expected = DATAGRAMS * FRAME
    host = {vm.pk: {k: v - taps[vm.pk][k] for k, v in tap_counters(driver, vm).items()} for vm in (sender, receiver)}
    detail = f"expected {expected}, sender out {sent}, receiver in {received}; the taps' own counters: {host}"
    assert abs(sent - expected) <= 0.02 * expected, detail
    assert abs(received - expected) <= 0.02 * expected, detail
    print(f"traffic: {detail} ({time.monotonic() - began:.1f} s)")
