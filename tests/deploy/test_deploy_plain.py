"""Deploy the demo image configured offline by virt-customize, on the real local libvirtd,
prove from inside the guest (its agent, not the panel) what the customer ordered, make an
image of the VM, keep a warm pool of that image (a standby deployed from it, a machine id of
its own), order a VM the standby serves (personalised live through the agent: password, key,
hostname, new machine id and SSH host keys, disk grown online, vCPUs and memory set), and
delete everything: nothing is left on the host. The first VM is a full copy of the image, the
standby a linked clone of the image made of it."""

import subprocess

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.images.models import Image, ImageStatus
from apps.jobs.models import JobStatus, StepStatus
from apps.virt.errors import NotFound
from apps.vms import warm_pool
from apps.vms.changes import delete_vm, make_image
from apps.vms.create import create_vm
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from apps.vms.services import vm_operation
from tests.deploy.waiting import wait_until

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]


def run(capture, fn, *args, **kwargs):
    with capture(execute=True):
        result = fn(*args, **kwargs)
    return result


def inside(driver, vm, command):
    """What `command` prints in the running guest (through its agent)."""
    code, output = driver.agent_exec(vm.domain_name, ["/bin/sh", "-c", command])
    assert code == 0, output
    return output.strip()


def machine_id(driver, vm):
    """The guest's machine id, once its agent answers (it starts after the network)."""
    wait_until(lambda: inside(driver, vm, "cat /etc/machine-id"), 240)
    return inside(driver, vm, "cat /etc/machine-id")


def host_key(driver, vm):
    return inside(driver, vm, "cat /etc/ssh/ssh_host_ed25519_key.pub")


def served_host_key(vm):
    """[type, key] of the Ed25519 host key the guest's sshd offers on its address."""
    scan = ["ssh-keyscan", "-T", "5", "-t", "ed25519", vm.ip_addresses[0]]
    found = subprocess.run(scan, capture_output=True, text=True, timeout=30).stdout.split()
    return found[1:3]


def disk_of(driver, host, vm):
    return driver.volume_info(host.storage_pool, vm.disk_volume)


def finished(job):
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error)
    return job


