"""The VM and image bodies (and the other action bodies) take JSON's types exactly as the
schema states them (apps/api/fields.py): "true" or 1 for a boolean, "5" or 5.0 for a whole
number, 7 for a string, 7 or true for a choice are 400 naming the field; the right types
are not refused. An object given by id or name (a VM's pool, a network's host) takes a
whole number from 1 or a string, as its schema's oneOf says. A field the body does not know
is ignored, as in every other body."""

import copy
from types import SimpleNamespace

import pytest

from apps.backups.models import Backup, BackupRepository
from apps.images.models import Image
from apps.ipam.models import Network
from apps.vms.models import Snapshot, SnapshotState, WarmPool
from tests.api.conftest import PASSWORD, client_for, codes, make_roomy_host, make_vm, order
from tests.conftest import made_once, make_admin, make_customer, make_ready_image, make_reseller

pytestmark = pytest.mark.django_db

WRONG = {
    "boolean": ["true", "false", 1, 0, "1"],
    "integer": ["5", 5.0, 5.5, True, "1"],
    "string": [7, 5.0, True, ["x"], {"x": "y"}],
    "choice": [7, True, ["private"]],
    "id_or_name": [5.0, True, 0, -1, ["x"], {"x": "y"}, "x" * 65, "a\x00b"],
}
# What each kind answers for a wrong type: a choice names what was given as not a choice.
CODE = {
    "boolean": "invalid",
    "integer": "invalid",
    "string": "invalid",
    "choice": "invalid_choice",
    "id_or_name": "invalid",
}
MESSAGE = {
    "boolean": "Give true or false.",
    "integer": "Give a whole number.",
    "string": "Give a string.",
    "id_or_name": "Give an id (a whole number from 1) or a name.",
}

