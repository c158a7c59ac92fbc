"""Ordering VMs and acting on them: 202 with the job, nothing runs in the request."""

import pytest

from apps.accounts.plans import Plan
from apps.jobs.models import Job
from apps.vms.models import VirtualMachine, VmStatus
from tests.api.conftest import SSH_KEY, codes, make_vm, order

pytestmark = pytest.mark.django_db


def test_ordering_a_vm_answers_202_with_the_vm_and_its_deploy_job(api, customer, host, ready_image):
    response = api(customer).post("/api/v1/vms/", order(ready_image))
    assert response.status_code == 202, response.json()
    body = response.json()
    vm = VirtualMachine.objects.get(pk=body["vm"]["id"])
    assert (vm.owner, vm.host, vm.status) == (customer, host, VmStatus.CREATING)
    assert body["job"]["kind"] == "vm_create"
    assert body["job"]["url"].endswith(f"/api/v1/jobs/{body['job']['id']}/")
    assert response["Location"] == body["job"]["url"]
    assert Job.objects.get(pk=body["job"]["id"]).request_id == response["X-Request-ID"]


def test_a_bad_order_names_each_field_and_creates_nothing(api, customer, host, ready_image):
    response = api(customer).post("/api/v1/vms/", order(ready_image, name="-bad", hostname="x_y", password="short"))
    assert response.status_code == 400
    assert {field for field, _ in codes(response)} >= {"name", "hostname", "password"}
    assert not VirtualMachine.objects.exists()


def test_an_order_may_take_its_sizes_from_a_plan_and_keys_from_saved_ones(api, customer, host, ready_image):
    plan = Plan.objects.create(name="small", vcpus=2, memory_mb=2048, disk_gb=20)
    client = api(customer)
    key = client.post("/api/v1/ssh-keys/", {"name": "laptop", "public_key": SSH_KEY}).json()
    body = {"name": "web-1", "image": ready_image.pk, "plan": plan.pk, "ssh_key_ids": [key["id"]]}
    response = client.post("/api/v1/vms/", body)
    assert response.status_code == 202, response.json()
    assert (response.json()["vm"]["vcpus"], response.json()["vm"]["disk_gb"]) == (2, 20)
    assert Job.objects.get(kind="vm_create").params["ssh_keys"] == [SSH_KEY]


def test_a_reseller_orders_for_its_customer_but_not_for_a_stranger(
    api, reseller, customer, other_customer, host, ready_image
):
    client = api(reseller)
    response = client.post("/api/v1/vms/", order(ready_image, owner=customer.pk))
    assert response.status_code == 202
    assert VirtualMachine.objects.get().owner == customer
    response = client.post("/api/v1/vms/", order(ready_image, name="web-2", owner=other_customer.pk))
    assert (response.status_code, codes(response)) == (400, [("owner", "does_not_exist")])


def test_only_staff_may_pin_the_host(api, customer, admin_user, host, ready_image):
    response = api(customer).post("/api/v1/vms/", order(ready_image, host=host.pk))
    assert codes(response) == [("host", "forbidden")]
    assert api(admin_user).post("/api/v1/vms/", order(ready_image, host=host.pk)).status_code == 202


def test_the_list_filters_by_state_and_searches_by_name(api, customer, host):
    make_vm(customer, host, "web-1", power_state="running")
    make_vm(customer, host, "db-1", power_state="stopped")
    client = api(customer)
    assert [v["name"] for v in client.get("/api/v1/vms/?state=running").json()["results"]] == ["web-1"]
    assert [v["name"] for v in client.get("/api/v1/vms/?search=db").json()["results"]] == ["db-1"]
    assert client.get("/api/v1/vms/?state=flying").status_code == 400


