"""Emptying a host in maintenance (docs/migration.md, "Emptying a host"): the one door for
staff, `evacuate_host(actor, host)`, which starts the `host_evacuate` job
(apps/vms/operations/host_evacuate.py). The job moves the host's VMs one by one
(apps/vms/migrate_work.py: cold when stopped, live when running) to hosts placement chooses,
and lists the VMs that stay with the reason (paused or crashed; no room elsewhere; a move
that failed), never losing any.

Refused (ValidationError on `host`): a host not in maintenance (new VMs could be placed on
it while it is being emptied), and a host already being emptied. Not staff:
PermissionDenied."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.hosts.models import Host, HostStatus
from apps.hosts.services import check_may_manage_hosts
from apps.jobs import runner
from apps.jobs.models import Job, JobStatus

OPERATION = "host_evacuate"


def evacuate_host(actor, host, *, request_id=None):
    """Start emptying `host` (module docstring). Returns the job."""
    check_may_manage_hosts(actor)
    with transaction.atomic():
        host = Host.objects.select_for_update().get(pk=host.pk)
        if host.status != HostStatus.MAINTENANCE:
            message = _("Put host %(host)s into maintenance first: it must take no new VMs while it is emptied.") % {
                "host": host.name
            }
            raise ValidationError({"host": ValidationError(message, code="not_in_maintenance")})
        running = Job.objects.filter(
            kind=OPERATION,
            target_type=ContentType.objects.get_for_model(Host),
            target_id=host.pk,
            status__in=(JobStatus.QUEUED, JobStatus.RUNNING),
        ).first()
        if running is not None:
            message = _("Host %(host)s is being emptied already (job %(job)s).") % {
                "host": host.name,
                "job": str(running.pk)[:8],
            }
            raise ValidationError({"host": ValidationError(message, code="busy")})
        return runner.submit(OPERATION, host, actor=actor, request_id=request_id)