# (who, method, path, base body, field (dots: nested, list items), kind, a right value)
BODIES = [
    ("customer", "post", "vms/", "order", "name", "string", "web-2"),
    ("customer", "post", "vms/", "order", "image", "integer", None),
    ("customer", "post", "vms/", "order", "plan", "integer", None),
    ("customer", "post", "vms/", "order", "vcpus", "integer", 2),
    ("customer", "post", "vms/", "order", "memory_mb", "integer", 1024),
    ("customer", "post", "vms/", "order", "disk_gb", "integer", 10),
    ("customer", "post", "vms/", "order", "hostname", "string", "web"),
    ("customer", "post", "vms/", "order", "password", "string", PASSWORD),
    ("customer", "post", "vms/", "order", "ssh_keys.0", "string", None),
    ("customer", "post", "vms/", "order", "ssh_key_ids.0", "integer", None),
    ("customer", "post", "vms/", "order", "network.address", "string", "203.0.113.10/24"),
    ("customer", "post", "vms/", "order", "network.gateway", "string", "203.0.113.1"),
    ("customer", "post", "vms/", "order", "network.dns.0", "string", "203.0.113.53"),
    ("customer", "post", "vms/", "order", "first_boot_script", "string", "#!/bin/sh\n"),
    ("customer", "post", "vms/", "order", "timezone", "string", "UTC"),
    ("customer", "post", "vms/", "order", "full_copy", "boolean", True),
    ("customer", "post", "vms/", "order", "owner", "integer", None),
    ("customer", "post", "vms/", "order", "host", "integer", None),
    ("customer", "post", "vms/", "order", "cluster", "integer", None),
    ("admin", "patch", "hosts/{host}/", {}, "cluster", "integer", None),
    ("admin", "post", "clusters/", {"name": "east"}, "name", "string", "east"),
    ("admin", "post", "clusters/", {"name": "east"}, "description", "string", "rack 2"),
    ("customer", "post", "vms/{vm}/reinstall/", "reinstall", "image", "integer", None),
    ("customer", "post", "vms/{vm}/reinstall/", "reinstall", "password", "string", PASSWORD),
    ("customer", "post", "vms/{vm}/reinstall/", "reinstall", "ssh_keys.0", "string", None),
    ("customer", "post", "vms/{vm}/reset-password/", {}, "password", "string", PASSWORD),
    ("customer", "post", "vms/{vm}/resize/", {}, "vcpus", "integer", 2),
    ("customer", "post", "vms/{vm}/resize/", {}, "memory_mb", "integer", 1024),
    ("customer", "post", "vms/{vm}/resize/", {}, "disk_gb", "integer", 20),
    ("customer", "post", "vms/{vm}/make-image/", {"name": "snap"}, "name", "string", "snap-2"),
    ("customer", "post", "vms/{vm}/make-image/", {"name": "snap"}, "visibility", "choice", "private"),
    ("customer", "post", "vms/{vm}/console/", {}, "kind", "choice", "serial"),
    ("reseller", "post", "vms/{vm}/billing-suspend/", {}, "reason", "string", "unpaid"),
    ("reseller", "post", "vms/{vm}/billing-suspend/", {}, "mode", "string", "stop"),
    ("admin", "post", "vms/{vm}/addresses/", {}, "pool", "id_or_name", ""),
    ("admin", "post", "vms/{vm}/addresses/", {}, "pool", "id_or_name", 7),
    ("reseller", "post", "users/{customer}/suspend/", {}, "reason", "string", "unpaid"),
    ("reseller", "post", "users/{customer}/suspend/", {}, "mode", "string", "pause"),
    ("customer", "patch", "images/{image}/", {}, "visibility", "choice", "shared"),
    ("customer", "patch", "images/{image}/", {}, "shared_with.0", "integer", None),
    ("admin", "post", "images/", "import", "name", "string", "debian-13"),
    ("admin", "post", "images/", "import", "os_family", "choice", "debian"),
    ("admin", "post", "images/", "import", "os_version", "string", "13"),
    ("admin", "post", "images/", "import", "guest_config", "choice", None),
    ("admin", "post", "images/", "import", "visibility", "choice", "private"),
    ("admin", "post", "images/", "import", "path", "string", None),
    ("admin", "post", "networks/{network}/setup/", {}, "host", "id_or_name", None),
    ("admin", "post", "networks/{network}/setup/", {}, "host", "id_or_name", "host_id"),
    ("admin", "post", "networks/{network}/setup/", {}, "host", "id_or_name", ""),
    ("customer", "post", "vms/{vm}/snapshots/", {"name": "before"}, "name", "string", "before-2"),
    ("customer", "post", "vms/{vm}/snapshots/", {"name": "before"}, "description", "string", "a note"),
    ("customer", "post", "vms/{vm}/snapshots/{snapshot}/revert/", {}, "confirm", "boolean", True),
    ("admin", "post", "vms/{vm}/recover/", {}, "confirm_host_down", "boolean", True),
    ("admin", "post", "vms/{vm}/migrate/", {}, "host", "id_or_name", "host_id"),
    ("admin", "post", "vms/{vm}/migrate/", {}, "host", "id_or_name", "spare"),
    ("admin", "post", "hosts/{host}/maintenance/", {}, "on", "boolean", True),
    ("customer", "post", "vms/{vm}/backups/", {}, "repository", "integer", 1),
    ("customer", "post", "vms/{vm}/backups/{backup}/restore/", {}, "confirm", "boolean", True),
    ("customer", "post", "vms/{vm}/backups/{backup}/new-vm/", "new_vm", "name", "string", "copy-2"),
    ("customer", "post", "vms/{vm}/backups/{backup}/new-vm/", "new_vm", "plan", "integer", None),
    ("customer", "post", "vms/{vm}/backups/{backup}/new-vm/", "new_vm", "vcpus", "integer", 2),
    ("customer", "post", "vms/{vm}/backups/{backup}/new-vm/", "new_vm", "memory_mb", "integer", 1024),
    ("customer", "post", "vms/{vm}/backups/{backup}/new-vm/", "new_vm", "disk_gb", "integer", 10),
    ("customer", "post", "vms/{vm}/backups/{backup}/new-vm/", "new_vm", "hostname", "string", "copy"),
    ("customer", "post", "vms/{vm}/backups/{backup}/new-vm/", "new_vm", "host", "integer", None),
    ("customer", "post", "vms/{vm}/backups/{backup}/new-vm/", "new_vm", "cluster", "integer", None),
    ("customer", "post", "vms/{vm}/backups/{backup}/new-vm/", "new_vm", "start", "boolean", False),
    ("customer", "post", "kept-backups/{kept}/new-vm/", "new_vm", "name", "string", "copy-3"),
    ("customer", "post", "kept-backups/{kept}/new-vm/", "new_vm", "start", "boolean", True),
    ("customer", "post", "vms/{vm}/backups/{backup}/files/", {}, "path", "string", "/etc/hosts"),
    ("customer", "post", "kept-backups/{kept}/files/", {}, "path", "string", "/etc/hosts"),
    ("admin", "post", "backup-repositories/", "repository", "name", "string", "second"),
    ("admin", "post", "backup-repositories/", "repository", "path", "string", "/srv/second"),
    ("admin", "post", "backup-repositories/", "repository", "password", "string", "long enough"),
    ("customer", "put", "vms/{vm}/backup-schedule/", "schedule", "frequency", "choice", "weekly"),
    ("customer", "put", "vms/{vm}/backup-schedule/", "schedule", "hour", "integer", 4),
    ("customer", "put", "vms/{vm}/backup-schedule/", "schedule", "weekday", "integer", 2),
    ("customer", "put", "vms/{vm}/backup-schedule/", "schedule", "keep_daily", "integer", 3),
    ("customer", "put", "vms/{vm}/backup-schedule/", "schedule", "keep_weekly", "integer", 2),
    ("customer", "put", "vms/{vm}/backup-schedule/", "schedule", "repository", "integer", 1),
    ("admin", "post", "backup-repositories/", "repository", "kind", "choice", "sftp"),
    ("admin", "post", "backup-repositories/", "repository", "host", "string", "backup.example.net"),
    ("admin", "post", "backup-repositories/", "repository", "port", "integer", 2222),
    ("admin", "post", "backup-repositories/", "repository", "username", "string", "restic"),
    ("admin", "post", "backup-repositories/", "repository", "ssh_private_key", "string", "not a key"),
    ("admin", "post", "backup-repositories/", "repository", "known_hosts", "string", "not known_hosts"),
    ("reseller", "post", "webhooks/", "webhook", "url", "string", "https://hooks.example.com/vmm"),
    ("reseller", "post", "webhooks/", "webhook", "events.0", "string", "vm.created"),
    ("admin", "post", "warm-pools/", "warm_pool", "image", "integer", None),
    ("admin", "post", "warm-pools/", "warm_pool", "host", "integer", None),
    ("admin", "post", "warm-pools/", "warm_pool", "size", "integer", 2),
    ("admin", "post", "warm-pools/", "warm_pool", "max_vcpus", "integer", 2),
    ("admin", "post", "warm-pools/", "warm_pool", "max_memory_mb", "integer", 1024),
    ("admin", "post", "warm-pools/", "warm_pool", "disk_gb", "integer", 10),
    ("admin", "patch", "warm-pools/{warm_pool}/", {}, "size", "integer", 3),
]


