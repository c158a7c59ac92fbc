from django.contrib import admin

from apps.hosts.models import Host
from apps.jobs.admin_actions import job_action


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ("name", "uri", "domain_type", "status", "cpus", "memory_mb", "last_seen_at")
    list_filter = ("status", "domain_type")
    search_fields = ("name", "uri", "hostname")
    actions = [job_action("host_refresh", "Check connection and capacity")]
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
