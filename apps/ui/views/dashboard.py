from django.shortcuts import render

from apps.accounts.tenancy import is_staff_user
from apps.hosts.models import Host
from apps.ui import selectors
from apps.ui.access import signed_in


@signed_in
def dashboard(request):
    """What needs attention now: hosts' room (staff), VMs by power state, jobs running, recent failures."""
    user = request.user
    context = {
        "counts": selectors.vm_counts(user),
        "active_jobs": selectors.active_jobs(user),
        "active_count": selectors.active_job_count(user),
        "failures": selectors.recent_failures(user),
        "usages": selectors.host_usage(Host.objects.order_by("name")) if is_staff_user(user) else [],
    }
    return render(request, "ui/dashboard.html", context)
