"""The statistics collector: one process (``manage.py collect_stats``), never the web one.

Each interval ``Collector.sweep()``:
1. claims its share of the hosts (``apps.stats.sharding``: heartbeat, rendezvous hashing,
   leases), plus the ``maintenance`` key;
2. asks each of its online hosts for all its domains' counters with one bulk driver call
   (``Hypervisor.sweep_stats``), the hosts in parallel threads, waiting at most
   ``host_timeout`` seconds in all: a host that has not answered, or that failed, is
   skipped for this sweep and logged; the others are stored as usual. A host whose
   previous call is still hanging is not asked again until it returns;
3. renews the leases of the hosts that answered, dropping any another collector claimed
   meanwhile (a sweep that outlasted its leases on an overloaded machine: that host is
   the other collector's to store, so it is never stored twice in an interval);
   derives rates from the counters it kept from the previous sweep (``apps.stats.rates``)
   and writes one raw row per VM and per host in bulk (``apps.stats.storage``), in one
   short transaction on the statistics database (nothing in the core tables is written
   or locked: it only reads hosts and VMs);
   and each VM's interface byte counters (``TrafficReading``);
4. about once a minute, if it holds ``maintenance``: downsamples and prunes, and counts
   the readings into monthly traffic totals (``apps.stats.traffic``).

It never changes a host's status: host health belongs to the health watcher. Domains
that are not the panel's (their name is not ``vmm-<uuid>`` of a VM on that host) are
ignored.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast, Concat

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.stats import rates, retention, sharding, traffic
from apps.stats.models import METRICS, HostSample, Tier, TrafficReading, VmSample
from apps.stats.storage import insert
from apps.virt.errors import VirtError
from apps.virt.stats import DomainCounters, HostCounters
from apps.vms.models import VirtualMachine

log = logging.getLogger("vmmanager.stats")

DOMAIN_PREFIX = "vmm-"
VM_COLUMNS = ("tier", "at", "vm_id", "host_id", *METRICS)
HOST_COLUMNS = ("tier", "at", "host_id", *METRICS)
READING_COLUMNS = ("vm_id", "host_id", "at", "rx_bytes", "tx_bytes")
MAINTENANCE_EVERY = 60.0  # seconds


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class SweepResult:
    """What one sweep did (for logs, tests and the bench)."""

    hosts: list[int] = field(default_factory=list)  # hosts stored
    skipped: dict[int, str] = field(default_factory=dict)  # host id -> why
    vm_rows: int = 0
    readings: int = 0
    seconds: float = 0.0
    maintenance: dict[str, int] | None = None


class Collector:
    def __init__(
        self,
        name: str | None = None,
        interval: float | None = None,
        host_timeout: float | None = None,
        max_threads: int = 16,
    ) -> None:
        self.name = name or default_name()
        self.interval = float(interval or settings.VMM_STATS_INTERVAL)
        self.host_timeout = float(host_timeout or self.interval)
        self.membership = sharding.Membership(self.name, ttl=2 * self.interval)
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="stats-host")
        self._in_flight: dict[int, object] = {}  # host id -> future still running from an earlier sweep
        self._hosts_prev: dict[int, HostCounters] = {}
        self._domains_prev: dict[tuple[int, str], tuple[float, DomainCounters]] = {}
        self._last_maintenance = 0.0
        self.holds_maintenance = False
        self._stop = threading.Event()

    # -- one sweep -------------------------------------------------------------------

    def _my_hosts(self) -> list[Host]:
        hosts = {h.pk: h for h in Host.objects.only("id", "name", "uri", "status")}
        keys = {sharding.host_key(pk) for pk in hosts} | {sharding.MAINTENANCE}
        held = self.membership.claim(keys)
        self.holds_maintenance = sharding.MAINTENANCE in held
        return [h for pk, h in sorted(hosts.items()) if sharding.host_key(pk) in held and h.status == HostStatus.ONLINE]

    def _ask(self, hosts: list[Host]) -> tuple[dict[int, HostCounters], dict[int, str]]:
        """Every host's counters, in parallel, within ``host_timeout`` seconds."""
        skipped: dict[int, str] = {}
        futures = {}
        for host in hosts:
            earlier = self._in_flight.get(host.pk)
            if earlier is not None and not earlier.done():
                skipped[host.pk] = "the previous sweep's call has not returned yet"
                continue
            futures[host.pk] = self._pool.submit(hypervisor_for(host).sweep_stats)
        wait(futures.values(), timeout=self.host_timeout)
        answers: dict[int, HostCounters] = {}
        for pk, future in futures.items():
            if not future.done():
                self._in_flight[pk] = future
                skipped[pk] = f"no answer within {self.host_timeout:g} s"
                continue
            self._in_flight.pop(pk, None)
            try:
                answers[pk] = future.result()
            except VirtError as e:
                skipped[pk] = str(e)
            except Exception as e:  # noqa: BLE001 - one host's surprise must not stop the others
                log.exception("statistics of host %s failed unexpectedly", pk)
                skipped[pk] = f"{type(e).__name__}: {e}"
        return answers, skipped

    @staticmethod
    def _vms_by_domain(host_ids: list[int]) -> dict[int, dict[str, tuple[int, int]]]:
        """Per host, ``{domain name: (vm id, vCPUs)}`` of the VMs the panel places there."""
        vms: dict[int, dict[str, tuple[int, int]]] = {pk: {} for pk in host_ids}
        query = VirtualMachine.objects.filter(host_id__in=host_ids)
        if connections[query.db].vendor == "postgresql":
            # The database writes the names: 50,000 UUIDs loaded and made text in Python
            # cost 0.6 to 0.9 s a sweep, 0.13 s this way (bench/stats.py --profile).
            name = Concat(Value(DOMAIN_PREFIX), Cast("uuid", TextField()), output_field=TextField())
            for host_id, domain, vm_id, vcpus in query.annotate(domain=name).values_list(
                "host_id", "domain", "id", "vcpus"
            ):
                vms[host_id][domain] = (vm_id, vcpus)
        else:  # SQLite stores a UUID as 32 hex digits, without the dashes of the domain name
            for host_id, uuid, vm_id, vcpus in query.values_list("host_id", "uuid", "id", "vcpus"):
                vms[host_id][f"{DOMAIN_PREFIX}{uuid}"] = (vm_id, vcpus)
        return vms

    def _rows(self, host_id: int, counters: HostCounters, vms: dict[str, tuple[int, int]]):
        """Raw rows (tuples in ``VM_COLUMNS`` / ``HOST_COLUMNS`` / ``READING_COLUMNS``
        order) for one host's answer; updates the kept counters."""
        at = datetime.fromtimestamp(counters.at, tz=UTC)
        vm_rows, values_list, readings = [], [], []
        for domain in counters.domains:
            known = vms.get(domain.name)
            if known is None:
                continue  # not one of ours (or not on this host according to the panel)
            vm_id, vcpus = known
            previous = self._domains_prev.get((host_id, domain.name))
            prev_counters, seconds = (previous[1], counters.at - previous[0]) if previous else (None, 0.0)
            values = rates.vm_values(prev_counters, domain, seconds, vcpus=vcpus)
            self._domains_prev[(host_id, domain.name)] = (counters.at, domain)
            values_list.append(values)
            vm_rows.append((Tier.RAW.value, at, vm_id, host_id, *(values[m] for m in METRICS)))
            if domain.net_rx_bytes is not None and domain.net_tx_bytes is not None:
                readings.append((vm_id, host_id, at, domain.net_rx_bytes, domain.net_tx_bytes))
        host_values = rates.host_values(self._hosts_prev.get(host_id), counters, values_list)
        host_row = (Tier.RAW.value, at, host_id, *(host_values[m] for m in METRICS))
        self._hosts_prev[host_id] = counters
        return vm_rows, host_row, readings

    def _forget_stale(self, now: float) -> None:
        """Drop kept counters of domains not seen for three intervals (gone, or another collector's now)."""
        horizon = now - 3 * self.interval
        for key in [k for k, (at, _) in self._domains_prev.items() if at < horizon]:
            del self._domains_prev[key]
        for pk in [pk for pk, c in self._hosts_prev.items() if c.at < horizon]:
            del self._hosts_prev[pk]

    def sweep(self) -> SweepResult:
        """One sweep of this collector's hosts (see the module docstring). Raises only
        database errors (the loop in ``run`` logs them and carries on)."""
        began = time.monotonic()
        result = SweepResult()
        hosts = self._my_hosts()
        answers, result.skipped = self._ask(hosts)
        for pk, reason in result.skipped.items():
            log.warning("statistics: host %s skipped this sweep: %s", pk, reason)
        if answers:
            still_mine = self.membership.renew({sharding.host_key(pk) for pk in answers})
            for pk in [pk for pk in answers if sharding.host_key(pk) not in still_mine]:
                log.warning("statistics: host %s not stored: another collector took it over during this sweep", pk)
                result.skipped[pk] = "taken over by another collector during this sweep (its lease expired)"
                del answers[pk]
        vms = self._vms_by_domain(list(answers))
        vm_rows, host_rows, readings = [], [], []
        for pk, counters in answers.items():
            rows, host_row, host_readings = self._rows(pk, counters, vms[pk])
            vm_rows += rows
            host_rows.append(host_row)
            readings += host_readings
        if host_rows:
            with transaction.atomic(using=router.db_for_write(VmSample)):
                insert(VmSample, VM_COLUMNS, vm_rows)
                insert(HostSample, HOST_COLUMNS, host_rows)
                insert(TrafficReading, READING_COLUMNS, readings)
        result.hosts, result.vm_rows, result.readings = sorted(answers), len(vm_rows), len(readings)
        self._forget_stale(time.time())
        if self.holds_maintenance and time.monotonic() - self._last_maintenance >= MAINTENANCE_EVERY:
            now = datetime.now(tz=UTC)
            result.maintenance = retention.maintain(now)
            result.maintenance["traffic_readings"] = traffic.count(now)
            result.maintenance["traffic_forgotten"] = traffic.forget(now)
            self._last_maintenance = time.monotonic()
        result.seconds = time.monotonic() - began
        return result

    # -- the loop --------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self, sweeps: int | None = None) -> None:
        """Sweep every ``interval`` seconds until ``stop()`` (or ``sweeps`` sweeps).

        A failing sweep (e.g. the database is down) is logged and retried at the next
        interval; on the way out the collector frees its hosts for the others.
        """
        done = 0
        log.info("statistics collector %s started, sweeping every %g s", self.name, self.interval)
        try:
            while not self._stop.is_set() and (sweeps is None or done < sweeps):
                began = time.monotonic()
                try:
                    result = self.sweep()
                    log.debug(
                        "statistics: %d hosts, %d VMs in %.3f s (%d skipped)",
                        len(result.hosts), result.vm_rows, result.seconds, len(result.skipped),
                    )  # fmt: skip
                    if result.seconds > self.interval:
                        log.warning("statistics sweep took %.1f s, longer than the interval", result.seconds)
                except Exception:  # noqa: BLE001 - the collector outlives a bad sweep
                    log.exception("statistics sweep failed; retrying at the next interval")
                    # The connection may be what broke (database restarted): open fresh ones.
                    # Otherwise it is kept: reconnecting every sweep costs the database a backend.
                    connections.close_all()
                done += 1
                if sweeps is not None and done >= sweeps:
                    break
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))
        finally:
            try:
                self.membership.leave()
            except Exception:  # noqa: BLE001 - the database may be what failed
                log.exception("could not release the collector's hosts")
            self._pool.shutdown(wait=False, cancel_futures=True)
