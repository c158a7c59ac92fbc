"""The hosts tell the truth to the panel: the panel's domains and volumes on a host, compared
with the VM rows (part of the watcher's reconciliation, see docs/health.md).

Contract: `reconcile_strays(host, driver)` lists the host's `vmm-*` domains and the `vmm-*`
volumes of its pool, groups them by the VM uuid in their names, and for each group:
- VM row on this host, held by a job: left alone (the job's business);
- VM row on this host, `active`: left alone (the power-state sync reads it);
- VM row on this host, `failed` or `deleting`: powered off and removed with its volumes,
  under a lock on the row that a job submitted meanwhile waits for; a running domain is
  reported (WARNING) as it is removed, never silently kept;
- no VM row with that uuid anywhere (deleted, or never the panel's): removed the same way,
  if the domain's disks are all in the host's panel pool (a domain elsewhere may be another
  panel's or a test run's sharing the host: flagged); volumes alone in the pool are removed;
- anything else is not safe to remove and is flagged on the host (`Host.strays`, shown on
  the host page with the action to take): a name the panel did not make (`vmm-` but not
  `vmm-<uuid>`), a VM that lives on another host, a VM `creating` with no job, or a
  removal that failed.
`Host.strays` is rewritten after every run. Returns a `Strays` summary. Raises the driver's
`Unreachable` (what was done before stays done).
"""

import logging
import re
import uuid as uuidlib
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from apps.hosts.models import Host
from apps.virt.domain_xml import parse_domain_xml
from apps.virt.errors import NotFound, Unreachable, VirtError
from apps.virt.types import INACTIVE_STATES
from apps.vms import cleanup
from apps.vms.models import OwedCleanup, VirtualMachine, VmStatus

logger = logging.getLogger("vmmanager.hosts")

PREFIX = "vmm-"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_DOMAIN = re.compile(rf"^vmm-({_UUID})$")
_VOLUME = re.compile(rf"^vmm-({_UUID})-.+$")


@dataclass
class Strays:
    removed: list = field(default_factory=list)  # domain or volume names removed
    flagged: list = field(default_factory=list)  # the entries written to Host.strays


@dataclass
class _Found:
    domain: str | None = None
    state: str | None = None
    volumes: list = field(default_factory=list)


def _entry(kind, name, why, action, state=""):
    return {"kind": kind, "name": name, "state": state or "", "why": why, "action": action}


def reconcile_strays(host, driver):
    """Compare the host's `vmm-*` domains and volumes with the VM rows (module docstring)."""
    states = driver.domain_states()
    try:
        volumes = [volume.name for volume in driver.list_volumes(host.storage_pool)]
    except NotFound:
        volumes = []  # no pool yet: the host check reports that
    found, result = {}, Strays()
    for name, state in sorted(states.items()):
        if not name.startswith(PREFIX):
            continue  # not the panel's naming: another tool's guest
        match = _DOMAIN.match(name)
        if match is None:
            result.flagged.append(_unnamed("domain", name, state))
            continue
        group = found.setdefault(uuidlib.UUID(match.group(1)), _Found())
        group.domain, group.state = name, state
    for name in volumes:
        if not name.startswith(PREFIX):
            continue
        match = _VOLUME.match(name)
        if match is None:
            result.flagged.append(_unnamed("volume", name))
            continue
        found.setdefault(uuidlib.UUID(match.group(1)), _Found()).volumes.append(name)
    rows = {vm.uuid: vm for vm in VirtualMachine.objects.filter(uuid__in=list(found)).select_related("host")}
    for uid, group in found.items():
        vm = rows.get(uid)
        if vm is not None and vm.host_id == host.pk and (vm.current_job_id or vm.status == VmStatus.ACTIVE):
            continue
        if vm is not None and vm.host_id != host.pk:
            where = f"on host {vm.host.name}" if vm.host else "not placed on any host"
            result.flagged += _group_entries(
                group,
                f"its VM {vm.name} (#{vm.pk}) is {where}: a leftover copy",
                f"Check that VM {vm.name} is whole {where}, then remove this copy with virsh "
                f"(destroy, undefine, vol-delete).",
            )
            continue
        if vm is None and group.domain and not _disks_in_pool(driver, host, group.domain):
            result.flagged += _group_entries(
                group,
                "no VM of the panel has this uuid, but the domain's disks are not (all) in the panel's "
                f"pool {host.storage_pool}: perhaps another panel's, or made by hand",
                "Find out whose it is; remove it with virsh (destroy, undefine, vol-delete) if nobody needs it.",
            )
            continue
        if vm is not None and vm.status == VmStatus.CREATING:
            result.flagged += _group_entries(
                group,
                f"its VM {vm.name} (#{vm.pk}) is being created, but no job is working on it",
                "The jobs reconciler settles a deploy whose worker died within a minute; if this stays, delete the VM.",
            )
            continue
        _remove(host, driver, uid, vm, group, result)
    _store(host, result.flagged)
    return result


