"""Clusters (staff only): list, detail with its hosts and baseline CPU, add, rename, delete
(an empty one), compute the baseline again. Changes go through apps.hosts.clusters, as the
API's do; a host joins a cluster on its own settings page."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.hosts import clusters
from apps.hosts.models import Cluster
from apps.ui.access import staff_only
from apps.ui.forms.hosts import ClusterForm
from apps.ui.forms.vms import apply_errors


@staff_only
def cluster_list(request):
    rows = Cluster.objects.prefetch_related("hosts").order_by("name")
    return render(request, "ui/clusters/list.html", {"clusters": rows, "default": Cluster.default()})


@staff_only
def cluster_detail(request, pk):
    cluster = get_object_or_404(Cluster, pk=pk)
    context = {"cluster": cluster, "hosts": cluster.hosts.order_by("name"), "is_default": cluster == Cluster.default()}
    return render(request, "ui/clusters/detail.html", context)


@staff_only
def cluster_add(request):
    form = ClusterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cluster = clusters.add_cluster(request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Cluster %(name)s added.") % {"name": cluster.name})
            return redirect("ui:cluster_detail", cluster.pk)
    return render(request, "ui/clusters/edit.html", {"form": form, "cluster": None})


@staff_only
def cluster_edit(request, pk):
    cluster = get_object_or_404(Cluster, pk=pk)
    form = ClusterForm(request.POST or None, initial={"name": cluster.name, "description": cluster.description})
    if request.method == "POST" and form.is_valid():
        try:
            clusters.update_cluster(request.user, cluster, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
            cluster.refresh_from_db()
        else:
            messages.success(request, _("Cluster %(name)s saved.") % {"name": cluster.name})
            return redirect("ui:cluster_detail", cluster.pk)
    return render(request, "ui/clusters/edit.html", {"form": form, "cluster": cluster})


@staff_only
@require_POST
def cluster_delete(request, pk):
    """Delete an empty cluster; a refusal is said on its page."""
    cluster = get_object_or_404(Cluster, pk=pk)
    try:
        clusters.delete_cluster(request.user, cluster)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("ui:cluster_detail", cluster.pk)
    messages.success(request, _("Cluster %(name)s deleted.") % {"name": cluster.name})
    return redirect("ui:cluster_list")


@staff_only
@require_POST
def cluster_baseline(request, pk):
    """Compute the baseline CPU again: the job's page."""
    cluster = get_object_or_404(Cluster, pk=pk)
    job = clusters.compute_baseline_now(request.user, cluster, request_id=request.request_id)
    return redirect("ui:job_detail", job.pk)
