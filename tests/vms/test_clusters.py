"""Clusters keep a VM among hosts that can run it (docs/clusters.md): placement chooses
within the cluster asked for, a migration target or an emptied host's VMs stay in the VM's
cluster, and a VM's domain gets its cluster's baseline CPU (new VMs at once, existing ones
at their next start from the panel). On libvirt's test driver (two simulated hosts and a
third in another cluster); the baseline's computation by real libvirt is
tests/virt/test_driver_real.py's, across two real hosts tests/multihost/test_migrate.py's."""

import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import ValidationError

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Cluster, DomainType, Host, HostStatus
from apps.vms.changes import power_vm
from apps.vms.create import create_vm
from apps.vms.evacuation import evacuate_host
from apps.vms.migration import migrate_vm
from tests.api.conftest import client_for
from tests.virt.test_domain_xml import CLUSTER_CPU
from tests.vms.test_migration import NODE, ROOM, run, stopped_vm

ORDER = {"vcpus": 1, "memory_mb": 512, "disk_gb": 2, "password": "Correct-Horse-7"}


@pytest.fixture
def clustered(tmp_path, db):
    """alpha and beta in cluster "east" (with a baseline CPU), gamma alone in "west"."""
    east = Cluster.objects.create(
        name="east", domain_type="qemu", network="default", cpu_xml=CLUSTER_CPU, cpu_model="EPYC"
    )
    west = Cluster.objects.create(name="west")
    made = []
    for name, cluster in (("alpha", east), ("beta", east), ("gamma", west)):
        path = tmp_path / f"{name}.xml"
        path.write_text(NODE.format(name=name))
        made.append(
            Host.objects.create(
                name=name, uri=f"test://{path}", domain_type=DomainType.QEMU, network="default", cluster=cluster, **ROOM
            )
        )
    return made


def cpu_model(host, vm):
    cpu = ET.fromstring(hypervisor_for(host).domain_xml(vm.domain_name, inactive=True)).find("cpu")
    return cpu.findtext("model") if cpu is not None else None


def test_an_order_is_placed_within_the_cluster_asked_for(admin_user, customer, clustered, ready_image):
    alpha, beta, gamma = clustered
    west = gamma.cluster
    vm, _job = create_vm(customer, name="w1", image=ready_image, cluster=west.pk, actor=admin_user, **ORDER)
    assert vm.host == gamma
    # A host outside the cluster asked for is refused on `host`; customers do not choose one.
    with pytest.raises(ValidationError) as refused:
        create_vm(customer, name="w2", image=ready_image, cluster=west, host=alpha, actor=admin_user, **ORDER)
    assert refused.value.message_dict == {"host": ["Host alpha is not in cluster west."]}
    with pytest.raises(ValidationError) as refused:
        create_vm(customer, name="w3", image=ready_image, cluster=west.pk, actor=customer, **ORDER)
    assert refused.value.message_dict == {"cluster": ["Only staff may choose the cluster."]}
    # A full cluster is said on `cluster`, also through the API.
    Host.objects.filter(pk=gamma.pk).update(memory_mb=256)
    body = {"name": "w4", "image": ready_image.pk, "owner": customer.pk, "cluster": west.pk, **ORDER}
    answer = client_for(admin_user).post("/api/v1/vms/", body, format="json")
    assert answer.status_code == 400, answer.content
    [error] = answer.json()["errors"]
    assert error["field"] == "cluster" and error["message"].startswith("No online host of cluster west has room")
    answer = client_for(admin_user).post("/api/v1/vms/", {**body, "cluster": 999999}, format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "cluster"


def test_a_new_vm_gets_its_clusters_baseline_cpu_and_an_existing_one_at_its_next_start(
    customer, clustered, ready_image, django_capture_on_commit_callbacks
):
    alpha, _beta, gamma = clustered
    vm = stopped_vm(customer, alpha, ready_image)  # defined from domain_spec, as a deploy does
    assert cpu_model(alpha, vm) == "EPYC"
    old = stopped_vm(customer, gamma, ready_image, name="older")  # west: no baseline, QEMU's default CPU
    assert cpu_model(gamma, old) is None
    Cluster.objects.filter(pk=gamma.cluster_id).update(cpu_xml=CLUSTER_CPU.replace("EPYC", "Opteron_G2"))
    old.host.cluster.refresh_from_db()
    job = run(django_capture_on_commit_callbacks, lambda: power_vm(old, "start", actor=customer))
    assert job.status == "succeeded", job.error
    assert "CPU set to the cluster's baseline" in job.steps.get().detail
    assert cpu_model(gamma, old) == "Opteron_G2"


def test_a_vm_moves_only_within_its_cluster(
    admin_user, customer, clustered, ready_image, django_capture_on_commit_callbacks
):
    alpha, beta, gamma = clustered
    vm = stopped_vm(customer, alpha, ready_image)
    with pytest.raises(ValidationError) as refused:
        migrate_vm(vm, host=gamma.name, actor=admin_user)
    assert refused.value.message_dict == {
        "host": [
            "Host gamma is in cluster west, the VM in cluster east: a VM moves only within its cluster "
            "(its CPU and setup are the cluster's)."
        ]
    }
    answer = client_for(admin_user).post(f"/api/v1/vms/{vm.pk}/migrate/", {"host": gamma.pk}, format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "host"
    assert "moves only within its cluster" in answer.json()["errors"][0]["message"]
    # Placement's choice: beta (gamma has more room but is in another cluster).
    Host.objects.filter(pk=gamma.pk).update(memory_mb=65536)
    job = run(django_capture_on_commit_callbacks, lambda: migrate_vm(vm, actor=admin_user))
    assert "from alpha to beta" in job.steps.get(name="Check the target").detail
    # Without room in its cluster it is refused, though gamma has room.
    Host.objects.filter(pk=beta.pk).update(memory_mb=256)
    with pytest.raises(ValidationError) as refused:
        migrate_vm(vm, actor=admin_user)
    assert refused.value.messages[0].startswith("No other online host of cluster east with the VM's network has room")


def test_emptying_a_host_stays_in_its_cluster(
    admin_user, customer, clustered, ready_image, django_capture_on_commit_callbacks
):
    alpha, beta, gamma = clustered
    stopped_vm(customer, alpha, ready_image)
    Host.objects.filter(pk=beta.pk).update(status=HostStatus.MAINTENANCE)  # the cluster's only other host
    Host.objects.filter(pk=alpha.pk).update(status=HostStatus.MAINTENANCE)
    alpha.refresh_from_db()
    job = run(django_capture_on_commit_callbacks, lambda: evacuate_host(admin_user, alpha))
    assert job.status == "failed"
    assert "mover stays: No other online host of cluster east" in job.steps.get(name="Move the VMs").detail
    assert not gamma.vms.exists()
