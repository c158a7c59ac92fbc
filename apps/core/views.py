from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from apps.hosts.models import Host
from apps.images.models import Image
from apps.jobs.models import Job
from apps.vms.models import VirtualMachine


def healthz(request):
    """Liveness for load balancers and the container HEALTHCHECK: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request):
    """A minimal landing page until the full UI lands: what the panel holds."""
    context = {
        "hosts": Host.objects.all() if request.user.is_staff else Host.objects.none(),
        "image_count": Image.objects.count(),
        "vm_count": VirtualMachine.objects.filter(owner=request.user).count()
        if not request.user.is_staff
        else VirtualMachine.objects.count(),
        "recent_jobs": Job.objects.filter(owner=request.user)[:10]
        if not request.user.is_staff
        else Job.objects.all()[:10],
    }
    return render(request, "core/home.html", context)
