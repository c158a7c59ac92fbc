import re

from django.urls import reverse
from django.utils import timezone

from apps.accounts.sshkeys import SshKey
from apps.jobs.models import Job
from apps.jobs.registry import UnknownOperation
from apps.vms.models import VirtualMachine

STRONG = "Str0ng-enough-pw"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@example"


def test_another_tenants_vm_is_not_found_on_any_of_its_pages(as_customer, their_vm):
    for name in (
        "ui:vm_detail",
        "ui:vm_reinstall",
        "ui:vm_password",
        "ui:vm_resize",
        "ui:vm_delete",
        "ui:vm_make_image",
        "ui:vm_jobs",
        "ui:vm_rescue",
        "ui:vm_unrescue",
    ):
        assert as_customer.get(reverse(name, args=[their_vm.pk])).status_code == 404
    assert as_customer.post(reverse("ui:vm_power", args=[their_vm.pk, "stop"])).status_code == 404
    assert not Job.objects.exists()


def test_the_vm_page_shows_specs_addresses_state_and_the_buttons_that_fit_it(as_customer, my_vm):
    page = as_customer.get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    assert "192.0.2.10" in page and "Running" in page and "debian-12" in page

    def button(action):
        return re.search(rf"<form [^>]*/power/{action}/[^>]*>", page).group(0)

    assert " hidden" not in button("stop") and " hidden" not in button("reboot")
    assert " hidden" in button("start") and " hidden" in button("resume")


def test_a_power_button_queues_the_job_and_returns_to_the_vm(as_customer, customer, my_vm):
    response = as_customer.post(reverse("ui:vm_power", args=[my_vm.pk, "stop"]), HTTP_X_REQUEST_ID="ui-stop-000001")

    assert response["Location"] == reverse("ui:vm_detail", args=[my_vm.pk])
    job = Job.objects.get(kind="vm_stop")
    assert (job.actor, job.request_id, job.status) == (customer, "ui-stop-000001", "queued")
    my_vm.refresh_from_db()
    assert my_vm.current_job == job


def test_a_busy_vm_says_which_job_holds_it(as_customer, my_vm):
    as_customer.post(reverse("ui:vm_power", args=[my_vm.pk, "stop"]))
    holder = Job.objects.get()

    page = as_customer.post(reverse("ui:vm_power", args=[my_vm.pk, "reboot"]), follow=True).content.decode()

    assert "busy with “Shut down”" in page
    assert reverse("ui:job_detail", args=[holder.pk]) in page
    assert Job.objects.count() == 1


def test_an_operation_the_panel_does_not_have_is_a_message_not_an_error(as_customer, my_vm, monkeypatch):
    def unknown(kind):
        raise UnknownOperation(kind)

    monkeypatch.setattr("apps.jobs.registry.load", unknown)
    response = as_customer.post(
        reverse("ui:vm_resize", args=[my_vm.pk]), {"vcpus": 2, "memory_mb": 2048, "disk_gb": 20}, follow=True
    )
    assert response.status_code == 200
    assert "“Resize” is not available on this panel yet." in response.content.decode()


def test_resize_queues_the_new_sizes(as_customer, my_vm):
    response = as_customer.post(
        reverse("ui:vm_resize", args=[my_vm.pk]), {"vcpus": 2, "memory_mb": 2048, "disk_gb": 20}
    )
    job = Job.objects.get(kind="vm_resize")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])
    assert job.params == {"vcpus": 2, "memory_mb": 2048, "disk_gb": 20}


def test_a_password_reset_sends_the_hash_only(as_customer, my_vm):
    as_customer.post(reverse("ui:vm_password", args=[my_vm.pk]), {"password": STRONG})
    job = Job.objects.get(kind="vm_reset_password")
    assert set(job.params) == {"root_password_hash"}
    assert job.params["root_password_hash"].startswith("$6$") and STRONG not in str(job.params)


def test_a_weak_password_is_refused_on_its_field(as_customer, my_vm):
    response = as_customer.post(reverse("ui:vm_password", args=[my_vm.pk]), {"password": "short"})
    assert "password" in response.context["form"].errors
    assert not Job.objects.exists()


def test_reinstall_needs_the_confirmation_and_queues_the_chosen_image(as_customer, my_vm, ready_image):
    form = {"image": ready_image.pk, "password": STRONG}
    refused = as_customer.post(reverse("ui:vm_reinstall", args=[my_vm.pk]), form)
    assert "confirm" in refused.context["form"].errors

    as_customer.post(reverse("ui:vm_reinstall", args=[my_vm.pk]), {**form, "confirm": "on"})

    job = Job.objects.get(kind="vm_reinstall")
    assert job.params["image_id"] == ready_image.pk and job.params["hostname"] == "mine-1"
    assert job.params["root_password_hash"].startswith("$6$")


