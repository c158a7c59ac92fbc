"""/api/v1/ (the resources), /api/schema/ (OpenAPI) and /api/docs/ (Swagger UI, served
from drf-spectacular-sidecar's static files: no CDN)."""

from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from apps.api.resources import (
    addresses,
    audit,
    backup_files,
    clusters,
    hosts,
    images,
    jobs,
    kept_backups,
    networks,
    plans,
    quotas,
    sshkeys,
    stats,
    tokens,
    users,
    vm_backups,
    vms,
    warm_pools,
    webhooks,
)
from apps.api.views import not_found

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("hosts", hosts.HostViewSet, basename="host")
router.register("clusters", clusters.ClusterViewSet, basename="cluster")
router.register("images", images.ImageViewSet, basename="image")
router.register("vms", vms.VmViewSet, basename="vm")
router.register("jobs", jobs.JobViewSet, basename="job")
router.register("users", users.UserViewSet, basename="user")
router.register("ssh-keys", sshkeys.SshKeyViewSet, basename="sshkey")
router.register("plans", plans.PlanViewSet, basename="plan")
router.register("quotas", quotas.QuotaViewSet, basename="quota")
router.register("tokens", tokens.TokenViewSet, basename="token")
router.register("audit", audit.AuditViewSet, basename="audit")
router.register("addresses", addresses.AddressViewSet, basename="address")
router.register("pools", addresses.PoolViewSet, basename="pool")
router.register("networks", networks.NetworkViewSet, basename="network")
router.register("webhooks", webhooks.WebhookViewSet, basename="webhook")
router.register("warm-pools", warm_pools.WarmPoolViewSet, basename="warmpool")
router.register("backup-repositories", vm_backups.RepositoryViewSet, basename="backuprepository")
router.register("kept-backups", kept_backups.KeptBackupViewSet, basename="keptbackup")
router.register("backup-files", backup_files.BackupFileViewSet, basename="backupfile")
router.register("webhook-deliveries", webhooks.WebhookDeliveryViewSet, basename="webhookdelivery")

urlpatterns = [
    path("v1/me/", users.MeView.as_view(), name="me"),
    re_path(r"^v1/vms/(?P<pk>[^/.]+)/stats/$", stats.VmStatsView.as_view(), name="vm-stats"),
    re_path(r"^v1/hosts/(?P<pk>[^/.]+)/stats/$", stats.HostStatsView.as_view(), name="host-stats"),
    path("v1/", include(router.urls)),
    re_path(r"^v1/", not_found),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file (no inline script); Swagger UI's
    # own stylesheet draws its icons from data: URIs.
    path(
        "docs/",
        csp_update({"img-src": ["data:"]})(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
]
