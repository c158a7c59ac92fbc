import uuid

from django.urls import reverse
from django.utils import timezone

from apps.jobs.models import Job


def failed_deploy(vm):
    now = timezone.now()
    job = Job.objects.create(
        kind="vm_create", target=vm, target_repr=vm.name, owner=vm.owner, request_id="req-0000000042",
        status="failed", error="Storage pool 'vmmanager' is full", started_at=now, finished_at=now,
    )  # fmt: skip
    ended = {"started_at": now, "finished_at": now}
    job.steps.create(position=1, name="Choose a host", status="succeeded", **ended)
    job.steps.create(
        position=2,
        name="Copy the image to the host",
        status="failed",
        detail="Storage pool 'vmmanager' is full",
        **ended,
    )
    job.steps.create(position=3, name="Create the disk", status="skipped")
    job.steps.create(position=4, name="Configure the guest", status="skipped")
    return job


def test_a_failed_job_names_the_failed_step_and_the_reason(as_customer, my_vm):
    job = failed_deploy(my_vm)

    response = as_customer.get(reverse("ui:job_detail", args=[job.pk]))

    page = response.content.decode()
    assert "Failed at step 2: Copy the image to the host" in page
    assert "Storage pool &#x27;vmmanager&#x27; is full" in page
    assert response.context["progress"] == 50  # two of four planned steps ended; skipped ones do not count
    assert f'data-live-job="{job.pk}"' in page  # live.js takes over from the rendered history
    assert "req-0000000042" in page


def test_a_queued_job_waits_for_a_worker(as_customer, my_vm):
    job = Job.objects.create(kind="vm_start", target=my_vm, target_repr="mine-1", owner=my_vm.owner, request_id="r-1")
    page = as_customer.get(reverse("ui:job_detail", args=[job.pk])).content.decode()
    assert "Waiting for a worker" in page and "Queued" in page


def test_another_tenants_job_and_an_unknown_job_are_not_found(as_customer, their_vm):
    job = failed_deploy(their_vm)
    assert as_customer.get(reverse("ui:job_detail", args=[job.pk])).status_code == 404
    assert as_customer.get(reverse("ui:job_detail", args=[uuid.uuid4()])).status_code == 404


def test_the_job_list_shows_a_tenants_jobs_filtered_by_status(as_customer, my_vm, their_vm):
    failed_deploy(my_vm)
    failed_deploy(their_vm)
    Job.objects.create(kind="vm_start", target=my_vm, target_repr="mine-1", owner=my_vm.owner, request_id="r-1")

    everything = as_customer.get(reverse("ui:job_list")).context["page"]
    failed = as_customer.get(reverse("ui:job_list"), {"status": "failed"}).context["page"]

    assert sorted(job.kind for job in everything) == ["vm_create", "vm_start"]
    assert [job.kind for job in failed] == ["vm_create"]
