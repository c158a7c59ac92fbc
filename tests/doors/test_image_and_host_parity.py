"""Image, host and cluster actions answer the same through the web UI and the API: the same refused
input is refused by both for the same reason, and the same accepted input makes the same
rows and the same job. One row per case; the actions are in ACTIONS (tests/doors/outcomes.py
explains how answers are compared)."""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.hosts.models import Cluster, Host
from apps.hosts.services import SETTINGS
from apps.images.models import Image, ImageStatus
from apps.ipam.models import Network, NetworkKind
from apps.jobs.models import Job
from apps.vms.models import VirtualMachine
from tests.doors.outcomes import accepted_alike, refused_alike


@dataclass(frozen=True)
class Action:
    """An image or host action: `ui(client, case)` and `api(client, case)` send the input."""

    name: str
    ui: Callable
    api: Callable


def _upload(case):
    path = case["file"]
    return SimpleUploadedFile(path.name, path.read_bytes())


ACTIONS = {
    action.name: action
    for action in [
        Action(
            "image_share",
            ui=lambda c, k: c.post(reverse("ui:image_detail", args=[k["image"].pk]), k["data"]),
            api=lambda c, k: c.patch(f"/api/v1/images/{k['image'].pk}/", k["data"], format="json"),
        ),
        Action(
            "image_delete",
            ui=lambda c, k: c.post(reverse("ui:image_delete", args=[k["image"].pk]), {"name": k["image"].name}),
            api=lambda c, k: c.delete(f"/api/v1/images/{k['image'].pk}/"),
        ),
        Action(
            "image_import",
            ui=lambda c, k: c.post(reverse("ui:image_import"), k["data"]),
            api=lambda c, k: c.post("/api/v1/images/", k["data"], format="json"),
        ),
        Action(
            "image_upload",
            ui=lambda c, k: c.post(reverse("ui:image_upload"), {**k["data"], "file": _upload(k)}),
            api=lambda c, k: c.post("/api/v1/images/upload/", {**k["data"], "file": _upload(k)}, format="multipart"),
        ),
        Action(
            "host_add",
            ui=lambda c, k: c.post(reverse("ui:host_add"), k["data"]),
            api=lambda c, k: c.post("/api/v1/hosts/", k["data"], format="json"),
        ),
        Action(
            "host_update",
            ui=lambda c, k: c.post(reverse("ui:host_edit", args=[k["host"].pk]), k["data"]),
            api=lambda c, k: c.patch(f"/api/v1/hosts/{k['host'].pk}/", k["data"], format="json"),
        ),
        Action(
            "host_refresh",
            ui=lambda c, k: c.post(reverse("ui:host_refresh", args=[k["host"].pk])),
            api=lambda c, k: c.post(f"/api/v1/hosts/{k['host'].pk}/refresh/"),
        ),
        Action(
            "host_maintenance",
            ui=lambda c, k: c.post(
                reverse("ui:host_maintenance", args=[k["host"].pk]), {"on": "1" if k["on"] else "0"}
            ),
            api=lambda c, k: c.post(f"/api/v1/hosts/{k['host'].pk}/maintenance/", {"on": k["on"]}, format="json"),
        ),
        Action(
            "host_evacuate",
            ui=lambda c, k: c.post(reverse("ui:host_evacuate", args=[k["host"].pk])),
            api=lambda c, k: c.post(f"/api/v1/hosts/{k['host'].pk}/evacuate/"),
        ),
        Action(
            "cluster_add",
            ui=lambda c, k: c.post(reverse("ui:cluster_add"), k["data"]),
            api=lambda c, k: c.post("/api/v1/clusters/", k["data"], format="json"),
        ),
        Action(
            "cluster_update",
            ui=lambda c, k: c.post(reverse("ui:cluster_edit", args=[k["cluster"].pk]), k["data"]),
            api=lambda c, k: c.patch(f"/api/v1/clusters/{k['cluster'].pk}/", k["data"], format="json"),
        ),
        Action(
            "cluster_delete",
            ui=lambda c, k: c.post(reverse("ui:cluster_delete", args=[k["cluster"].pk])),
            api=lambda c, k: c.delete(f"/api/v1/clusters/{k['cluster'].pk}/"),
        ),
        Action(
            "cluster_baseline",
            ui=lambda c, k: c.post(reverse("ui:cluster_baseline", args=[k["cluster"].pk])),
            api=lambda c, k: c.post(f"/api/v1/clusters/{k['cluster'].pk}/baseline/"),
        ),
        Action(
            "network_setup",
            ui=lambda c, k: c.post(reverse("ui:host_network_setup", args=[k["host"].pk, k["network"].pk])),
            api=lambda c, k: c.post(
                f"/api/v1/networks/{k['network'].pk}/setup/", {"host": k["host"].pk}, format="json"
            ),
        ),
    ]
}


