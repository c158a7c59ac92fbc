from django.contrib import admin

from apps.jobs.admin_actions import job_action
from apps.vms.models import VirtualMachine


@admin.register(VirtualMachine)
class VirtualMachineAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "host", "image", "vcpus", "memory_mb", "disk_gb", "power_state", "status")
    list_filter = ("power_state", "status", "host", "image")
    search_fields = ("name", "hostname", "uuid", "owner__username")
    list_select_related = ("owner", "host", "image")
    autocomplete_fields = ("owner",)
    actions = [
        job_action("vm_start", "Start"),
        job_action("vm_stop", "Stop (graceful, then power off)"),
        job_action("vm_reboot", "Reboot"),
        job_action("vm_power_off", "Power off"),
    ]
    readonly_fields = (
        "uuid",
        "ip_addresses",
        "power_state",
        "current_job",
        "state_synced_at",
        "created_at",
        "updated_at",
    )
