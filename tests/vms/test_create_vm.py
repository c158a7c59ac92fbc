"""Ordering a VM: bad input is refused before any job starts, naming the field."""

import pytest
from django.core.exceptions import ValidationError

from apps.hosts.models import Host, HostStatus
from apps.images.models import Image, ImageStatus, Visibility
from apps.jobs.models import Job, JobStatus
from apps.vms.create import create_vm
from apps.vms.models import VirtualMachine, VmStatus

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGf8y5b0c6lTiK2xjKJ3V3m9s0mJb3cVv2Zq6cQb5m0V user@laptop"
GOOD = {"name": "web-1", "vcpus": 1, "memory_mb": 1024, "disk_gb": 4, "password": "Correct-Horse-7"}


@pytest.fixture
def roomy_host(test_host):
    Host.objects.filter(pk=test_host.pk).update(cpus=4, memory_mb=8192, disk_bytes=100 * 2**30)
    test_host.refresh_from_db()
    return test_host


def order(owner, image, **changes):
    return create_vm(owner, image=image, **{**GOOD, **changes})


def refused(owner, image, **changes):
    with pytest.raises(ValidationError) as error:
        order(owner, image, **changes)
    assert not VirtualMachine.objects.exists() and not Job.objects.exists()
    return error.value.message_dict


def test_a_valid_order_places_the_vm_and_queues_its_deploy(customer, roomy_host, ready_image):
    vm, job = order(customer, ready_image, ssh_keys=[KEY], hostname="web-1.example.com")

    assert vm.host == roomy_host and vm.status == VmStatus.CREATING
    assert (job.kind, job.status, job.owner) == ("vm_create", JobStatus.QUEUED, customer)
    assert job.params["hostname"] == "web-1.example.com"
    assert job.params["ssh_keys"] == [KEY]
    assert job.params["root_password_hash"].startswith("$6$")
    assert "Correct-Horse-7" not in str(job.params)  # only the hash is kept
    vm.refresh_from_db()
    assert vm.current_job == job


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": ""}, "name"),
        ({"name": "bad name!"}, "name"),
        ({"hostname": "web_1"}, "hostname"),
        ({"password": "short1A"}, "password"),
        ({"password": "alllowercaseletters"}, "password"),
        ({"password": "", "ssh_keys": []}, "password"),
        ({"ssh_keys": ["ssh-rsa not-base64!"]}, "ssh_keys"),
        ({"ssh_keys": ["ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ"]}, "ssh_keys"),
        ({"disk_gb": 1}, "disk_gb"),
        ({"vcpus": 0}, "vcpus"),
        ({"memory_mb": 100}, "memory_mb"),
        ({"network": {"address": "10.0.0.5/24", "gateway": "10.1.0.1"}}, "network"),
        ({"timezone": "Mars/Olympus Mons"}, "timezone"),
        ({"vcpus": 64, "memory_mb": 262144}, "host"),
    ],
)
def test_bad_input_is_refused_naming_the_field(customer, roomy_host, ready_image, changes, field):
    assert field in refused(customer, ready_image, **changes)


def test_a_taken_name_is_refused(customer, roomy_host, ready_image):
    order(customer, ready_image)
    with pytest.raises(ValidationError) as error:
        order(customer, ready_image)
    assert "name" in error.value.message_dict
    assert VirtualMachine.objects.count() == 1


def test_an_image_the_customer_cannot_see_is_unknown(customer, other_customer, roomy_host):
    private = Image.objects.create(
        name="theirs",
        owner=other_customer,
        visibility=Visibility.PRIVATE,
        status=ImageStatus.READY,
        virtual_size_bytes=2**30,
        checksum_sha256="1" * 64,
    )
    assert refused(customer, private)["image"] == ["No such image."]


def test_an_image_that_is_not_ready_is_refused(customer, roomy_host, ready_image):
    Image.objects.filter(pk=ready_image.pk).update(status=ImageStatus.PENDING)
    ready_image.refresh_from_db()
    assert "not ready" in refused(customer, ready_image)["image"][0]


def test_a_host_in_maintenance_or_unreachable_takes_no_vms(customer, roomy_host, ready_image):
    Host.objects.filter(pk=roomy_host.pk).update(status=HostStatus.MAINTENANCE)
    assert "No online host" in refused(customer, ready_image)["host"][0]


def test_placement_spreads_by_default_and_fills_when_asked(customer, roomy_host, ready_image, settings):
    big = Host.objects.create(
        name="big", uri="test:///big", status=HostStatus.ONLINE, cpus=8, memory_mb=32768, disk_bytes=200 * 2**30
    )
    first, _ = order(customer, ready_image, name="a")
    assert first.host == big  # most free memory
    settings.VMM_PLACEMENT = "fill"
    second, _ = order(customer, ready_image, name="b")
    assert second.host == roomy_host  # least free memory that still fits


def test_capacity_counts_the_vms_already_placed(customer, roomy_host, ready_image):
    order(customer, ready_image, name="a", memory_mb=6144)
    assert "host" in refused_after(customer, ready_image, name="b", memory_mb=4096)


def refused_after(owner, image, **changes):
    with pytest.raises(ValidationError) as error:
        order(owner, image, **changes)
    return error.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_two_orders_of_one_name_at_the_same_moment_refuse_the_second_as_a_late_one_is(
    customer, roomy_host, ready_image, monkeypatch
):
    monkeypatch.setattr("apps.jobs.runner.enqueue", lambda job, sync=None: None)  # no worker here
    from tests.concurrency import first_commits_once_the_second_waits

    with first_commits_once_the_second_waits(lambda: order(customer, ready_image)):
        with pytest.raises(ValidationError) as at_once:
            order(customer, ready_image)
    with pytest.raises(ValidationError) as late:
        order(customer, ready_image)

    assert at_once.value.message_dict == late.value.message_dict == {"name": ["You already have a VM named 'web-1'."]}
    assert VirtualMachine.objects.count() == 1 and Job.objects.count() == 1
