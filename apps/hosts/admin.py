from django.contrib import admin, messages

from apps.hosts import services
from apps.hosts.models import Host
from apps.jobs.admin_actions import job_action


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
    list_display = ("name", "uri", "domain_type", "status", "cpus", "memory_mb", "last_seen_at")
    list_filter = ("status", "domain_type")
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
        "created_at",
        "updated_at",
    )
