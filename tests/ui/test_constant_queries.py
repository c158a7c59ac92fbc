"""List pages run a fixed number of queries, however many rows they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import User
from apps.accounts.plans import Plan
from apps.hosts.models import Host
from apps.images.models import Image
from apps.jobs.models import Job, JobStatus
from tests.ui.conftest import make_vm


def fill(prefix, count, host, image):
    """`count` users, each with a VM, a running and a failed job on it, a host and an image."""
    for i in range(count):
        owner = User.objects.create_user(f"{prefix}-{i}")
        vm = make_vm(owner, host, image, name=f"{prefix}-{i}")
        for status in (JobStatus.RUNNING, JobStatus.FAILED):
            Job.objects.create(
                kind="vm_start", target=vm, target_repr=vm.name, owner=owner, actor=owner, request_id="r-00000001",
                status=status, error="boom" if status == JobStatus.FAILED else "",
            )  # fmt: skip
        Host.objects.create(name=f"{prefix}-{i}", uri=f"test:///{prefix}{i}", cpus=2, memory_mb=1024)
        Image.objects.create(name=f"{prefix}-{i}", owner=owner, status="pending")
        Plan.objects.create(name=f"{prefix}-{i}", vcpus=1, memory_mb=1024, disk_gb=10)


@pytest.mark.parametrize(
    "name",
    ["ui:dashboard", "ui:host_list", "ui:image_list", "ui:job_list", "ui:vm_list", "ui:user_list", "ui:plan_list"],
)
def test_a_list_page_runs_no_more_queries_for_twenty_rows_than_for_two(
    client, admin_user, sized_host, ready_image, django_assert_max_num_queries, name
):
    client.force_login(admin_user)
    fill("few", 2, sized_host, ready_image)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(name)).status_code == 200
    fill("many", 18, sized_host, ready_image)

    with django_assert_max_num_queries(len(few)):
        response = client.get(reverse(name))

    assert response.status_code == 200
    assert b"many-17" in response.content or name == "ui:dashboard"
