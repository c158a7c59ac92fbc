from django.contrib import admin
from django.urls import include, path

from apps.core import views as core_views
from apps.stats.metrics import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("apps.api.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),  # Prometheus, bearer VMM_METRICS_TOKEN (docs/stats.md)
    path("", include("apps.ui.urls")),  # the web UI: dashboard at /, login, hosts, images, VMs, jobs
]