def _disks_in_pool(driver, host, domain):
    """True if `domain` has disks and every one is a file of the host's pool: only then is a
    domain with no VM row surely what a deploy of this panel made (another panel, or a test
    run, sharing the host uses its own pool)."""
    try:
        pool = driver.pool_info(host.storage_pool).path
        disks = parse_domain_xml(driver.domain_xml(domain, inactive=True)).disks
    except Unreachable:
        raise
    except VirtError:
        return False  # gone meanwhile, or unreadable: not surely ours
    if not pool:
        return False
    pool = pool.rstrip("/") + "/"
    paths = [disk.path for disk in disks if disk.device == "disk" or disk.path]
    return bool(paths) and all(path and path.startswith(pool) for path in paths)


def _unnamed(kind, name, state=""):
    return _entry(
        kind,
        name,
        "named vmm- but not vmm-<uuid>: the panel did not make it and never removes it",
        "Find out whose it is; remove it with virsh if nobody needs it.",
        state,
    )


def _group_entries(group, why, action):
    entries = []
    if group.domain:
        entries.append(_entry("domain", group.domain, why, action, group.state))
    entries += [_entry("volume", name, why, action) for name in group.volumes]
    return entries


def _remove(host, driver, uid, vm, group, result):
    """Remove a failed, deleting or unknown VM's leftovers, unless a job or a new row turned up."""
    domain = group.domain or f"{PREFIX}{uid}"
    volumes = sorted(set(group.volumes) | set(cleanup.panel_volumes(uid)))
    with transaction.atomic():
        if vm is not None:
            # Locked: a job submitted meanwhile (reinstall, delete) waits until this is done.
            locked = (
                VirtualMachine.objects.select_for_update()
                .filter(pk=vm.pk, host=host, current_job__isnull=True, status__in=cleanup.REMOVABLE)
                .first()
            )
            if locked is None:
                return  # a job took it, or it changed: next time
        elif VirtualMachine.objects.filter(uuid=uid).exists():
            return  # a row turned up after the listing: next time
        what = f"VM {vm.name} (#{vm.pk}) is {vm.status}" if vm else "no VM of the panel has this uuid"
        try:
            state = cleanup.remove_domain_and_volumes(driver, host.storage_pool, domain, volumes)
        except Unreachable:
            raise
        except VirtError as exc:
            result.flagged += _group_entries(
                group,
                f"{what}, and removing it failed: {exc}",
                "Remove it with virsh (destroy, undefine, vol-delete) and see why the host refused.",
            )
            return
        OwedCleanup.objects.filter(host=host, domain_name=domain, done_at__isnull=True).update(
            done_at=timezone.now(), outcome="removed by the host reconciliation"
        )
    names = ([domain] if group.domain else []) + group.volumes
    result.removed += names
    if state is not None and state not in INACTIVE_STATES:
        logger.warning("host %s: %s was %s although %s: powered off and removed", host.name, domain, state, what)
    logger.warning("host %s: removed %s (%s)", host.name, ", ".join(names), what)


def _store(host, entries):
    if entries == host.strays:
        return
    if entries:
        logger.warning(
            "host %s: %d thing(s) the panel may not remove itself: %s",
            host.name,
            len(entries),
            ", ".join(e["name"] for e in entries),
        )
    Host.objects.filter(pk=host.pk).update(strays=entries)
    host.strays = entries