def test_pages_are_cursors_with_a_page_size_up_to_200(api, customer, host):
    for i in range(3):
        make_vm(customer, host, f"vm-{i}")
    client = api(customer)
    first = client.get("/api/v1/vms/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert client.get("/api/v1/vms/?page_size=1000").status_code == 200


@pytest.mark.parametrize(
    "path,kind",
    [
        ("start", "vm_start"),
        ("stop", "vm_stop"),
        ("reboot", "vm_reboot"),
        ("power-off", "vm_power_off"),
        ("suspend", "vm_suspend"),
        ("resume", "vm_resume"),
    ],
)
def test_each_power_action_starts_its_job_and_answers_202(api, customer, host, path, kind):
    vm = make_vm(customer, host)
    response = api(customer).post(f"/api/v1/vms/{vm.pk}/{path}/")
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert (job.kind, job.target, job.actor) == (kind, vm, customer)


def test_an_action_on_a_busy_vm_is_409_naming_the_running_job(api, customer, host):
    from apps.jobs import runner

    vm = make_vm(customer, host)
    running = runner.submit("vm_stop", vm, actor=customer, queue=False)
    response = api(customer).post(f"/api/v1/vms/{vm.pk}/start/")
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert (error["code"], error["job"]) == ("busy", str(running.pk))
    assert error["job_url"].endswith(f"/api/v1/jobs/{running.pk}/")


def test_an_unknown_operation_is_a_4xx_not_a_500(api, customer, host, monkeypatch):
    from apps.jobs import registry

    vm = make_vm(customer, host)

    def unknown(kind):
        raise registry.UnknownOperation(kind)

    monkeypatch.setattr(registry, "load", unknown)
    response = api(customer).post(f"/api/v1/vms/{vm.pk}/reset-password/", {"password": "N3w-Passw0rd!x"})
    assert (response.status_code, codes(response)) == (400, [(None, "not_available")])
    assert not Job.objects.exists()


def test_parameterized_actions_start_their_jobs_without_plain_passwords(api, customer, host, ready_image):
    client = api(customer)
    vms = [make_vm(customer, host, name=f"vm-{i}", image=ready_image, disk_gb=5) for i in range(4)]
    calls = [
        (vms[0], "reset-password", {"password": "N3w-Passw0rd!x"}, "vm_reset_password"),
        (vms[1], "reinstall", {"image": ready_image.pk, "password": "N3w-Passw0rd!x"}, "vm_reinstall"),
        (vms[2], "resize", {"vcpus": 2, "disk_gb": 8}, "vm_resize"),
        (vms[3], "make-image", {"name": "golden"}, "vm_make_image"),
    ]
    for vm, path, body, kind in calls:
        response = client.post(f"/api/v1/vms/{vm.pk}/{path}/", body)
        assert response.status_code == 202, (path, response.json())
        job = Job.objects.get(pk=response.json()["job"]["id"])
        assert (job.kind, job.actor) == (kind, customer)
        assert "N3w-Passw0rd!x" not in str(job.params)
        assert "root_password_hash" not in client.get(response.json()["job"]["url"]).json()["params"]
    assert Job.objects.get(kind="vm_resize").params == {"vcpus": 2, "memory_mb": 1024, "disk_gb": 8}
    assert Job.objects.get(kind="vm_reinstall").params["image_id"] == ready_image.pk


def test_parameterized_actions_refuse_bad_input_naming_the_field(api, customer, other_customer, host, ready_image):
    from apps.images.models import Image

    theirs = Image.objects.create(
        name="theirs", owner=other_customer, status="ready", virtual_size_bytes=2**30, checksum_sha256="2" * 64
    )
    vm = make_vm(customer, host, image=ready_image, disk_gb=5)
    client = api(customer)
    refusals = [
        ("reinstall", {"image": theirs.pk, "password": "N3w-Passw0rd!x"}, "image"),
        ("resize", {"disk_gb": 2}, "disk_gb"),
        ("make-image", {"name": "golden", "visibility": "public"}, "visibility"),
        ("reset-password", {"password": "short"}, "password"),
    ]
    for path, body, field in refusals:
        response = client.post(f"/api/v1/vms/{vm.pk}/{path}/", body)
        assert response.status_code == 400, (path, response.json())
        assert field in [error["field"] for error in response.json()["errors"]], (path, response.json())
    assert not Job.objects.exists()


def test_deleting_a_vm_is_a_vm_delete_job(api, customer, host):
    vm = make_vm(customer, host)
    response = api(customer).delete(f"/api/v1/vms/{vm.pk}/")
    assert response.status_code in (202, 400)
    if response.status_code == 202:
        assert response.json()["job"]["kind"] == "vm_delete"


def test_an_order_can_ask_for_a_full_copy_instead_of_a_linked_clone(api, customer, host, ready_image):
    linked = api(customer).post("/api/v1/vms/", order(ready_image, name="linked"))
    full = api(customer).post("/api/v1/vms/", order(ready_image, name="full", full_copy=True))

    assert (linked.status_code, full.status_code) == (202, 202)
    assert Job.objects.get(pk=linked.json()["job"]["id"]).params["full_copy"] is False
    assert Job.objects.get(pk=full.json()["job"]["id"]).params["full_copy"] is True
