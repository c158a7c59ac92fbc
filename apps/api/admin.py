"""Admin pages for the API's models (the audit log's own admin comes with django-auditlog)."""

from django.contrib import admin

from apps.accounts.plans import Plan
from apps.accounts.quotas import Quota
from apps.accounts.sshkeys import SshKey
from apps.accounts.tokens import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "read_only", "created_at", "last_used_at")
    list_filter = ("read_only",)
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    exclude = ("key_hash",)
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False  # the secret is shown once, by the API (POST /api/v1/tokens/)


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = (
        "user", "max_vms", "max_vcpus", "max_memory_mb", "max_disk_gb", "max_addresses", "max_snapshots", "max_backups",
        "max_backup_gb",
        "updated_at",
    )  # fmt: skip
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)


@admin.register(SshKey)
class SshKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "fingerprint", "created_at")
    search_fields = ("name", "owner__username", "fingerprint")
    readonly_fields = ("fingerprint",)
    autocomplete_fields = ("owner",)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "vcpus", "memory_mb", "disk_gb", "price_code", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "price_code")
