"""Admin actions that start jobs: the request only writes rows, the workers do the work."""

from django.contrib import messages

from apps.jobs import runner


def start_jobs(modeladmin, request, queryset, kind, params=None):
    """Submit `kind` for each selected object and tell the operator what happened."""
    started, busy = 0, []
    for obj in queryset:
        try:
            runner.submit(kind, obj, actor=request.user, params=params, request_id=request.request_id)
            started += 1
        except runner.TargetBusy as exc:
            busy.append(str(exc))
    if started:
        modeladmin.message_user(request, f"Started {kind} for {started} object(s).", messages.SUCCESS)
    for text in busy:
        modeladmin.message_user(request, text, messages.WARNING)


def job_action(kind, description):
    def action(modeladmin, request, queryset):
        start_jobs(modeladmin, request, queryset, kind)

    action.__name__ = f"start_{kind}"
    action.short_description = description
    return action
