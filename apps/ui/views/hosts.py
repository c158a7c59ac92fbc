"""Hosts (staff only): list with room and health, detail, add (starts a host check)."""

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.hosts import checks, sshkey
from apps.hosts.models import Host, HostStatus
from apps.jobs import runner
from apps.jobs.models import Job
from apps.ui import selectors
from apps.ui.access import staff_only
from apps.ui.forms.hosts import HostAddForm
from apps.vms.models import VirtualMachine


@staff_only
def host_list(request):
    usages = selectors.host_usage(Host.objects.order_by("name"))
    return render(request, "ui/hosts/list.html", {"usages": usages})


@staff_only
def host_detail(request, pk):
    host = get_object_or_404(Host, pk=pk)
    context = {
        "usage": selectors.host_usage([host])[0],
        "vms": VirtualMachine.objects.filter(host=host).select_related("owner", "image").order_by("name")[:200],
        "jobs": Job.objects.filter(target_type=ContentType.objects.get_for_model(Host), target_id=host.pk)
        .select_related("actor", "target_type")
        .order_by("-created_at")[:10],
    }
    if host.status == HostStatus.UNREACHABLE:
        # What to run on the host to fix what its last check found (the job page has the details).
        context["prepare_command"] = checks.prepare_command(host)
    return render(request, "ui/hosts/detail.html", {"host": host, **context})


@staff_only
def host_add(request):
    """Create the host and start `host_refresh` on it; the job page shows what the check found."""
    form = HostAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            host = form.save()
            job = runner.submit("host_refresh", host, actor=request.user, request_id=request.request_id)
        messages.success(request, _("Host %(name)s added; checking it now.") % {"name": host.name})
        return redirect("ui:job_detail", job.pk)
    return render(request, "ui/hosts/add.html", {"form": form, **_ssh_setup()})


def _ssh_setup():
    """The panel's public key and the prepare-host command for the add page. Making the key
    on first need runs ssh-keygen here (local, milliseconds); no host is contacted."""
    try:
        return {"ssh_key": sshkey.public_key(), "prepare_command": checks.prepare_command()}
    except sshkey.SshKeyError as exc:
        return {"ssh_key_error": str(exc)}


@staff_only
@require_POST
def host_refresh(request, pk):
    host = get_object_or_404(Host, pk=pk)
    job = runner.submit("host_refresh", host, actor=request.user, request_id=request.request_id)
    return redirect("ui:job_detail", job.pk)
