"""Every page answers from the database: a hypervisor call inside a request would fail these."""

import pytest
from django.urls import reverse

from apps.jobs.models import Job


@pytest.fixture(autouse=True)
def no_hypervisor(monkeypatch):
    """Every way to the hypervisor builds the driver (apps.virt.driver.Hypervisor): refuse it,
    whichever module a page reached it through."""

    def refuse(*args, **kwargs):
        raise AssertionError("a page called the hypervisor")

    monkeypatch.setattr("apps.virt.driver.Hypervisor.__init__", refuse)


def test_every_page_renders_without_the_hypervisor(as_admin, my_vm, sized_host, ready_image):
    job = Job.objects.create(kind="vm_start", target=my_vm, target_repr="mine-1", owner=my_vm.owner, request_id="r-1")
    pages = [
        reverse("ui:dashboard"),
        reverse("ui:host_list"),
        reverse("ui:host_detail", args=[sized_host.pk]),
        reverse("ui:host_edit", args=[sized_host.pk]),
        reverse("ui:host_add"),
        reverse("ui:image_list"),
        reverse("ui:image_detail", args=[ready_image.pk]),
        reverse("ui:vm_list"),
        reverse("ui:vm_detail", args=[my_vm.pk]),
        reverse("ui:vm_jobs", args=[my_vm.pk]),
        reverse("ui:vm_make_image", args=[my_vm.pk]),
        reverse("ui:vm_snapshot_create", args=[my_vm.pk]),
        reverse("ui:image_import"),
        reverse("ui:image_upload"),
        reverse("ui:vm_create"),
        reverse("ui:job_list"),
        reverse("ui:job_detail", args=[job.pk]),
    ]
    for url in pages:
        assert as_admin.get(url).status_code == 200, url


def test_actions_only_queue_jobs(as_admin, my_vm, sized_host, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        as_admin.post(reverse("ui:vm_power", args=[my_vm.pk, "stop"]))
        as_admin.post(reverse("ui:host_refresh", args=[sized_host.pk]))
    assert Job.objects.filter(status="queued").count() == 2
    # Handed to the workers once the request's transaction commits (besides the live-page
    # events that say the VM is now busy).
    handed_to_workers = [callback for callback in queued if "submit" in callback.__qualname__]
    assert len(handed_to_workers) == 2
