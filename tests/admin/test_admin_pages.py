import pytest
from django.urls import reverse
from django.utils import timezone

from apps.jobs.models import Job
from apps.vms.models import VirtualMachine

CHANGELISTS = [
    "admin:accounts_user_changelist",
    "admin:hosts_host_changelist",
    "admin:images_image_changelist",
    "admin:vms_virtualmachine_changelist",
    "admin:jobs_job_changelist",
]


@pytest.fixture
def populated(customer, test_host, ready_image):
    vm = VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host, image=ready_image)
    job = Job.objects.create(kind="vm_start", target=vm, target_repr="web-1", owner=customer, request_id="r-00000001")
    job.steps.create(position=1, name="Start the VM")
    return vm, job


@pytest.mark.parametrize("name", CHANGELISTS)
def test_every_list_loads_with_search_and_filters(client, admin_user, populated, name):
    client.force_login(admin_user)
    response = client.get(reverse(name), {"q": "web"})
    assert response.status_code == 200
    assert b"errornote" not in response.content


def test_the_vm_list_finds_by_search(client, admin_user, populated):
    client.force_login(admin_user)
    found = client.get(reverse("admin:vms_virtualmachine_changelist"), {"q": "web-1"})
    missing = client.get(reverse("admin:vms_virtualmachine_changelist"), {"q": "nothing-like-it"})
    assert b"web-1" in found.content
    assert b"0 virtual machines" in missing.content


def test_admins_filter_the_vms_in_rescue_mode(client, admin_user, populated, customer, test_host):
    VirtualMachine.objects.create(name="rescued-1", owner=customer, host=test_host, rescue_since=timezone.now())
    client.force_login(admin_user)
    listed = client.get(reverse("admin:vms_virtualmachine_changelist"), {"rescue_since__isempty": "0"}).content
    assert b"rescued-1" in listed and b"web-1" not in listed


def test_job_history_is_read_only(client, admin_user, populated):
    _, job = populated
    client.force_login(admin_user)
    page = client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    assert page.status_code == 200
    assert b"Start the VM" in page.content
    assert b'name="_save"' not in page.content
    assert client.get(reverse("admin:jobs_job_add")).status_code == 403
    assert client.post(reverse("admin:jobs_job_delete", args=[job.pk]), {"post": "yes"}).status_code == 403
    assert Job.objects.filter(pk=job.pk).exists()


def test_customers_cannot_enter_the_admin(client, customer):
    client.force_login(customer)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302


def test_an_admin_action_starts_jobs_under_the_requests_id(client, admin_user, populated):
    vm, _ = populated
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:vms_virtualmachine_changelist"),
        {"action": "start_vm_stop", "_selected_action": [vm.pk]},
        HTTP_X_REQUEST_ID="admin-req-000001",
        follow=True,
    )
    assert b"Started vm_stop for 1 object" in response.content
    job = Job.objects.get(kind="vm_stop")
    assert job.request_id == "admin-req-000001" and job.actor == admin_user
    vm.refresh_from_db()
    assert vm.current_job == job  # claimed: queued for the workers, not run in the request


def test_an_admin_action_on_a_busy_vm_says_which_job_holds_it(client, admin_user, populated):
    vm, _ = populated
    client.force_login(admin_user)
    action = {"action": "start_vm_stop", "_selected_action": [vm.pk]}
    client.post(reverse("admin:vms_virtualmachine_changelist"), action)
    holder = Job.objects.get(kind="vm_stop")

    response = client.post(reverse("admin:vms_virtualmachine_changelist"), action, follow=True)

    assert f"busy with vm_stop (job {holder.pk})".encode() in response.content
    assert Job.objects.filter(kind="vm_stop").count() == 1
