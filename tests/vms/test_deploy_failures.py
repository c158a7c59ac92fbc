"""A deploy that fails leaves the job failed at its step with a readable reason, the VM
`failed`, and nothing on the host (libvirt's test driver)."""

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.jobs.models import JobStatus, StepStatus
from apps.vms.create import create_vm
from apps.vms.models import PowerState, VmStatus

ORDER = {"name": "web-1", "vcpus": 1, "memory_mb": 1024, "disk_gb": 4, "password": "Correct-Horse-7"}


def deploy(capture, owner, image, **changes):
    with capture(execute=True):
        vm, job = create_vm(owner, image=image, **{**ORDER, **changes})
    job.refresh_from_db()
    vm.refresh_from_db()
    return vm, job


def test_a_failed_copy_fails_the_job_at_that_step_and_leaves_nothing(
    customer, test_host, ready_image, django_capture_on_commit_callbacks
):
    Host.objects.filter(pk=test_host.pk).update(cpus=4, memory_mb=8192, disk_bytes=100 * 2**30)
    vm, job = deploy(django_capture_on_commit_callbacks, customer, ready_image)

    assert job.status == JobStatus.FAILED
    steps = list(job.steps.all())
    assert [(s.name, s.status) for s in steps[:3]] == [
        ("Choose a host", StepStatus.SUCCEEDED),
        ("Copy the image to the host", StepStatus.FAILED),
        ("Create the disk", StepStatus.SKIPPED),
    ]
    assert steps[1].detail and "Internal error" not in steps[1].detail
    assert vm.status == VmStatus.FAILED and vm.power_state == PowerState.MISSING
    assert vm.current_job is None
    driver = hypervisor_for(test_host)
    assert not [v for v in driver.list_volumes(test_host.storage_pool) if str(vm.uuid) in v.name]
    assert not [d for d in driver.list_domains() if str(vm.uuid) in d.name]


def test_an_unreachable_host_becomes_a_failed_step_with_the_reason(
    customer, ready_image, db, django_capture_on_commit_callbacks
):
    Host.objects.create(
        name="far",
        uri="qemu+tcp://127.0.0.1:1/system",
        status=HostStatus.ONLINE,
        cpus=4,
        memory_mb=8192,
        disk_bytes=100 * 2**30,
    )
    vm, job = deploy(django_capture_on_commit_callbacks, customer, ready_image)

    assert job.status == JobStatus.FAILED
    failed = job.steps.get(status=StepStatus.FAILED)
    assert failed.name == "Copy the image to the host"
    assert "unreachable" in failed.detail and "127.0.0.1:1" in failed.detail
    assert vm.status == VmStatus.FAILED and vm.current_job is None
