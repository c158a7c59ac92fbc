from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from apps.core import views as core_views
from apps.stats.metrics import metrics

urlpatterns = [
    # One sign-in page for everyone (with the second factor): the admin's own would skip it.
    path("admin/login/", RedirectView.as_view(pattern_name="ui:login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/", include("apps.api.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),  # Prometheus, bearer VMM_METRICS_TOKEN (docs/stats.md)
    path("", include("apps.ui.urls")),  # the web UI: dashboard at /, login, hosts, images, VMs, jobs
]
