"""Every /api/v1/ route x every role x own vs other tenant's object, generated from the
URLconf and the OpenAPI schema. A route without an entry in RESOURCES fails the suite.

Tenants: "own" objects belong to customer-1 (a customer of reseller-1), "other" objects to
customer-2 (nobody's customer). Another tenant's object is 404, never 403."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from apps.accounts.plans import Plan
from apps.accounts.quotas import Quota
from apps.accounts.sshkeys import SshKey, fingerprint
from apps.accounts.tokens import ApiToken
from apps.backups.models import Backup, BackupFile, BackupRepository, BackupSchedule
from apps.hosts.models import Cluster
from apps.images.models import Image, ImageStatus, Visibility
from apps.ipam.models import Address, Network
from apps.ipam.pools import create_pool
from apps.jobs.models import Job
from apps.vms.models import Snapshot, WarmPool
from apps.webhooks.models import Delivery, Endpoint, Event
from tests.api.conftest import SSH_KEY, client_for, make_roomy_host, make_vm
from tests.conftest import made_once, make_admin, make_customer, make_other_customer, make_ready_image, make_reseller

ROLES = ("admin", "reseller", "customer", "other", "anon")
SAFE = ("GET", "HEAD", "OPTIONS")
OK = "ok"  # any answer but 401, 403, 404 and 5xx
# resource -> how objects are scoped: "tenant" (owned), "token" (the owner only), "staff"
# (staff only), "catalog" (all read, staff write), "self" (the caller), "hooks" (webhook
# endpoints and their deliveries: "own" is reseller-1's, "other" staff's; customers have none).
RESOURCES = {
    "vms": "tenant",
    "jobs": "tenant",
    "images": "tenant",
    "ssh-keys": "tenant",
    "users": "tenant",
    "quotas": "tenant",
    "tokens": "token",
    "hosts": "staff",
    "clusters": "staff",  # groups of hosts: staff only, like hosts
    "backup-repositories": "staff",
    "audit": "staff",
    "pools": "staff",
    "networks": "staff",  # list, read, set up on a host: staff only
    "warm-pools": "staff",  # docs/warm-pool.md
    "addresses": "tenant",
    "kept-backups": "tenant",  # backups of deleted VMs: their owner's (docs/backups.md)
    "backup-files": "token",  # files taken out of backups: their owner's only, staff included
    "plans": "catalog",
    "me": "self",
    "webhooks": "hooks",
    "webhook-deliveries": "hooks",
}


def schema_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (path, method.upper())
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


def urlconf_routes(resolver=None, prefix=""):
    """Every route pattern under api/v1/ in the URLconf (as regex strings)."""
    out = []
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            out += urlconf_routes(entry, pattern)
        elif isinstance(entry, URLPattern) and "v1/" in pattern and "format" not in pattern:
            out.append(pattern)
    return out


OPERATIONS = schema_operations()


def resource_of(path):
    return path.split("/")[3]


def test_every_api_route_in_the_urlconf_is_in_the_schema_and_covered():
    paths = {re.sub(r"\{[^}]+\}", "X", p) for p, _ in OPERATIONS}
    routes = urlconf_routes()
    assert len(routes) >= len(paths)
    for route in routes:
        if route.endswith("^v1/"):  # the catch-all 404
            continue
        example = re.sub(r"\(\?P<[^>]+>[^)]+\)", "X", route).replace("^", "").replace("$", "")
        assert f"/{example}" in paths, f"{route} is not in the schema"
    missing = {resource_of(p) for p, _ in OPERATIONS} - set(RESOURCES)
    assert not missing, f"routes without tenancy coverage: {missing}"


def visible(kind, role, which):
    if kind == "hooks":
        return role == "admin" or (role, which) == ("reseller", "own")
    if kind == "token":
        return role == ("customer" if which == "own" else "other")
    return (
        role == "admin" or role == {"own": "customer", "other": "other"}[which] or (role, which) == ("reseller", "own")
    )


def expected(path, method, role, which):
    """`which`: "own" / "other" for a tenant's object, None for collections and shared objects."""
    resource = resource_of(path)
    kind = RESOURCES[resource]
    if role == "anon":
        return 401
    if kind == "staff":
        return OK if role == "admin" else 403
    if kind == "catalog":
        return OK if method in SAFE or role == "admin" else 403
    if which is None:
        if (resource, method) == ("images", "POST"):  # import a file on the panel: staff; upload: + resellers
            uploaders = ("admin", "reseller") if path.endswith("/upload/") else ("admin",)
            return OK if role in uploaders else 403
        if (resource, method) in (("users", "POST"), ("webhooks", "POST")) and role in ("customer", "other"):
            return 403
        return OK
    if not visible(kind, role, which):
        return 404
    if method in SAFE:
        return OK
    manages = role == "admin" or (role, which) == ("reseller", "own")
    if resource == "images":
        return 403 if role == "reseller" else OK  # sees its customer's image, is not its owner
    if path.endswith(("/billing-suspend/", "/billing-unsuspend/")) or path.startswith("/api/v1/vms/{id}/addresses/"):
        # staff or the owner's reseller (suspension; extra addresses of a VM)
        return OK if manages else 403
    if path.endswith("/files/"):  # a file out of a backup: its owner only (the reseller and staff see the backup)
        return OK if role in ("customer", "other") else 403
    if path.endswith("/reset-two-factor/"):  # a lost phone: staff only, whoever manages the user
        return OK if role == "admin" else 403
    if path.endswith(("/lift-traffic-limit/", "/recover/", "/migrate/")):  # staff only; the owner and reseller see it
        return OK if role == "admin" else 403
    editing_self_or_managed = resource == "users" and method == "PATCH" and path.endswith("{id}/")
    if resource in ("users", "quotas") and not editing_self_or_managed:
        return OK if manages else 403
    return OK


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Made once for the module's checks (hundreds): tests.conftest.made_once."""
    yield from made_once(django_db_blocker, make_world)


