"""Hosts (staff only): list with room and health, detail, add (starts a host check), change
settings, check again, set a network up on the host. Changes go through apps.hosts.services
and apps.ipam.host_networks, as the API's do."""

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.hosts import checks, services, sshkey
from apps.hosts.models import Host, HostStatus
from apps.ipam import host_networks
from apps.ipam.models import Network
from apps.jobs.models import Job
from apps.ui import selectors
from apps.ui.access import staff_only
from apps.ui.forms.hosts import HostForm
from apps.ui.forms.vms import apply_errors
from apps.vms.evacuation import evacuate_host
from apps.vms.models import VirtualMachine


@staff_only
def host_list(request):
    usages = selectors.host_usage(Host.objects.select_related("cluster").order_by("name"))
    return render(request, "ui/hosts/list.html", {"usages": usages})


@staff_only
def host_detail(request, pk):
    host = get_object_or_404(Host.objects.select_related("cluster"), pk=pk)
    context = {
        "usage": selectors.host_usage([host])[0],
        "networks": host_networks.carried(host),
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
    """Create the host and start `host_refresh` on it (apps.hosts.services.add_host); the
    job page shows what the check found."""
    form = HostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            host, job = services.add_host(request.user, request_id=request.request_id, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Host %(name)s added; checking it now.") % {"name": host.name})
            return redirect("ui:job_detail", job.pk)
    return render(request, "ui/hosts/add.html", {"form": form, **_ssh_setup()})


@staff_only
def host_edit(request, pk):
    """Change a host's settings (apps.hosts.services.update_host); its page opens after."""
    host = get_object_or_404(Host, pk=pk)
    form = HostForm(request.POST or None, initial=model_to_dict(host, fields=services.SETTINGS))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_host(request.user, host, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
            host.refresh_from_db()  # the page names the host as saved, not as typed
        else:
            messages.success(request, _("Settings of %(name)s saved.") % {"name": host.name})
            return redirect("ui:host_detail", host.pk)
    return render(request, "ui/hosts/edit.html", {"host": host, "form": form})


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
    job = services.refresh_host_now(request.user, host, request_id=request.request_id)
    return redirect("ui:job_detail", job.pk)


@staff_only
@require_POST
def host_maintenance(request, pk):
    """Maintenance on (`on=1`) or off (anything else) through apps.hosts.services.set_maintenance;
    taking a host out opens the job that checks it again."""
    host = get_object_or_404(Host, pk=pk)
    host, job = services.set_maintenance(
        request.user, host, request.POST.get("on") == "1", request_id=request.request_id
    )
    if job is not None:
        return redirect("ui:job_detail", job.pk)
    if host.status == HostStatus.MAINTENANCE:
        messages.success(request, _("%(name)s is in maintenance: it takes no new VMs.") % {"name": host.name})
    return redirect("ui:host_detail", host.pk)


@staff_only
@require_POST
def host_evacuate(request, pk):
    """Empty a host in maintenance (apps.vms.evacuation): its job's page; a refusal is said
    on the host's page."""
    host = get_object_or_404(Host, pk=pk)
    try:
        job = evacuate_host(request.user, host, request_id=request.request_id)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("ui:host_detail", host.pk)
    return redirect("ui:job_detail", job.pk)


@staff_only
@require_POST
def host_network_setup(request, pk, network_pk):
    """Make the host carry the network (apps.ipam.host_networks.set_up_on_host: the
    host_network_setup job); a refusal is said on the host's page."""
    host = get_object_or_404(Host, pk=pk)
    network = get_object_or_404(Network, pk=network_pk)
    try:
        job = host_networks.set_up_on_host(request.user, network, host, request_id=request.request_id)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("ui:host_detail", host.pk)
    return redirect("ui:job_detail", job.pk)
