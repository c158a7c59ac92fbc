from django.contrib import admin

from apps.jobs.admin_actions import job_action
from apps.vms.models import ConsoleSession, OwedCleanup, Snapshot, VirtualMachine, WarmPool


@admin.register(VirtualMachine)
class VirtualMachineAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "host", "image", "vcpus", "memory_mb", "disk_gb", "power_state", "status")
    list_filter = (
        "power_state",
        "status",
        "host",
        "image",
        ("standby_of", admin.EmptyFieldListFilter),
        ("rescue_since", admin.EmptyFieldListFilter),  # in rescue mode (docs/rescue.md)
    )
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
        "rescue_since",  # the rescue jobs keep it in step with the domain's definition
        "created_at",
        "updated_at",
    )


@admin.register(WarmPool)
class WarmPoolAdmin(admin.ModelAdmin):
    """Warm pools (docs/warm-pool.md); the schedule tops them up (apps.vms.warm_pool)."""

    list_display = ("image", "host", "size", "max_vcpus", "max_memory_mb", "disk_gb", "updated_at")
    list_filter = ("host",)
    list_select_related = ("image", "host")

    def delete_model(self, request, obj):
        from apps.vms import warm_pool

        warm_pool.delete_pool(request.user, obj)


@admin.register(OwedCleanup)
class OwedCleanupAdmin(admin.ModelAdmin):
    """Read-only: debts are written by failed operations and settled by the reconciliations."""

    list_display = ("domain_name", "host", "vm", "job", "created_at", "attempts", "done_at", "outcome")
    list_filter = ("host", ("done_at", admin.EmptyFieldListFilter))
    search_fields = ("domain_name",)
    list_select_related = ("host", "vm", "job")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ConsoleSession)
class ConsoleSessionAdmin(admin.ModelAdmin):
    """The audit record of web console sessions (docs/console.md): read-only."""

    list_display = ("created_at", "username", "vm_name", "kind", "address", "opened_at", "closed_at", "duration")
    list_filter = ("kind",)
    search_fields = ("username", "vm_name")
    exclude = ("ticket_hash",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are taken, reverted to and deleted through their jobs (docs/snapshots.md),
    never by editing a row."""

    list_display = ("name", "vm", "state", "consistency", "size_bytes", "created_at")
    list_filter = ("state", "consistency")
    search_fields = ("name", "vm__name", "overlay_volume")
    list_select_related = ("vm",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