def test_deploy_inspect_image_redeploy_and_delete(
    customer, local_host, plain_image, ssh_key, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    vm, job = run(
        capture,
        create_vm,
        customer,
        name="web-1",
        image=plain_image,
        vcpus=2,
        memory_mb=1024,
        disk_gb=4,
        hostname="web-1.example.test",
        password="Correct-Horse-7",
        ssh_keys=[ssh_key],
        full_copy=True,
    )
    finished(job)
    vm.refresh_from_db()

    assert [s.status for s in job.steps.all()] == [StepStatus.SUCCEEDED] * 7
    assert vm.status == VmStatus.ACTIVE and vm.power_state == PowerState.RUNNING
    assert vm.current_job is None
    assert vm.ip_addresses and vm.ip_addresses[0].startswith("198.51.100.")  # the isolated test network
    driver = hypervisor_for(local_host)
    assert driver.get_domain(vm.domain_name).state == "running"
    disk = driver.volume_info(local_host.storage_pool, vm.disk_volume)
    assert disk.capacity_bytes == 4 * 2**30
    assert disk.backing_path is None  # a full copy (the standby below is a linked clone)

    first_id = machine_id(driver, vm)
    assert inside(driver, vm, "cat /etc/hostname") == "web-1.example.test"
    assert inside(driver, vm, "getent shadow root | cut -d: -f2") == job.params["root_password_hash"]
    assert ssh_key in inside(driver, vm, "cat /root/.ssh/authorized_keys")
    # The 2 GiB image's root filesystem grew with the 4 GiB disk.
    assert int(inside(driver, vm, "df --output=size -B1 / | tail -1")) > 3.5 * 2**30

    stop = finished(run(capture, vm_operation, vm, "vm_stop"))
    assert stop.steps.get().detail == "the guest shut down"  # by ACPI, not forced

    imaging = finished(run(capture, make_image, vm, "web-1-template", actor=customer))
    image = Image.objects.get(pk=imaging.result["image_id"])
    assert (image.owner, image.status, image.visibility) == (customer, ImageStatus.READY, "private")

    # A warm pool of that image (docs/warm-pool.md): its standby is deployed from the image
    # (a machine id of its own: the image was sealed) and booted ahead of the order.
    sizes = {"size": 1, "max_vcpus": 2, "max_memory_mb": 1024, "disk_gb": 4}
    pool = run(capture, warm_pool.save_pool, None, image=image, host=local_host, **sizes)
    standby = pool.standbys.get()
    assert (standby.status, standby.owner.username) == (VmStatus.ACTIVE, warm_pool.POOL_USERNAME)
    assert disk_of(driver, local_host, standby).backing_path is not None  # a linked clone of the image
    standby_id = machine_id(driver, standby)
    assert len(standby_id) == 32 and standby_id != first_id
    standby_host_key = host_key(driver, standby)  # made as ssh.service started: its boot is over
    assert standby_host_key.startswith("ssh-ed25519 ")
    assert inside(driver, standby, "nproc") == "1"
    # Staff stop topping the pool up (the fast tests see a take queue the top-up, which deploys
    # a standby as above): the standby it holds still serves the next order.
    run(capture, warm_pool.save_pool, None, pool=pool, size=0)

    clone, clone_job = run(
        capture,
        create_vm,
        customer,
        name="web-2",
        image=image,
        vcpus=2,
        memory_mb=1024,
        disk_gb=5,
        hostname="web-2.example.test",
        password="Other-Horse-8",
        ssh_keys=[ssh_key],
    )
    finished(clone_job)
    clone.refresh_from_db()
    assert clone.pk == standby.pk and clone.owner == customer  # the standby, personalised live
    steps = list(clone_job.steps.all())
    assert [s.status for s in steps] == [StepStatus.SUCCEEDED] * 7
    assert all("taken from the warm pool" in s.detail for s in steps), [s.detail for s in steps]
    # Served by the standby itself, not by the fall-back deploy from the image (whose steps
    # would keep the notes above and add their own).
    assert not any("personalising it failed" in s.detail for s in steps), [s.detail for s in steps]
    assert "personalised live through the guest agent" in steps[3].detail, steps[3].detail
    assert "virt-customize" not in steps[3].detail, steps[3].detail
    assert clone.power_state == PowerState.RUNNING and clone.ip_addresses
    assert clone.ip_addresses != vm.ip_addresses
    assert inside(driver, clone, "cat /etc/hostname") == "web-2.example.test"
    assert inside(driver, clone, "hostname") == "web-2.example.test"  # the running system's too
    assert inside(driver, clone, "grep '^127.0.1.1' /etc/hosts") == "127.0.1.1\tweb-2.example.test web-2"
    assert inside(driver, clone, "getent shadow root | cut -d: -f2") == clone_job.params["root_password_hash"]
    assert ssh_key in inside(driver, clone, "cat /root/.ssh/authorized_keys")
    clone_id = machine_id(driver, clone)
    assert len(clone_id) == 32 and clone_id not in (first_id, standby_id)  # a machine id of its own
    # New host keys, and the ones its sshd serves (reloaded in place).
    clone_host_key = host_key(driver, clone)
    assert clone_host_key.startswith("ssh-ed25519 ") and clone_host_key != standby_host_key
    wait_until(lambda: served_host_key(clone) == clone_host_key.split()[:2], 30)
    assert disk_of(driver, local_host, clone).capacity_bytes == 5 * 2**30  # grown online
    assert int(inside(driver, clone, "df --output=size -B1 / | tail -1")) > 4.5 * 2**30
    assert inside(driver, clone, "nproc") == "2"
    wait_until(
        lambda: int(inside(driver, clone, "awk '/MemTotal/ {print $2}' /proc/meminfo")) > 850 * 1024, 30
    )  # the standby ran with 512 MiB
    assert not pool.standbys.exists()  # the served VM is no standby any more, and none was added

    run(capture, warm_pool.delete_pool, None, pool)
    for doomed in (vm, clone):
        finished(run(capture, delete_vm, doomed, actor=customer))
        with pytest.raises(NotFound):
            driver.get_domain(doomed.domain_name)
    assert not VirtualMachine.objects.exists()
    names = [v.name for v in driver.list_volumes(local_host.storage_pool)]
    assert not [n for n in names if n.startswith("vmm-")]