def make_world():
    admin_user, reseller, other_customer = make_admin(), make_reseller(), make_other_customer()
    customer, host = make_customer(reseller), make_roomy_host()
    ready_image = make_ready_image()
    ids = {
        "hosts": host.pk,
        "clusters": Cluster.objects.create(name="spare").pk,
        "plans": Plan.objects.create(name="s", vcpus=1, memory_mb=512, disk_gb=5).pk,
    }
    network = Network.objects.create(name="public", libvirt_network="public")
    ids["pools"] = create_pool(network=network, name="v4", subnet="198.51.100.0/29").pk
    ids["networks"] = network.pk
    ids["warm-pools"] = WarmPool.objects.create(image=ready_image, host=host).pk
    repository = BackupRepository.objects.create(name="r", path="/srv/matrix-repo", password="x" * 10, state="ready")
    ids["backup-repositories"] = repository.pk
    free = iter(Address.objects.filter(pool_id=ids["pools"]).order_by("position"))
    for which, owner in (("own", customer), ("other", other_customer)):
        vm = make_vm(owner, host, name=f"vm-{which}")
        image = Image.objects.create(
            name=f"img-{which}", owner=owner, visibility=Visibility.PRIVATE, status=ImageStatus.READY,
            virtual_size_bytes=2**30, checksum_sha256="0" * 64,
        )  # fmt: skip
        Quota.objects.create(user=owner, max_vms=10)
        ids[which] = {
            "vms": vm.pk,
            "jobs": Job.objects.create(kind="vm_start", target=vm, owner=owner, request_id="r-matrix-1").pk,
            "images": image.pk,
            "ssh-keys": SshKey.objects.create(
                owner=owner, name="k", public_key=SSH_KEY, fingerprint=fingerprint(SSH_KEY)
            ).pk,
            "users": owner.pk,
            "quotas": owner.pk,
            "tokens": ApiToken.objects.issue(owner, "matrix")[0].pk,
            "addresses": _assigned(next(free), vm),
            "snapshots": Snapshot.objects.create(vm=vm, name="s", overlay_volume="s.qcow2", state="ready").pk,
            "backups": Backup.objects.create(
                vm=vm,
                vm_name=vm.name,
                owner=owner,
                repository=repository,
                state="ready",
                restic_snapshot_id="a" * 64,
                filename="d.raw",
            ).pk,  # fmt: skip
            "kept-backups": Backup.objects.create(
                vm=None,
                vm_name=f"gone-{which}",
                owner=owner,
                repository=repository,
                state="ready",
                restic_snapshot_id="b" * 64,
                filename="d.raw",
                size_bytes=2**30,
            ).pk,  # fmt: skip
        }
        ids[which]["backup-files"] = BackupFile.objects.create(
            owner=owner, vm_name=vm.name, path="/etc/hosts", state="ready", expires_at="2030-01-01T03:00Z"
        ).pk  # no data stored: its download is 410 for its owner (404 for anyone else)
        BackupSchedule.objects.create(vm=vm, next_run_at="2030-01-01T03:00Z")  # its backup-schedule/ route
    for which, owner in (("own", reseller), ("other", admin_user)):
        endpoint = Endpoint.objects.create(owner=owner, url="https://203.0.113.5/", events=["vm.created"])
        event = Event.objects.create(type="vm.created", owner=owner, body="{}")
        ids[which]["webhooks"] = endpoint.pk
        ids[which]["webhook-deliveries"] = Delivery.objects.create(endpoint=endpoint, event=event).pk
    from auditlog.models import LogEntry

    ids["audit"] = LogEntry.objects.first().pk
    users = {"admin": admin_user, "reseller": reseller, "customer": customer, "other": other_customer, "anon": None}
    return ids, {role: client_for(user) for role, user in users.items()}


