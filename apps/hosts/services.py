"""What can be done to hosts, for the web UI, the API and the job runner alike.

- `add_host`, `update_host`, `refresh_host_now`: the provider's staff add a host, change its
  settings and have it checked again. Anyone else gets PermissionDenied; refused input is a
  ValidationError keyed by the field (the model's clean(), and a name or URI already taken,
  also when two adds of the same one arrive at the same moment).
- `set_maintenance`: staff put a host into maintenance (it takes no new VMs: orders,
  recoveries, migrations; docs/migration.md) or take it out (it is checked again).
- `refresh_host`: the check itself, run by the `host_refresh` job and the host watcher.

A host is in one cluster (apps.hosts.clusters, docs/clusters.md): the default one unless
staff choose; it must match the cluster's setup (Host.clean). The cluster's baseline CPU is
computed again (a job) when a host joins or leaves it, or a check reads a changed CPU.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.tenancy import is_staff_user
from apps.hosts.checks import check_host, summary
from apps.hosts.models import CLUSTER_SETUP, Cluster, Host, HostStatus
from apps.hosts.signals import host_status_changed

logger = logging.getLogger("vmmanager.hosts")


def refresh_host(host):
    """Check `host` (apps/hosts/checks.py: connect, guest type, network, storage pool, which
    is created if missing), read its capacity and set its status: online when nothing is
    missing, else unreachable with what is missing as the reason. A host in maintenance
    keeps that status. Returns the host; never raises for the host's own trouble."""
    result = check_host(host)
    reason = summary(result.findings)
    if result.error is not None:
        reason += f" (libvirt: {result.error})"
    fields = {"status_reason": reason}
    if result.info is not None:
        info = result.info
        fields.update(
            cpus=info.cpus,
            memory_mb=info.memory_mb,
            hostname=info.hostname,
            libvirt_version=info.libvirt_version,
            last_seen_at=timezone.now(),
        )
    if result.pool is not None:
        fields.update(disk_bytes=result.pool.capacity_bytes, disk_free_bytes=result.pool.available_bytes)
    stored_cpu = Host.objects.filter(pk=host.pk).values_list("cpu_xml", flat=True).first()  # `host` may be stale
    cpu_changed = result.cpu is not None and result.cpu != stored_cpu
    if cpu_changed:
        fields["cpu_xml"] = result.cpu
    if result.findings:
        logger.warning("host %s not usable: %s", host.name, fields["status_reason"])
    if host.status != HostStatus.MAINTENANCE:
        fields["status"] = HostStatus.UNREACHABLE if result.findings else HostStatus.ONLINE
    before = Host.objects.filter(pk=host.pk).values_list("status", flat=True).first()  # `host` may be stale
    Host.objects.filter(pk=host.pk).update(**fields)
    host.refresh_from_db()
    if host.status != before and HostStatus.UNREACHABLE in (before, host.status):
        host_status_changed.send(sender=Host, host_ids=[host.pk])  # lost, or back
    if cpu_changed:
        from apps.hosts.clusters import queue_baseline

        logger.info("host %s: its guest CPU changed, the baseline of cluster %s is computed again", host, host.cluster)
        queue_baseline(host.cluster)
    return host


# What staff set on a host; the rest (status, capacity) is read from the host.
SETTINGS = ("name", "uri", "domain_type", "storage_pool", "storage_path", "network", "vnc_listen", "cluster")
REFRESH_OPERATION = "host_refresh"


def check_may_manage_hosts(actor):
    if not is_staff_user(actor):
        raise PermissionDenied(_("Only the provider's staff may manage hosts."))


def add_host(actor, *, request_id=None, **settings):
    """Create a host from `settings` (see SETTINGS; the model's defaults fill the rest) and
    queue `host_refresh` on it once the transaction commits. Returns (host, job). Raises
    PermissionDenied for anyone but staff, ValidationError naming the field."""
    from apps.jobs import runner

    check_may_manage_hosts(actor)
    with transaction.atomic():
        host = new_host(**settings)
        job = runner.submit(REFRESH_OPERATION, host, actor=actor, request_id=request_id)
    return host, job


def new_host(**settings):
    """The host `settings` describe, checked and saved in a cluster (the one named, else
    one its setup fits, made if need be: a refused host makes none). Both add_host and the
    console's `manage.py host add` (its admin is trusted, and sees the check run) come here.
    Raises ValidationError naming the field."""
    chosen = settings.get("cluster") not in (None, "")
    host = Host(**_settings({k: v for k, v in settings.items() if chosen or k != "cluster"}))
    with transaction.atomic():
        _joins_one_at_a_time()
        if not chosen:
            host.cluster = cluster_for_new_host(host)
        _save(host)
    return host


