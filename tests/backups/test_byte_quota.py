"""The per-user limit on the bytes backups hold (`max_backup_gb`, docs/backups.md "Rules"):
the GiB the owner's backups added to their repositories (restic's data_added, rounded up),
kept backups of deleted VMs included, a reseller's covering its customers'; a backup is
refused once they hold more (400 on `quota` naming the field); shown in the usage and set
through the quotas API like the other limits."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.accounts.quotas import Quota
from apps.backups.models import Backup, BackupRepository, BackupState, RepositoryState
from apps.backups.services import create_backup
from apps.vms.models import VirtualMachine, VmStatus
from apps.vms.quotas import usage
from tests.api.conftest import client_for


@pytest.fixture
def world(customer, test_host, tmp_path):
    repository = BackupRepository.objects.create(
        name="local", path=str(tmp_path / "repo"), password="x" * 12, state=RepositoryState.READY
    )
    vm = VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host, status=VmStatus.ACTIVE)
    return vm, repository


def held(vm, repository, added, kept=False):
    return Backup.objects.create(
        vm=None if kept else vm, vm_name=vm.name, owner=vm.owner, repository=repository, state=BackupState.READY,
        restic_snapshot_id="a" * 64, filename=f"vm-{vm.pk}-vda.raw", added_bytes=added,
    )  # fmt: skip


def test_a_backup_is_refused_once_the_backups_hold_more_than_the_limit(
    world, customer, reseller, django_capture_on_commit_callbacks
):
    vm, repository = world
    Quota.objects.create(user=customer, max_backup_gb=2)
    held(vm, repository, 2**30)
    held(vm, repository, 2**30, kept=True)  # a deleted VM's, kept: counts too
    held(vm, repository, None)  # a failed one added nothing
    assert usage(customer)["backup_gb"] == 2
    with django_capture_on_commit_callbacks(execute=False):
        job = create_backup(vm, actor=customer)  # 2 GiB held: within the limit
    assert job.kind == "vm_backup_create"
    Backup.objects.filter(vm=vm, state=BackupState.CREATING).update(added_bytes=1)
    assert usage(customer)["backup_gb"] == 3
    VirtualMachine.objects.filter(pk=vm.pk).update(current_job=None)
    with pytest.raises(ValidationError) as exc:
        create_backup(vm, actor=customer)
    assert set(exc.value.message_dict) == {"quota"} and exc.value.error_dict["quota"][0].code == "quota_exceeded"
    assert "max_backup_gb: at most 2 GiB of backups, 3 GiB held" in exc.value.message_dict["quota"][0]
    Quota.objects.filter(user=customer).update(max_backup_gb=None)
    Quota.objects.create(user=reseller, max_backup_gb=1)  # the reseller's covers its customers'
    with pytest.raises(ValidationError) as exc:
        create_backup(vm, actor=customer)
    assert f"your reseller's ({reseller.username}) quota max_backup_gb" in exc.value.message_dict["quota"][0]


def test_the_limit_is_set_and_shown_like_the_others(world, customer, reseller, admin_user, client):
    vm, repository = world
    held(vm, repository, 3 * 2**30 // 2)
    api = client_for(reseller)
    response = api.put(f"/api/v1/quotas/{customer.pk}/", {"max_backups": 10, "max_backup_gb": 5}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["max_backup_gb"] == 5
    assert api.get(f"/api/v1/quotas/{customer.pk}/usage/").json()["backup_gb"] == 2
    Quota.objects.create(user=reseller, max_backup_gb=4)  # a customer's limit stays within its reseller's
    response = api.put(f"/api/v1/quotas/{customer.pk}/", {"max_backup_gb": 5}, format="json")
    assert response.status_code == 400 and [e["field"] for e in response.json()["errors"]] == ["max_backup_gb"]
    client.force_login(reseller)
    page = client.get(reverse("ui:user_detail", args=[customer.pk])).content.decode()
    assert "Backups stored" in page and 'data-quota="backup_gb"' in page