def _put(body, field, value):
    """The body with `field` (dots: into an object or a list's item) set to value."""
    head, _, rest = field.partition(".")
    if not rest:
        if isinstance(body, list):
            return [value]
        body[head] = value
        return body
    inner = body.get(head)
    if inner is None or rest.isdigit():
        inner = [] if rest.split(".")[0].isdigit() else {"address": "203.0.113.10/24", "gateway": "203.0.113.1"}
    body[head] = _put(copy.deepcopy(inner), rest, value)
    return body


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Made once for the module's checks (hundreds): tests.conftest.made_once."""
    yield from made_once(django_db_blocker, make_world, tmp_path_factory.mktemp("strict-bodies"))


def make_world(tmp_path):
    admin_user, reseller = make_admin(), make_reseller()
    customer, host, ready_image = make_customer(reseller), make_roomy_host(), make_ready_image()
    ready_image.owner = customer
    ready_image.save(update_fields=["owner"])
    vm = make_vm(customer, host)
    network = Network.objects.create(name="public", bridge="br0")
    image_file = tmp_path / "disk.qcow2"
    image_file.write_bytes(b"QFI\xfb" + b"\0" * 508)
    bases = {
        "order": order(ready_image),
        "reinstall": {"image": ready_image.pk},
        "import": {"name": "debian-13", "os_family": "debian", "path": str(image_file)},
        "webhook": {"url": "https://hooks.example.com/vmm", "events": ["vm.created"]},
        "repository": {"name": "second", "path": str(tmp_path / "second"), "password": "long enough"},
        "warm_pool": {"image": ready_image.pk, "host": host.pk},
        "schedule": {"frequency": "daily", "hour": 3, "keep_daily": 7, "keep_weekly": 4},
        "new_vm": {"name": "copy", "vcpus": 1, "memory_mb": 512},
    }
    snapshot = Snapshot.objects.create(vm=vm, name="old", overlay_volume="old.qcow2", state=SnapshotState.READY)
    ids = {"vm": vm.pk, "customer": customer.pk, "image": ready_image.pk, "network": network.pk, "host": host.pk}
    ids["snapshot"] = snapshot.pk
    spare = type(host).objects.create(name="pool-host", uri="test:///default?pool", status="online")
    ids["warm_pool"] = WarmPool.objects.create(image=ready_image, host=spare).pk
    repository = BackupRepository.objects.create(name="r", path=str(tmp_path / "r"), password="x" * 8, state="ready")
    ids["backup"] = Backup.objects.create(
        vm=vm, vm_name=vm.name, owner=customer, repository=repository, state="ready", restic_snapshot_id="a" * 64
    ).pk
    ids["kept"] = Backup.objects.create(
        vm=None, vm_name="gone", owner=customer, repository=repository, state="ready", restic_snapshot_id="b" * 64
    ).pk
    users = {"admin": admin_user, "reseller": reseller, "customer": customer}
    clients = {who: client_for(user) for who, user in users.items()}
    right = {
        "image": ready_image.pk,
        "plan": 1,
        "ssh_keys.0": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x@example",
        "ssh_key_ids.0": 1,
        "owner": customer.pk,
        "host": host.pk,
        "cluster": host.cluster_id,
        "shared_with.0": reseller.pk,
        "guest_config": "customize",
        "path": str(image_file),
        "host_name": host.name,
        "host_id": host.pk,
    }

    def send(who, method, path, base, body):
        url = f"/api/v1/{path.format(**ids)}"
        return getattr(clients[who], method)(url, body, format="json")

    return SimpleNamespace(send=send, bases=bases, right=right, clients=clients, users=users, image=ready_image)


