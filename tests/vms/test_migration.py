"""Cold migration and emptying a host on libvirt's test driver (docs/migration.md): two
independent simulated hosts (a node file each, with the panel's storage pool). The test
driver cannot stream volumes, so a move fails at "Copy the disk to the target": what a
failed move must leave is checked here (the VM on its host as it was, its snapshot's layer
too, nothing on the target); a move that succeeds, with snapshots, is
tests/multihost/test_migrate.py's."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import DomainType, Host, HostStatus
from apps.images.hostcopy import volume_name
from apps.images.models import CopyStatus, ImageCopy
from apps.ipam.models import Address, Network
from apps.ipam.pools import create_pool
from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.virt.errors import NotFound
from apps.vms import migrate_work, placement
from apps.vms.deploy.steps import domain_spec
from apps.vms.evacuation import evacuate_host
from apps.vms.migration import migrate_vm
from apps.vms.models import PowerState, Snapshot, VirtualMachine, VmStatus

NODE = """<node>
  <cpu><nodes>1</nodes><sockets>1</sockets><cores>16</cores><threads>1</threads>
    <active>16</active><mhz>2000</mhz><model>i686</model></cpu>
  <memory>16777216</memory>
  <pool type="dir"><name>vmmanager</name><target><path>/{name}-pool</path></target></pool>
