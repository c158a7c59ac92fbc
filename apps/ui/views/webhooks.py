"""Webhooks in the web UI (docs/webhooks.md): a staff member's or reseller's endpoints, adding,
changing and deleting one, each endpoint's delivery log and re-sending a delivery by hand. The rules are
apps.webhooks.services'; these views parse and answer."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.ui.access import signed_in
from apps.ui.forms.vms import apply_errors
from apps.ui.forms.webhooks import EndpointEditForm, EndpointForm
from apps.ui.paging import paginate
from apps.webhooks import services


def _may(request):
    try:
        services.check_may_have_endpoints(request.user)
    except PermissionDenied:
        raise Http404("No such page.") from None


@signed_in
def webhook_list(request):
    _may(request)
    endpoints = services.visible_endpoints(request.user).select_related("owner")
    return render(request, "ui/webhooks/list.html", {"endpoints": endpoints})


@signed_in
def webhook_add(request):
    _may(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.create_endpoint(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("ui:webhook_detail", endpoint.pk)
    return render(request, "ui/webhooks/add.html", {"form": form})


@signed_in
def webhook_edit(request, pk):
    endpoint = get_object_or_404(services.visible_endpoints(request.user), pk=pk)
    initial = {f: getattr(endpoint, f) for f in ("url", "description", "events", "is_active")}
    form = EndpointEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_endpoint(endpoint, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
            endpoint.refresh_from_db()
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("ui:webhook_detail", endpoint.pk)
    return render(request, "ui/webhooks/edit.html", {"form": form, "endpoint": endpoint})


@signed_in
@require_POST
def webhook_delete(request, pk):
    endpoint = get_object_or_404(services.visible_endpoints(request.user), pk=pk)
    services.delete_endpoint(endpoint, actor=request.user)
    messages.success(request, _("Endpoint %(url)s deleted with its delivery log.") % {"url": endpoint.url})
    return redirect("ui:webhook_list")


@signed_in
def webhook_detail(request, pk):
    endpoint = get_object_or_404(services.visible_endpoints(request.user), pk=pk)
    deliveries = services.visible_deliveries(request.user).filter(endpoint=endpoint)
    page, query = paginate(request, deliveries)
    return render(request, "ui/webhooks/detail.html", {"endpoint": endpoint, "page": page, "query": query})


@signed_in
@require_POST
def webhook_resend(request, pk):
    delivery = get_object_or_404(services.visible_deliveries(request.user), pk=pk)
    try:
        services.resend(delivery, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Sent again: see the newest delivery."))
    return redirect("ui:webhook_detail", delivery.endpoint_id)