def _cases():
    seen = set()
    for who, method, path, base, field, kind, _ok in BODIES:
        if (path, field) in seen:
            continue
        seen.add((path, field))
        for value in WRONG[kind]:
            yield pytest.param(who, method, path, base, field, kind, value, id=f"{path}:{field}={value!r}")


def _base(bases, base):
    return copy.deepcopy(bases[base] if isinstance(base, str) else base)


@pytest.mark.parametrize(("who", "method", "path", "base", "field", "kind", "value"), list(_cases()))
def test_a_value_of_another_json_type_is_a_400_naming_the_field(world, who, method, path, base, field, kind, value):
    send, bases = world.send, world.bases
    response = send(who, method, path, base, _put(_base(bases, base), field, value))
    assert response.status_code == 400, response.content
    assert (field, CODE[kind]) in codes(response)
    if kind in MESSAGE:
        assert MESSAGE[kind] in _messages(response, field)


@pytest.mark.parametrize(
    ("who", "method", "path", "base", "field", "kind", "ok"),
    BODIES,
    ids=[f"{case[2]}:{case[4]}={case[6]!r}" for case in BODIES],
)
def test_the_right_type_is_not_refused_for_its_type(world, who, method, path, base, field, kind, ok):
    """The service may still refuse the value (a plan that does not exist, a VM that must be
    stopped first): never as a wrong type."""
    send, bases, right = world.send, world.bases, world.right
    value = right[ok] if ok == "host_id" else right.get(field, ok)
    if path.startswith("networks/") and ok is None:
        value = right["host_name"]
    if path == "backup-repositories/":  # its own fields, whatever other bodies' fields of the name take
        value = ok
    response = send(who, method, path, base, _put(_base(bases, base), field, value))
    assert response.status_code < 500, response.content
    if response.status_code == 400:  # the service's own refusals share the code "invalid"
        assert MESSAGE.get(kind) not in _messages(response, field), response.content
        assert (field, "invalid_choice") not in codes(response), response.content


def _messages(response, field):
    return [error["message"] for error in response.json()["errors"] if error["field"] == field]


def test_a_well_typed_order_is_accepted_and_an_unknown_field_ignored(world):
    body = order(world.image, name="web-2", full_copy=True, ssh_keys=[], network=None, colour="blue")
    response = world.clients["customer"].post("/api/v1/vms/", body, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["vm"]["name"] == "web-2"


def test_a_well_typed_image_share_is_applied(world):
    reseller, customer, image = world.users["reseller"], world.users["customer"], world.image
    Image.objects.filter(pk=image.pk).update(owner=reseller)
    response = world.clients["reseller"].patch(
        f"/api/v1/images/{image.pk}/", {"visibility": "shared", "shared_with": [customer.pk]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["shared_with"] == [customer.pk]