</node>
"""
ROOM = {"cpus": 16, "memory_mb": 16384, "disk_bytes": 100 * 2**30, "status": HostStatus.ONLINE}


@pytest.fixture
def hosts(tmp_path, db):
    """Two online hosts with room, each its own simulated node (network "default")."""
    made = []
    for name in ("alpha", "beta"):
        path = tmp_path / f"{name}.xml"
        path.write_text(NODE.format(name=name))
        made.append(
            Host.objects.create(name=name, uri=f"test://{path}", domain_type=DomainType.QEMU, network="default", **ROOM)
        )
    return made


def stopped_vm(owner, host, image, name="mover"):
    """A stopped VM with its disk and domain on `host`, and the image's copy there and on
    every other host (the test driver cannot upload one)."""
    vm = VirtualMachine.objects.create(
        name=name, owner=owner, host=host, image=image, vcpus=1, memory_mb=512, disk_gb=2,
        mac_address="52:54:00:12:34:56", status=VmStatus.ACTIVE, power_state=PowerState.STOPPED,
    )  # fmt: skip
    for each in Host.objects.all():
        driver = hypervisor_for(each)
        volume = volume_name(image)
        try:
            info = driver.volume_info(each.storage_pool, volume)
        except NotFound:
            info = driver.create_volume(each.storage_pool, volume, 2**30)
        ImageCopy.objects.get_or_create(
            image=image, host=each, defaults={"volume": volume, "path": info.path, "status": CopyStatus.READY}
        )
    driver = hypervisor_for(host)
    disk = driver.create_volume(host.storage_pool, vm.disk_volume, 2 * 2**30)
    driver.define(domain_spec(vm, disk.path))
    return vm


def vm_things(host):
    driver = hypervisor_for(host)
    return sorted(
        [d.name for d in driver.list_domains() if d.name.startswith("vmm-")]
        + [v.name for v in driver.list_volumes(host.storage_pool) if v.name.startswith("vmm-")]
    )


def run(capture, start):
    with capture(execute=True):
        job = start()
    job.refresh_from_db()
    return job


def refused(**kwargs):
    with pytest.raises(ValidationError) as error:
        migrate_vm(**kwargs)
    return error.value.message_dict


def test_what_may_not_move_is_refused_with_the_reason(admin_user, customer, reseller, hosts, ready_image):
    alpha, beta = hosts
    vm = stopped_vm(customer, alpha, ready_image)
    with pytest.raises(PermissionDenied):
        migrate_vm(vm, host=beta.pk, actor=customer)
    with pytest.raises(PermissionDenied):
        migrate_vm(vm, host=beta.pk, actor=reseller)
    assert refused(vm=vm, host="nowhere", actor=admin_user) == {"host": ["No such host."]}
    assert refused(vm=vm, host=alpha.name, actor=admin_user) == {"host": ["The VM is already on host alpha."]}
    Host.objects.filter(pk=beta.pk).update(network="")
    assert refused(vm=vm, host=beta.pk, actor=admin_user) == {
        "host": ["Host beta has no network: the VM would lose its interface."]
    }
    assert "No other online host" in refused(vm=vm, actor=admin_user)["host"][0]
    Host.objects.filter(pk=beta.pk).update(network="default", memory_mb=256)
    assert "has no room" in refused(vm=vm, host=beta.pk, actor=admin_user)["host"][0]
    Host.objects.filter(pk=beta.pk).update(memory_mb=16384)
    public = Network.objects.create(name="public", libvirt_network="public")
    public.hosts.add(alpha)
    pool = create_pool(network=public, name="v4", subnet="198.51.100.0/29")
    Address.objects.filter(pk=Address.objects.filter(pool=pool).order_by("position").first().pk).update(vm=vm)
    assert refused(vm=vm, host=beta.pk, actor=admin_user) == {
        "host": ["Host beta does not carry network public of the VM's addresses."]
    }
    public.hosts.add(beta)
    VirtualMachine.objects.filter(pk=vm.pk).update(power_state=PowerState.PAUSED)
    vm.refresh_from_db()
    assert refused(vm=vm, host=beta.pk, actor=admin_user) == {
        "vm": ["Only a running or stopped VM is migrated: start or stop it first."]
    }
    Host.objects.filter(pk=beta.pk).update(status=HostStatus.MAINTENANCE)
    VirtualMachine.objects.filter(pk=vm.pk).update(power_state=PowerState.STOPPED)
    vm.refresh_from_db()
    assert refused(vm=vm, host=beta.pk, actor=admin_user) == {
        "host": ["Host beta is in maintenance: it takes no new VMs."]
    }
    other = VirtualMachine.objects.create(name="theirs", owner=admin_user, host=alpha, status=VmStatus.ACTIVE)
    with pytest.raises(Http404):
        migrate_vm(other, actor=customer)


def test_a_move_that_fails_leaves_the_vm_on_its_host_and_nothing_on_the_target(
    admin_user, customer, hosts, ready_image, django_capture_on_commit_callbacks
):
    """A VM with a snapshot moves with it (no refusal): its disk is read as a chain of layers;
    a failed move leaves them all on the source, and a copy of a layer an earlier attempt left
    on the target is removed first."""
    alpha, beta = hosts
    vm = stopped_vm(customer, alpha, ready_image)
    src = hypervisor_for(alpha)
    overlay = f"vmm-{vm.uuid}-snap-one.qcow2"
    layer = src.clone_volume_linked(
        alpha.storage_pool, overlay, src.volume_info(alpha.storage_pool, vm.disk_volume).path
    )
    src.define(domain_spec(vm, layer.path))
    Snapshot.objects.create(vm=vm, name="before", overlay_volume=overlay)
    before = vm_things(alpha)
    assert overlay in before
    for name in (vm.disk_volume, overlay):
        hypervisor_for(beta).create_volume(beta.storage_pool, name, 2**30)

    job = run(django_capture_on_commit_callbacks, lambda: migrate_vm(vm, actor=admin_user))

    assert job.status == JobStatus.FAILED
    steps = {s.name: (s.status, s.detail) for s in job.steps.all()}
    assert "removed a copy left on beta by an earlier attempt" in steps["Check the target"][1]
    assert steps["Copy the disk to the target"][0] == "failed"
    assert steps["Switch the VM to the target"][0] == "skipped"
    vm.refresh_from_db()
    assert vm.host == alpha and vm.status == VmStatus.ACTIVE and vm.current_job is None
    assert vm_things(alpha) == before  # domain, disk and snapshot layer as they were
    assert src.disk_source(vm.domain_name) == layer.path
    assert hypervisor_for(alpha).get_domain(vm.domain_name).state == "shutoff"
    assert vm_things(beta) == []
    assert not vm.owed_cleanups.exists()


def test_the_room_a_vm_moves_into_is_held_until_its_move_ends(admin_user, customer, hosts, ready_image):
    """Between the decision and the switch a move takes minutes (a disk copied, a live
    migration): an order, or another move, must not take the room it goes to meanwhile."""
    alpha, beta = hosts
    Host.objects.filter(pk=beta.pk).update(memory_mb=768)  # room for one VM of 512 MiB
    vm = stopped_vm(customer, alpha, ready_image)
    other = stopped_vm(customer, alpha, ready_image, name="other")
    size = (vm.vcpus, vm.memory_mb, vm.disk_gb)

    job = migrate_vm(vm, host=beta.name, actor=admin_user)  # decided: its job waits for a worker
    vm.refresh_from_db()
    assert vm.moving_to == beta and vm.host == alpha
    with transaction.atomic(), pytest.raises(placement.NoCapacity, match="Host beta has no room"):
        placement.choose_host(*size, host=beta)  # a pinned order
    with transaction.atomic():
        assert placement.choose_host(*size) == alpha  # an order placed anywhere
    assert "Host beta has no room" in refused(vm=other, host=beta.pk, actor=admin_user)["host"][0]

    # The move itself passes its check of the target (its own room there is its own); the
    # test driver then cannot copy the disk: it fails, and the room is free again.
    job = runner.execute(job.pk)
    assert job.status == JobStatus.FAILED
    assert job.steps.get(name="Check the target").status == "succeeded"
    assert job.steps.get(name="Copy the disk to the target").status == "failed"
    vm.refresh_from_db()
    assert vm.host == alpha and vm.moving_to is None
    with transaction.atomic():
        assert placement.choose_host(*size, host=beta) == beta


def test_the_room_held_for_a_vm_on_its_way_shows_on_the_host_pages_and_in_the_api(
    admin_user, customer, hosts, ready_image
):
    """What placement counts is what staff see: a host whose room is held for a VM moving in
    does not look emptier than the refusals say."""
    from rest_framework.test import APIClient

    alpha, beta = hosts
    vm = stopped_vm(customer, alpha, ready_image)
    api = APIClient()
    api.force_authenticate(admin_user)

    def shown(host):
        one = api.get(f"/api/v1/hosts/{host.pk}/").json()
        listed = {row["id"]: row for row in api.get("/api/v1/hosts/").json()["results"]}[host.pk]
        assert listed == one
        return {key: one[key] for key in ("allocation", "vms", "incoming_vms")}

    held = {"allocation": {"vcpus": 1, "memory_mb": 512, "disk_gb": 2}}
    assert shown(alpha) == held | {"vms": 1, "incoming_vms": 0}
    assert shown(beta)["allocation"] == {"vcpus": 0, "memory_mb": 0, "disk_gb": 0}
    assert api.get(f"/api/v1/hosts/{beta.pk}/").json()["capacity"] == placement.capacity(beta)

    job = migrate_vm(vm, host=beta.name, actor=admin_user)
    assert shown(beta) == held | {"vms": 0, "incoming_vms": 1}
    assert shown(alpha) == held | {"vms": 1, "incoming_vms": 0}  # still placed there
    host_page = page(admin_user, reverse("ui:host_detail", args=[beta.pk]))
    assert "Includes 1 VM on its way here." in host_page
    assert "Включая 1 ВМ, которая переносится сюда." in page(admin_user, reverse("ui:host_list"), "ru")
    assert "1 / 64" in host_page  # its vCPU of beta's 64 (16 CPUs, overcommit 4)

    runner.execute(job.pk)  # the test driver cannot copy the disk: the move fails
    assert shown(beta) == {"allocation": {"vcpus": 0, "memory_mb": 0, "disk_gb": 0}, "vms": 0, "incoming_vms": 0}
    host_page = page(admin_user, reverse("ui:host_detail", args=[beta.pk]))
    assert "on its way here" not in host_page and "0 / 64" in host_page


def test_a_running_vm_whose_live_migration_fails_keeps_running_on_its_host(
    admin_user, customer, hosts, ready_image, django_capture_on_commit_callbacks
):
    """The test driver has no migration: the failure is libvirt's own refusal."""
    alpha, beta = hosts
    vm = stopped_vm(customer, alpha, ready_image)
    hypervisor_for(alpha).start(vm.domain_name)
    VirtualMachine.objects.filter(pk=vm.pk).update(power_state=PowerState.RUNNING)
    vm.refresh_from_db()
    job = run(django_capture_on_commit_callbacks, lambda: migrate_vm(vm, host=beta.name, actor=admin_user))
    assert job.status == JobStatus.FAILED
    assert "live: the VM runs" in job.steps.get(name="Check the target").detail
    assert job.steps.get(name="Put the VM on the target").status == "failed"
    vm.refresh_from_db()
    assert vm.host == alpha and hypervisor_for(alpha).get_domain(vm.domain_name).state == "running"
    assert vm_things(beta) == []  # the empty layer made for the migration is gone again