def test_reinstall_without_password_or_key_says_so_on_the_password_field(as_customer, my_vm, ready_image):
    response = as_customer.post(reverse("ui:vm_reinstall", args=[my_vm.pk]), {"image": ready_image.pk, "confirm": "on"})
    assert "password" in response.context["form"].errors
    assert not Job.objects.exists()


def test_delete_asks_for_the_vms_name(as_customer, my_vm):
    refused = as_customer.post(reverse("ui:vm_delete", args=[my_vm.pk]), {"name": "something-else"})
    assert "name" in refused.context["form"].errors
    assert not Job.objects.exists()

    response = as_customer.post(reverse("ui:vm_delete", args=[my_vm.pk]), {"name": "mine-1"})

    job = Job.objects.get(kind="vm_delete")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])


def test_a_customer_makes_a_private_image_of_its_vm(as_customer, customer, my_vm):
    page = as_customer.get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    assert reverse("ui:vm_make_image", args=[my_vm.pk]) in page  # in the VM's actions

    response = as_customer.post(
        reverse("ui:vm_make_image", args=[my_vm.pk]), {"name": "shop-template", "visibility": "private"}
    )

    job = Job.objects.get(kind="vm_make_image")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])
    assert (job.actor, job.params) == (customer, {"name": "shop-template", "visibility": "private"})


def test_only_staff_may_make_an_image_of_a_vm_public(as_customer, my_vm, client, admin_user):
    response = as_customer.post(
        reverse("ui:vm_make_image", args=[my_vm.pk]), {"name": "shop-template", "visibility": "public"}
    )
    assert "visibility" in response.context["form"].errors
    assert not Job.objects.exists()

    client.force_login(admin_user)
    client.post(reverse("ui:vm_make_image", args=[my_vm.pk]), {"name": "golden", "visibility": "public"})
    assert Job.objects.get(kind="vm_make_image").params["visibility"] == "public"


def test_an_image_name_taken_by_the_owner_is_refused_on_the_name_field(as_customer, customer, my_vm):
    from apps.images.models import Image

    Image.objects.create(name="taken", owner=customer, status="pending")
    response = as_customer.post(
        reverse("ui:vm_make_image", args=[my_vm.pk]), {"name": "taken", "visibility": "private"}
    )
    assert "already exists" in response.context["form"].errors["name"][0]


def test_the_vm_pages_job_history_is_served_alone_for_its_live_redraw(as_customer, my_vm):
    as_customer.post(reverse("ui:vm_power", args=[my_vm.pk, "stop"]))
    job = Job.objects.get()
    page = as_customer.get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    assert f'data-vm-jobs="{my_vm.pk}" data-current-job="{job.pk}"' in page  # live.js follows this job

    table = as_customer.get(reverse("ui:vm_jobs", args=[my_vm.pk])).content.decode()

    assert "<table" in table and "<html" not in table
    assert reverse("ui:job_detail", args=[job.pk]) in table and "Queued" in table


def test_rescue_mode_is_explained_entered_shown_on_the_vm_page_and_left(as_customer, customer, my_vm, rescue_system):
    detail = reverse("ui:vm_detail", args=[my_vm.pk])
    assert reverse("ui:vm_rescue", args=[my_vm.pk]) in as_customer.get(detail).content.decode()
    explained = as_customer.get(reverse("ui:vm_rescue", args=[my_vm.pk])).content.decode()
    assert "/dev/vda" in explained and "mount /dev/vda1 /mnt" in explained
    assert "The owner has no saved SSH key" in explained
    SshKey.objects.create(owner=customer, name="laptop", public_key=KEY)
    explained = as_customer.get(reverse("ui:vm_rescue", args=[my_vm.pk])).content.decode()
    assert "The owner's saved SSH key also logs in as root over SSH" in explained

    response = as_customer.post(reverse("ui:vm_rescue", args=[my_vm.pk]), {"csrfmiddlewaretoken": "x"})
    job = Job.objects.get(kind="vm_rescue")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk]) and job.actor == customer

    # As the job leaves it: the page says so, offers the console and the way out, not the way in.
    VirtualMachine.objects.filter(pk=my_vm.pk).update(rescue_since=timezone.now(), current_job=None)
    page = as_customer.get(detail).content.decode()
    assert "data-rescue>" in page and reverse("ui:vm_unrescue", args=[my_vm.pk]) in page
    assert reverse("ui:vm_rescue", args=[my_vm.pk]) not in page
    listed = as_customer.get(reverse("ui:vm_list")).content.decode()
    assert "data-rescue" in listed and "Rescue mode" in listed  # a VM left in rescue mode stands out
    refused = as_customer.post(reverse("ui:vm_password", args=[my_vm.pk]), {"password": STRONG}).content.decode()
    assert "The VM is in rescue mode: leave rescue mode first." in refused
    as_customer.post(reverse("ui:vm_unrescue", args=[my_vm.pk]), {"csrfmiddlewaretoken": "x"})
    assert Job.objects.get(kind="vm_unrescue").target_id == my_vm.pk
