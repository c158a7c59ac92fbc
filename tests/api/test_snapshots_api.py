"""/api/v1/vms/<id>/snapshots/ (docs/snapshots.md): list and read a VM's snapshots, take one,
revert to one, delete one (202 with the job); bad input is 400 naming the field; another
tenant's VM or snapshot is 404; the schema documents every route."""

from apps.jobs.models import Job
from apps.vms.models import Snapshot, SnapshotState
from tests.api.conftest import codes, make_vm


def snapshot(vm, name="before-update", **fields):
    return Snapshot.objects.create(
        vm=vm, name=name, overlay_volume=f"{name}.qcow2", state=SnapshotState.READY, **fields
    )


def test_list_read_take_revert_delete(api, customer, host):
    vm = make_vm(customer, host)
    client = api(customer)
    assert client.get(f"/api/v1/vms/{vm.pk}/snapshots/").json()["results"] == []
    kept = snapshot(vm, description="clean", consistency="frozen", size_bytes=4096)
    snapshot(vm, name="newer")
    body = client.get(f"/api/v1/vms/{vm.pk}/snapshots/?page_size=1").json()
    assert [row["name"] for row in body["results"]] == ["newer"] and body["next"]  # newest first, paged
    assert [row["name"] for row in client.get(body["next"]).json()["results"]] == ["before-update"]
    one = client.get(f"/api/v1/vms/{vm.pk}/snapshots/{kept.pk}/").json()
    assert {k: one[k] for k in ("vm", "description", "state", "consistency", "consistent", "size_bytes", "parent")} == {
        "vm": vm.pk, "description": "clean", "state": "ready", "consistency": "frozen", "consistent": True,
        "size_bytes": 4096, "parent": None,
    }  # fmt: skip

    response = client.post(f"/api/v1/vms/{vm.pk}/snapshots/", {"name": "second"}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["job"]["kind"] == "vm_snapshot_create"
    job = Job.objects.get(kind="vm_snapshot_create")
    assert job.params == {"snapshot_id": Snapshot.objects.get(name="second").pk}
    Job.objects.filter(pk=job.pk).update(status="succeeded")
    vm.__class__.objects.filter(pk=vm.pk).update(current_job=None)

    response = client.post(f"/api/v1/vms/{vm.pk}/snapshots/{kept.pk}/revert/", {"confirm": True}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["job"]["kind"] == "vm_snapshot_revert"
    vm.__class__.objects.filter(pk=vm.pk).update(current_job=None)
    Snapshot.objects.filter(pk=kept.pk).update(state="ready")

    response = client.delete(f"/api/v1/vms/{vm.pk}/snapshots/{kept.pk}/")
    assert response.status_code == 202, response.content
    assert response.json()["job"]["kind"] == "vm_snapshot_delete"


def test_bad_input_is_400_naming_the_field(api, customer, host):
    vm = make_vm(customer, host)
    kept = snapshot(vm)
    client = api(customer)
    url = f"/api/v1/vms/{vm.pk}/snapshots/"
    assert codes(client.post(url, {}, format="json")) == [("name", "required")]
    assert codes(client.post(url, {"name": "x" * 65}, format="json")) == [("name", "max_length")]
    assert codes(client.post(url, {"name": "before-update"}, format="json")) == [("name", "unique")]
    assert [f for f, _ in codes(client.post(url, {"name": "a b"}, format="json"))] == ["name"]
    assert codes(client.post(url, {"name": "ok", "description": 5 * "x" * 101}, format="json")) == [
        ("description", "max_length")
    ]
    response = client.post(f"{url}{kept.pk}/revert/", {}, format="json")
    assert response.status_code == 400
    assert codes(response) == [("confirm", "required")]
    maybe = client.post(f"{url}{kept.pk}/revert/", {"confirm": "maybe"}, format="json")
    assert codes(maybe) == [("confirm", "invalid")]
    assert not Job.objects.exists()
    assert list(Snapshot.objects.values_list("name", flat=True)) == ["before-update"]


def test_another_tenants_vm_and_snapshot_are_404(api, customer, other_customer, host):
    mine, theirs = make_vm(customer, host), make_vm(other_customer, host, name="web-2")
    their_snapshot = snapshot(theirs)
    client = api(customer)
    for method, url, body in (
        ("get", f"/api/v1/vms/{theirs.pk}/snapshots/", None),
        ("post", f"/api/v1/vms/{theirs.pk}/snapshots/", {"name": "x"}),
        ("get", f"/api/v1/vms/{theirs.pk}/snapshots/{their_snapshot.pk}/", None),
        ("get", f"/api/v1/vms/{mine.pk}/snapshots/{their_snapshot.pk}/", None),
        ("delete", f"/api/v1/vms/{mine.pk}/snapshots/{their_snapshot.pk}/", None),
        ("post", f"/api/v1/vms/{mine.pk}/snapshots/{their_snapshot.pk}/revert/", {"confirm": True}),
    ):
        response = getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.content)
    assert not Job.objects.exists()


def test_the_schema_documents_the_snapshot_routes(api, admin_user):
    schema = api(admin_user).get("/api/schema/?format=json").json()
    assert set(schema["paths"]["/api/v1/vms/{id}/snapshots/"]) >= {"get", "post"}
    assert set(schema["paths"]["/api/v1/vms/{id}/snapshots/{snapshot_id}/"]) >= {"get", "delete"}
    assert "post" in schema["paths"]["/api/v1/vms/{id}/snapshots/{snapshot_id}/revert/"]
