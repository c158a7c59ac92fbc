"""Jobs: the live view of one job (full history, then every change as it happens) and
the list of the jobs a user may see."""

from django.shortcuts import get_object_or_404, render

from apps.jobs.filtersets import JobFilterSet
from apps.jobs.models import JobStatus, StepStatus
from apps.jobs.selectors import visible_jobs
from apps.ui.access import signed_in
from apps.ui.jobs_links import target_url
from apps.ui.paging import paginate

ENDED_STEPS = (StepStatus.SUCCEEDED, StepStatus.FAILED)


def progress(job, steps):
    """How far the job got: 100 once it succeeded, else the percentage of planned steps that
    ended (a failed job stops where it failed; skipped steps do not count)."""
    if job.status == JobStatus.SUCCEEDED:
        return 100
    if not steps:
        return 0
    return round(100 * sum(step.status in ENDED_STEPS for step in steps) / len(steps))


@signed_in
def job_detail(request, pk):
    job = get_object_or_404(visible_jobs(request.user).select_related("actor", "target_type"), pk=pk)
    steps = list(job.steps.order_by("position"))
    context = {
        "job": job,
        "steps": steps,
        "progress": progress(job, steps),
        "failed_step": next((step for step in steps if step.status == StepStatus.FAILED), None),
        "target_url": target_url(job),
    }
    return render(request, "ui/jobs/detail.html", context)


@signed_in
def job_list(request):
    jobs = visible_jobs(request.user).select_related("actor", "target_type").order_by("-created_at")
    # The API's filters (status, kind, request_id, vm); a value they refuse is left out.
    filters = JobFilterSet(request.GET, queryset=jobs)
    jobs = filters.qs
    status = filters.form.cleaned_data.get("status")
    page, query = paginate(request, jobs)
    for job in page:
        job.target_url = target_url(job)
    context = {"page": page, "query": query, "status": status, "statuses": dict(JobStatus.choices)}
    return render(request, "ui/jobs/list.html", context)