def test_emptying_a_host_moves_what_can_move_and_names_what_stays(
    admin_user, customer, hosts, ready_image, django_capture_on_commit_callbacks, monkeypatch
):
    alpha, beta = hosts
    with pytest.raises(ValidationError) as not_yet:
        evacuate_host(admin_user, alpha)
    assert "Put host alpha into maintenance first" in not_yet.value.messages[0]
    paused = stopped_vm(customer, alpha, ready_image, name="busy-one")
    hypervisor_for(alpha).start(paused.domain_name)
    hypervisor_for(alpha).suspend(paused.domain_name)
    stopped = stopped_vm(customer, alpha, ready_image, name="quiet-one")
    VirtualMachine.objects.filter(pk=stopped.pk).update(mac_address="52:54:00:12:34:57")
    Host.objects.filter(pk=alpha.pk).update(status=HostStatus.MAINTENANCE)
    # Beta has room for one such VM, and an earlier move of quiet-one whose worker was killed
    # left its hold there: not counted against its own next move.
    Host.objects.filter(pk=beta.pk).update(memory_mb=768)
    VirtualMachine.objects.filter(pk=stopped.pk).update(moving_to=beta)
    # While quiet-one is being moved, beta's room is held for it: seen as its image is copied.
    held = []
    copy_image = migrate_work.ensure_on_host

    def watching(image, host, **kwargs):
        held.append((host.name, placement.allocation(host)["memory_mb"]))
        return copy_image(image, host, **kwargs)

    monkeypatch.setattr(migrate_work, "ensure_on_host", watching)

    job = run(django_capture_on_commit_callbacks, lambda: evacuate_host(admin_user, alpha))

    assert held == [("beta", stopped.memory_mb)]
    assert placement.allocation(beta)["memory_mb"] == 0  # the failed move freed it
    assert job.status == JobStatus.FAILED
    listed = job.steps.get(name="List the VMs on the host").detail
    assert "busy-one (paused)" in listed and "quiet-one (stopped)" in listed
    moves = job.steps.get(name="Move the VMs").detail
    assert "busy-one stays: Only a running or stopped VM is migrated: start or stop it first." in moves
    assert "quiet-one stays: the move to beta failed" in moves
    assert job.steps.get(name="Check that the host is empty").detail.startswith("2 VM(s) stay on alpha: busy-one")
    # Never lost: both still on alpha, as they were; nothing on beta; their claims released.
    assert set(VirtualMachine.objects.filter(host=alpha).values_list("name", flat=True)) == {"busy-one", "quiet-one"}
    assert not VirtualMachine.objects.filter(current_job__isnull=False).exists()
    assert vm_things(beta) == []


def page(user, url, language="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    response = client.get(url)
    translation.deactivate()  # the locale middleware leaves the page's language active
    assert response.status_code == 200
    return response.content.decode()


def test_the_pages_offer_migration_and_maintenance_to_staff_only(admin_user, customer, hosts, ready_image):
    alpha, _beta = hosts
    vm = stopped_vm(customer, alpha, ready_image)
    vm_page = reverse("ui:vm_detail", args=[vm.pk])
    assert "data-migrate-link" in page(admin_user, vm_page)
    assert "data-migrate-link" not in page(customer, vm_page)
    assert "Перенести на другой хост" in page(admin_user, vm_page, "ru")
    form = page(admin_user, reverse("ui:vm_migrate", args=[vm.pk]))
    assert "Let placement choose" in form and "beta (Online)" in form

    host_page = reverse("ui:host_detail", args=[alpha.pk])
    assert "Put into maintenance" in page(admin_user, host_page) and "data-evacuate" not in page(admin_user, host_page)
    Host.objects.filter(pk=alpha.pk).update(status=HostStatus.MAINTENANCE)
    shown = page(admin_user, host_page, "ru")
    assert "Завершить обслуживание" in shown and "Освободить этот хост" in shown and "data-maintenance-note" in shown
