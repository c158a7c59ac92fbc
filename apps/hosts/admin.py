from django.contrib import admin, messages

from apps.hosts import services
from apps.hosts.models import Cluster, Host
from apps.jobs.admin_actions import job_action

READ_ONLY_CLUSTER = ("domain_type", "network", "storage_path", "cpu_model", "cpu_xml", "cpu_note", "cpu_computed_at")


def _maintenance(on, description):
    """An admin action through apps.hosts.services.set_maintenance (the doors' service)."""

    def action(modeladmin, request, queryset):
        for host in queryset:
            host, job = services.set_maintenance(request.user, host, on, request_id=request.request_id)
            text = f"{host.name}: {host.get_status_display()}" + (f" (check: job {job.pk})" if job else "")
            modeladmin.message_user(request, text, messages.SUCCESS)

    action.__name__ = f"maintenance_{'on' if on else 'off'}"
    action.short_description = description
    return action


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ("name", "uri", "cluster", "domain_type", "status", "cpus", "memory_mb", "last_seen_at")
    list_filter = ("status", "domain_type", "cluster")
    search_fields = ("name", "uri", "hostname")
    actions = [
        job_action("host_refresh", "Check connection and capacity"),
        _maintenance(True, "Put into maintenance (no new VMs)"),
        _maintenance(False, "Take out of maintenance (check again)"),
    ]
    readonly_fields = (
        "status_reason",
        "cpus",
        "memory_mb",
        "disk_bytes",
        "disk_free_bytes",
        "hostname",
        "libvirt_version",
        "last_seen_at",
        "cpu_xml",
        "created_at",
        "updated_at",
    )


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    """Name and description are staff's; the setup comes from the first host, the baseline
    CPU from the `cluster_baseline` job. A cluster with hosts cannot be deleted (its hosts
    protect it, as in apps.hosts.clusters.delete_cluster)."""

    list_display = ("name", "domain_type", "network", "storage_path", "cpu_model", "cpu_computed_at")
    search_fields = ("name", "description")
    fields = ("name", "description", *READ_ONLY_CLUSTER)
    readonly_fields = READ_ONLY_CLUSTER
    actions = [job_action("cluster_baseline", "Compute the baseline CPU again")]