@dataclass(frozen=True)
class Row:
    action: str
    actor: str  # "admin", "reseller", "customer"
    case: Callable  # world -> the input
    verdict: str  # "refused", "forbidden" or "accepted"
    field: str | None = None  # the field a refusal names
    note: str = ""

    def __str__(self):
        return f"{self.action}-{self.actor}-{self.note or self.verdict}"


def image_fields(**extra):
    return {"name": "alpine", "os_family": "linux", "os_version": "3.20", "guest_config": "customize", **extra}


def host_fields(host=None, **extra):
    base = {field: getattr(host, "cluster_id" if field == "cluster" else field) for field in SETTINGS} if host else {}
    kvm2 = {"name": "kvm-2", "uri": "qemu+ssh://root@203.0.113.7/system", "domain_type": "kvm"}
    defaults = {"storage_pool": "vmmanager", "storage_path": "/var/lib/vmmanager/pool", "network": "default",
                "vnc_listen": "127.0.0.1"}  # fmt: skip
    return {**defaults, **kvm2,
            **base, **extra}  # fmt: skip


ROWS = [
    # Sharing
    Row("image_share", "reseller", lambda w: {"image": w.golden, "data": {"visibility": "public"}}, "refused",
        "visibility", "public"),
    Row("image_share", "reseller", lambda w: {"image": w.golden, "data": {"visibility": "shared",
        "shared_with": [w.other_customer.pk]}}, "refused", "shared_with", "unseen-user"),
    Row("image_share", "customer", lambda w: {"image": w.golden, "data": {"visibility": "private"}}, "forbidden",
        note="not-its-own"),
    Row("image_share", "reseller", lambda w: {"image": w.golden, "data": {"visibility": "shared",
        "shared_with": [w.customer.pk]}}, "accepted"),
    # Deleting
    Row("image_delete", "admin", lambda w: {"image": w.in_use}, "refused", "image", "in-use"),
    Row("image_delete", "admin", lambda w: {"image": w.pending}, "refused", "image", "pending"),
    Row("image_delete", "customer", lambda w: {"image": w.in_use}, "forbidden", note="public"),
    Row("image_delete", "reseller", lambda w: {"image": w.customers}, "forbidden", note="its-customers"),
    Row("image_delete", "reseller", lambda w: {"image": w.golden}, "accepted"),
    # Importing a file on the panel machine
    Row("image_import", "admin", lambda w: {"data": image_fields(path=str(w.tmp / "missing.qcow2"))}, "refused",
        "path", "missing"),
    Row("image_import", "admin", lambda w: {"data": image_fields(path=str(w.text))}, "refused", "path", "text"),
    Row("image_import", "admin", lambda w: {"data": image_fields(name="debian-12", path=str(w.qcow2))}, "refused",
        "name", "name-taken"),
    Row("image_import", "reseller", lambda w: {"data": image_fields(path=str(w.qcow2))}, "forbidden"),
    Row("image_import", "admin", lambda w: {"data": image_fields(path=str(w.qcow2), visibility="shared")},
        "accepted"),
    # Uploading
    Row("image_upload", "reseller", lambda w: {"file": w.qcow2, "data": image_fields(visibility="public")},
        "refused", "visibility", "public"),
    Row("image_upload", "admin", lambda w: {"file": w.text, "data": image_fields(visibility="public")}, "refused",
        "file", "text"),
    Row("image_upload", "customer", lambda w: {"file": w.qcow2, "data": image_fields(visibility="private")},
        "forbidden"),
    Row("image_upload", "reseller", lambda w: {"file": w.qcow2, "data": image_fields(visibility="private")},
        "accepted"),
    # Hosts
    Row("host_add", "admin", lambda w: {"data": host_fields(uri="http://example.com/")}, "refused", "uri", "uri"),
    Row("host_add", "admin", lambda w: {"data": host_fields(storage_path="pool")}, "refused", "storage_path",
        "relative-path"),
    Row("host_add", "admin", lambda w: {"data": host_fields(name=w.host.name)}, "refused", "name", "name-taken"),
    Row("host_add", "reseller", lambda w: {"data": host_fields()}, "forbidden"),
    Row("host_add", "admin", lambda w: {"data": host_fields(cluster=w.far.pk, storage_path="/srv/elsewhere")},
        "refused", "storage_path", "cluster-mismatch"),
    Row("host_add", "admin", lambda w: {"data": host_fields()}, "accepted", note="a-cluster-of-its-own"),
    Row("host_add", "admin", lambda w: {"data": host_fields(cluster=999999)}, "refused", "cluster", "no-cluster"),
    Row("host_add", "admin", lambda w: {"data": host_fields(cluster=w.spare.pk)}, "accepted"),
    Row("host_update", "admin", lambda w: {"host": w.host, "data": host_fields(w.host, uri=w.other_host.uri)},
        "refused", "uri", "uri-taken"),
    Row("host_update", "admin", lambda w: {"host": w.host, "data": host_fields(w.host, vnc_listen="hv1.example")},
        "refused", "vnc_listen", "not-an-address"),
    Row("host_update", "admin", lambda w: {"host": w.host, "data": host_fields(w.host, vnc_listen="198.51.100.4")},
        "accepted"),
    Row("host_update", "reseller", lambda w: {"host": w.host, "data": host_fields(w.host, network="")}, "forbidden"),
    Row("host_update", "admin", lambda w: {"host": w.host, "data": host_fields(w.host, network="")}, "accepted"),
    Row("host_update", "admin", lambda w: {"host": w.host, "data": host_fields(w.host, cluster=w.far.pk)}, "refused",
        "domain_type", "cluster-mismatch"),
    Row("host_update", "admin", lambda w: {"host": w.host, "data": host_fields(w.host, cluster=w.spare.pk)},
        "accepted", note="to-another-cluster"),
    Row("host_refresh", "reseller", lambda w: {"host": w.host}, "forbidden"),
    Row("host_refresh", "admin", lambda w: {"host": w.host}, "accepted"),
    Row("host_maintenance", "reseller", lambda w: {"host": w.host, "on": True}, "forbidden"),
    Row("host_maintenance", "admin", lambda w: {"host": w.host, "on": True}, "accepted", note="on"),
    Row("host_maintenance", "admin", lambda w: {"host": in_maintenance(w.host), "on": False}, "accepted", note="off"),
    # Clusters (apps.hosts.clusters)
    Row("cluster_add", "admin", lambda w: {"data": {"name": "default", "description": ""}}, "refused", "name",
        "name-taken"),
    Row("cluster_add", "reseller", lambda w: {"data": {"name": "east", "description": ""}}, "forbidden"),
    Row("cluster_add", "admin", lambda w: {"data": {"name": "east", "description": "rack 2"}}, "accepted"),
    Row("cluster_update", "admin", lambda w: {"cluster": w.spare, "data": {"name": "default", "description": ""}},
        "refused", "name", "name-taken"),
    Row("cluster_update", "reseller", lambda w: {"cluster": w.spare, "data": {"name": "x", "description": ""}},
        "forbidden"),
    Row("cluster_update", "admin", lambda w: {"cluster": w.spare, "data": {"name": "spare", "description": "new"}},
        "accepted"),
    Row("cluster_delete", "admin", lambda w: {"cluster": w.host.cluster}, "refused", "cluster", "has-hosts"),
    Row("cluster_delete", "reseller", lambda w: {"cluster": w.spare}, "forbidden"),
    Row("cluster_delete", "admin", lambda w: {"cluster": w.spare}, "accepted"),
    Row("cluster_baseline", "reseller", lambda w: {"cluster": w.host.cluster}, "forbidden"),
    Row("cluster_baseline", "admin", lambda w: {"cluster": w.host.cluster}, "accepted"),
    # Emptying a host in maintenance (apps.vms.evacuation)
    Row("host_evacuate", "admin", lambda w: {"host": w.host}, "refused", "host", "not-in-maintenance"),
    Row("host_evacuate", "reseller", lambda w: {"host": in_maintenance(w.host)}, "forbidden"),
    Row("host_evacuate", "admin", lambda w: {"host": in_maintenance(w.host)}, "accepted"),
    # Making a host carry a network (apps.ipam.host_networks)
    Row("network_setup", "admin", lambda w: {"host": w.other_host, "network": w.public}, "refused", "host",
        "not-carried"),
    Row("network_setup", "admin", lambda w: {"host": w.host, "network": w.bridge_only}, "refused", "network",
        "host-bridge"),
    Row("network_setup", "reseller", lambda w: {"host": w.host, "network": w.public}, "forbidden"),
    Row("network_setup", "admin", lambda w: {"host": w.host, "network": w.public}, "accepted"),
]  # fmt: skip