def _assigned(address, vm):
    Address.objects.filter(pk=address.pk).update(vm=vm)
    return address.pk


def call(client, method, url):
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return (
        getattr(client, method.lower())(url, body, format="json")
        if body is not None
        else getattr(client, method.lower())(url)
    )


def check(response, want, label):
    got = response.status_code
    assert got < 500, f"{label}: {got} {response.content[:300]}"
    if want == OK:
        assert got not in (401, 403, 404), f"{label}: expected access, got {got} {response.content[:300]}"
    else:
        assert got == want, f"{label}: expected {want}, got {got} {response.content[:300]}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path,method", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_tenancy(world, path, method, role):
    ids, clients = world
    resource = resource_of(path)
    assert resource in RESOURCES, f"{method} {path} has no tenancy coverage: add it to RESOURCES"
    if "{" not in path:
        response = call(clients[role], method, path)
        check(response, expected(path, method, role, None), f"{role} {method} {path}")
        if method == "GET" and response.status_code == 200 and RESOURCES[resource] in ("tenant", "token", "hooks"):
            key = "user" if resource == "quotas" else "id"
            listed = {str(item[key]) for item in response.json()["results"]}
            for which in ("own", "other"):
                seen = str(ids[which][resource]) in listed
                assert seen == visible(RESOURCES[resource], role, which), f"{role} lists {which} {resource}: {seen}"
        return
    for which in ("own", "other") if RESOURCES[resource] in ("tenant", "token", "hooks") else (None,):
        pk = ids[which][resource] if which else ids[resource]
        url = path.replace("{address_id}", str(ids[which]["addresses"]) if which else "")
        url = url.replace("{snapshot_id}", str(ids[which]["snapshots"]) if which else "")
        url = url.replace("{backup_id}", str(ids[which]["backups"]) if which else "")
        url = re.sub(r"\{[^}]+\}", str(pk), url)
        check(call(clients[role], method, url), expected(path, method, role, which), f"{role} {method} {url} ({which})")
