from django.contrib import admin

from apps.jobs.models import Job, JobStep, Worker


class JobStepInline(admin.TabularInline):
    model = JobStep
    extra = 0
    can_delete = False
    fields = ("position", "name", "status", "started_at", "finished_at", "duration", "detail")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Read-only history: jobs are written by the runner alone."""

    list_display = ("kind", "target_repr", "status", "actor", "owner", "created_at", "duration", "request_id")
    list_filter = ("status", "kind", "created_at")
    search_fields = ("id", "request_id", "target_repr", "actor__username", "owner__username", "error")
    list_select_related = ("actor", "owner")
    date_hierarchy = "created_at"
    inlines = [JobStepInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """Read-only: the job workers' heartbeats, written by the workers alone."""

    list_display = ("name", "machine", "pid", "started_at", "beat_at")
    search_fields = ("name", "machine")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