def in_maintenance(host):
    Host.objects.filter(pk=host.pk).update(status="maintenance")
    return host


@pytest.fixture
def world(settings, tmp_path, admin_user, reseller, customer, other_customer, test_host, ready_image, qcow2_file):
    """A reseller's private image, its customer's, the provider's public one a VM was made
    from, one still importing; two hosts; a disk image and a text file to bring in."""
    settings.VMM_IMAGE_DIR = tmp_path / "store"
    ready = {"status": ImageStatus.READY, "virtual_size_bytes": 2**30, "checksum_sha256": "2" * 64}
    VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host, image=ready_image)
    public = Network.objects.create(name="public", kind=NetworkKind.ISOLATED, libvirt_network="vmmt-parity")
    bridge_only = Network.objects.create(name="lan", kind=NetworkKind.BRIDGED, bridge="br0")
    for network in (public, bridge_only):
        network.hosts.add(test_host)
    text = tmp_path / "notes.txt"
    text.write_text("not a disk\n" * 200_000)
    far = Cluster.objects.create(name="far")  # kvm-9's: test_host stays alone in the default one
    users = {"admin": admin_user, "reseller": reseller, "customer": customer}
    return SimpleNamespace(
        users=users,
        customer=customer,
        other_customer=other_customer,
        golden=Image.objects.create(name="golden", owner=reseller, **ready),
        customers=Image.objects.create(name="customers", owner=customer, **ready),
        in_use=ready_image,
        pending=Image.objects.create(name="importing", status=ImageStatus.PENDING),
        host=test_host,
        other_host=Host.objects.create(name="kvm-9", uri="qemu+ssh://root@203.0.113.9/system", cluster=far),
        far=far,
        spare=Cluster.objects.create(name="spare"),
        qcow2=qcow2_file,
        text=text,
        tmp=tmp_path,
        public=public,
        bridge_only=bridge_only,
    )