def update_host(actor, host, **settings):
    """Change `host`'s settings (see SETTINGS). Returns the host. Raises like add_host;
    on a refusal nothing is saved (the host passed in may hold the refused values).
    Moving it to another cluster (`cluster`; None: the default one) has both clusters'
    baselines computed again; a new virtualization type forgets the CPU it read (its next
    check reads the CPU for that type)."""
    from apps.hosts.clusters import queue_baseline

    check_may_manage_hosts(actor)
    before = Host.objects.filter(pk=host.pk).values("cluster_id", "domain_type").first()
    for field, value in _settings(settings).items():
        setattr(host, field, value)
    if host.domain_type != before["domain_type"]:
        host.cpu_xml = ""
    with transaction.atomic():
        _joins_one_at_a_time()
        _save(host)
        if host.cluster_id != before["cluster_id"] or host.domain_type != before["domain_type"]:
            for cluster in Cluster.objects.filter(pk__in={before["cluster_id"], host.cluster_id}):
                queue_baseline(cluster, actor=actor)
    return host


def refresh_host_now(actor, host, *, request_id=None):
    """Queue another check of `host` (the `host_refresh` job); returns the Job."""
    from apps.jobs import runner

    check_may_manage_hosts(actor)
    return runner.submit(REFRESH_OPERATION, host, actor=actor, request_id=request_id)


def set_maintenance(actor, host, on, *, request_id=None):
    """Put `host` into maintenance (`on` True) or take it out (False). Returns (host, job):
    taking a host out of maintenance marks it unreachable ("being checked") and queues
    `host_refresh`, which finds it online again (the watcher watches it again too); putting
    it in, or asking for what already is, starts no job. Saved with save() so the audit log
    has the change and who made it. Raises PermissionDenied for anyone but staff,
    ValidationError (`on`) for anything but a boolean."""
    from apps.jobs import runner

    check_may_manage_hosts(actor)
    if not isinstance(on, bool):
        raise ValidationError({"on": ValidationError(_("Give true or false."), code="invalid")})
    job = None
    with transaction.atomic():
        host = Host.objects.select_for_update().get(pk=host.pk)
        if on and host.status != HostStatus.MAINTENANCE:
            host.status = HostStatus.MAINTENANCE
            host.status_reason = "In maintenance: takes no new VMs."  # stored: English, like the checks' reasons
            host.save(update_fields=["status", "status_reason", "updated_at"])
            logger.warning("host %s put into maintenance by %s", host.name, actor)
        elif not on and host.status == HostStatus.MAINTENANCE:
            host.status = HostStatus.UNREACHABLE
            host.status_reason = "Out of maintenance: being checked."
            host.save(update_fields=["status", "status_reason", "updated_at"])
            job = runner.submit(REFRESH_OPERATION, host, actor=actor, request_id=request_id)
            logger.warning("host %s taken out of maintenance by %s", host.name, actor)
    return host, job


def _settings(settings):
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise TypeError(f"not a host setting: {', '.join(sorted(unknown))}")
    if "cluster" in settings:
        settings = {**settings, "cluster": _cluster(settings["cluster"])}
    return settings


def _cluster(value):
    """The Cluster `value` names (an instance or an id); None: the default cluster."""
    if value is None or value == "":
        return Cluster.default()
    if isinstance(value, Cluster):
        return value
    found = Cluster.objects.filter(pk=value).first() if isinstance(value, int) and 0 < value < 2**63 else None
    if found is None:
        raise ValidationError({"cluster": ValidationError(_("No such cluster."), code="does_not_exist")})
    return found


def cluster_for_new_host(host):
    """No cluster chosen for the new `host`: the default one when the host's setup matches it
    (or it has no hosts yet), else the oldest cluster of that setup, else a new cluster for it,
    named after the host, as the clusters' data migration groups hosts (docs/clusters.md)."""
    default = Cluster.default()
    setup = {field: getattr(host, field) for field in CLUSTER_SETUP}
    same = Cluster.objects.filter(**setup).order_by("pk")
    for cluster in (default, *same):
        if not cluster.hosts.exists() or all(getattr(cluster, f) == v for f, v in setup.items()):
            return cluster
    name, n = host.name[:60], 1
    while Cluster.objects.filter(name=name).exists():
        n += 1
        name = f"{host.name[:56]}-{n}"
    return Cluster.objects.create(name=name, **setup)


def _joins_one_at_a_time():
    """Inside the transaction that puts a host into a cluster or changes its setup: wait for
    any other such transaction to end (a lock on the default cluster's row, taken first by
    every one of them), so that two hosts joining an empty cluster at the same moment with
    different setups are checked one after the other: the second sees the first there and is
    refused (a cluster it chose) or goes to a cluster of its setup (none chosen)."""
    Cluster.objects.select_for_update().filter(pk=Cluster.default().pk).first()


def _save(host):
    save_checked(host, _("A host with this name or URI was just added."))


def save_checked(obj, taken):
    """full_clean and save `obj` (a host or a cluster). A name (or URI) that another request
    saved after the check (the database's unique index refused this insert) is reported like
    one found by the check: by the time the index refuses, the other row is committed and
    validate_unique sees it; else `taken` is said."""
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        obj.validate_unique()
        raise ValidationError(taken) from exc