def state():
    """What an action may change: images (with whom they are shared), hosts, jobs."""
    images = sorted(
        (i.name, i.owner_id, i.visibility, i.status, i.os_family, i.os_version, i.guest_config, i.format,
         i.virtual_size_bytes, tuple(sorted(u.pk for u in i.shared_with.all())))
        for i in Image.objects.prefetch_related("shared_with")
    )  # fmt: skip
    hosts = sorted(
        tuple(getattr(h, "cluster_id" if f == "cluster" else f) for f in SETTINGS) + (h.status,)
        for h in Host.objects.all()
    )
    clusters = sorted((c.name, c.description, c.domain_type, c.network, c.storage_path) for c in Cluster.objects.all())
    jobs = sorted(
        (j.kind, j.target_repr, j.owner_id, j.actor_id, j.status, tuple(sorted(j.params))) for j in Job.objects.all()
    )
    return {"images": images, "hosts": hosts, "clusters": clusters, "jobs": jobs}


@pytest.mark.parametrize("row", [r for r in ROWS if r.verdict != "accepted"], ids=str)
def test_both_doors_refuse_the_same_input_for_the_same_reason(world, row):
    action, case = ACTIONS[row.action], row.case(world)

    def send_ui(client):
        return action.ui(client, case)

    def send_api(client):
        return action.api(client, case)

    refused_alike(world.users[row.actor], send_ui, send_api, state, row.verdict, row.field)


@pytest.mark.parametrize("row", [r for r in ROWS if r.verdict == "accepted"], ids=str)
def test_both_doors_accept_the_same_input_with_the_same_rows_and_job(world, row):
    action, case = ACTIONS[row.action], row.case(world)

    def send_ui(client):
        return action.ui(client, case)

    def send_api(client):
        return action.api(client, case)

    accepted_alike(world.users[row.actor], send_ui, send_api, state)


# Where each action is in each door (tests/doors/test_every_action_has_a_row.py reads them).
UI_ROUTES = {
    "image_detail": "image_share", "image_delete": "image_delete", "image_import": "image_import",
    "image_upload": "image_upload", "host_add": "host_add", "host_edit": "host_update", "host_refresh": "host_refresh",
    "host_network_setup": "network_setup", "host_maintenance": "host_maintenance",
    "host_evacuate": "host_evacuate", "cluster_add": "cluster_add", "cluster_edit": "cluster_update",
    "cluster_delete": "cluster_delete", "cluster_baseline": "cluster_baseline",
}  # fmt: skip
API_ROUTES = {
    ("image", "partial_update"): "image_share",
    ("image", "destroy"): "image_delete",
    ("image", "create"): "image_import",
    ("image", "upload"): "image_upload",
    ("host", "create"): "host_add",
    ("host", "partial_update"): "host_update",
    ("host", "refresh"): "host_refresh",
    ("host", "maintenance"): "host_maintenance",
    ("host", "evacuate"): "host_evacuate",
    ("network", "setup"): "network_setup",
    ("cluster", "create"): "cluster_add",
    ("cluster", "partial_update"): "cluster_update",
    ("cluster", "destroy"): "cluster_delete",
    ("cluster", "baseline"): "cluster_baseline",
}


def test_every_image_and_host_action_has_rows_and_both_doors():
    assert set(UI_ROUTES.values()) == set(API_ROUTES.values()) == set(ACTIONS)  # both doors offer each
    assert {row.action for row in ROWS if row.verdict == "accepted"} == set(ACTIONS)
    assert {row.action for row in ROWS if row.verdict != "accepted"} == set(ACTIONS)
