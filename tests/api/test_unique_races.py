"""Every unique name a user can collide with answers the same 400 naming the field whether
the duplicate arrives after the original or at the same moment (two requests racing, see
tests/api/races.py; hosts, added one at a time, wait for each other instead), never a 500:
SSH keys, API tokens, user names, plans, hosts, images."""

import base64
import os
import struct

import pytest
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.plans import Plan
from apps.accounts.sshkeys import SshKey
from apps.accounts.tokens import ApiToken
from apps.hosts.models import Cluster, Host
from apps.images.models import Image
from apps.jobs.models import Job
from tests.api.races import race

pytestmark = pytest.mark.django_db(transaction=True)


def new_key():
    """A fresh, well-formed ed25519 public key line."""
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + os.urandom(32)
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} test@example"


def session(user):
    client = APIClient()
    client.force_login(user)  # sessions, not tokens: a token's use is a write of its own
    return client


def errors(response):
    assert not isinstance(response, Exception), f"the request failed: {response!r}"
    return response.status_code, response.json().get("errors")


def assert_one_wins_and_the_other_is_told_like_a_late_twin(model, first, second, late, created=201):
    """`first` and `second` race; `late` repeats the loser's request after both."""
    (a, b), waiting = race(model, first, second)
    assert waiting == 2, "the two requests did not meet at the write"
    for response in (a, b):
        assert not isinstance(response, IntegrityError), f"500: {response!r}"
    statuses = sorted(r.status_code for r in (a, b))
    assert statuses == [created, 400], [r.content for r in (a, b)]
    loser = a if a.status_code == 400 else b
    again = late()
    assert errors(again)[0] == 400
    assert errors(loser) == errors(again)
    return errors(loser)[1]


def test_the_same_ssh_key_name_twice_at_once(customer):
    a, b = session(customer), session(customer)
    key_a, key_b = new_key(), new_key()
    found = assert_one_wins_and_the_other_is_told_like_a_late_twin(
        SshKey,
        lambda: a.post("/api/v1/ssh-keys/", {"name": "laptop", "public_key": key_a}),
        lambda: b.post("/api/v1/ssh-keys/", {"name": "laptop", "public_key": key_b}),
        lambda: a.post("/api/v1/ssh-keys/", {"name": "laptop", "public_key": new_key()}),
    )
    assert [(e["field"], e["code"]) for e in found] == [("name", "unique")]
    assert SshKey.objects.filter(owner=customer).count() == 1


def test_the_same_ssh_key_under_two_names_at_once(customer):
    a, b, key = session(customer), session(customer), new_key()
    found = assert_one_wins_and_the_other_is_told_like_a_late_twin(
        SshKey,
        lambda: a.post("/api/v1/ssh-keys/", {"name": "laptop", "public_key": key}),
        lambda: b.post("/api/v1/ssh-keys/", {"name": "desktop", "public_key": key}),
        lambda: a.post("/api/v1/ssh-keys/", {"name": "third", "public_key": key}),
    )
    assert [(e["field"], e["code"]) for e in found] == [("public_key", "unique")]
    assert SshKey.objects.filter(owner=customer).count() == 1


def test_the_very_same_ssh_key_twice_at_once_is_refused_on_its_name_as_later(customer):
    a, b, key = session(customer), session(customer), new_key()
    body = {"name": "laptop", "public_key": key}
    found = assert_one_wins_and_the_other_is_told_like_a_late_twin(
        SshKey,
        lambda: a.post("/api/v1/ssh-keys/", body),
        lambda: b.post("/api/v1/ssh-keys/", body),
        lambda: a.post("/api/v1/ssh-keys/", body),
    )
    assert [(e["field"], e["code"]) for e in found] == [("name", "unique")]


def test_renaming_two_ssh_keys_to_one_name_at_once(customer):
    one = SshKey(owner=customer, name="one", public_key=new_key())
    two = SshKey(owner=customer, name="two", public_key=new_key())
    for key in (one, two):
        key.full_clean(exclude=["owner"])
        key.save()
    a, b = session(customer), session(customer)
    found = assert_one_wins_and_the_other_is_told_like_a_late_twin(
        SshKey,
        lambda: a.patch(f"/api/v1/ssh-keys/{one.pk}/", {"name": "same"}),
        lambda: b.patch(f"/api/v1/ssh-keys/{two.pk}/", {"name": "same"}),
        lambda: a.patch(f"/api/v1/ssh-keys/{two.pk}/" if SshKey.objects.get(pk=one.pk).name == "same"
                        else f"/api/v1/ssh-keys/{one.pk}/", {"name": "same"}),
        created=200,
    )  # fmt: skip
    assert [(e["field"], e["code"]) for e in found] == [("name", "unique")]


def test_the_same_token_name_twice_at_once(customer):
    a, b = session(customer), session(customer)
    found = assert_one_wins_and_the_other_is_told_like_a_late_twin(
        ApiToken,
        lambda: a.post("/api/v1/tokens/", {"name": "billing"}),
        lambda: b.post("/api/v1/tokens/", {"name": "billing"}),
        lambda: a.post("/api/v1/tokens/", {"name": "billing"}),
    )
    assert [(e["field"], e["code"]) for e in found] == [("name", "unique")]
    assert ApiToken.objects.filter(user=customer, name="billing").count() == 1


def test_the_same_user_name_twice_at_once(reseller):
    a, b = session(reseller), session(reseller)
    body = {"username": "new-customer", "password": "a-L0ng-passw0rd"}
    found = assert_one_wins_and_the_other_is_told_like_a_late_twin(
        User,
        lambda: a.post("/api/v1/users/", body),
        lambda: b.post("/api/v1/users/", body),
        lambda: a.post("/api/v1/users/", body),
    )
    assert [(e["field"], e["code"]) for e in found] == [("username", "unique")]


def test_the_same_plan_name_twice_at_once(admin_user):
    a, b = session(admin_user), session(admin_user)
    body = {"name": "small", "vcpus": 1, "memory_mb": 1024, "disk_gb": 10}
    found = assert_one_wins_and_the_other_is_told_like_a_late_twin(
        Plan,
        lambda: a.post("/api/v1/plans/", body),
        lambda: b.post("/api/v1/plans/", body),
        lambda: a.post("/api/v1/plans/", body),
    )
    assert [(e["field"], e["code"]) for e in found] == [("name", "unique")]


@pytest.mark.parametrize("field", ["name", "uri"])
def test_the_same_host_name_or_uri_twice_at_once(admin_user, field):
    """Hosts are added one at a time (docs/clusters.md: a lock on the default cluster's row):
    the second request, past its own checks, waits for the first to commit, then finds its
    twin and is told like a late one."""
    from tests.concurrency import first_commits_once_the_second_waits

    Cluster.default()  # made by the migration; this test's database was emptied before it
    a, b = session(admin_user), session(admin_user)
    bodies = [{"name": f"kvm-{i}", "uri": f"qemu+ssh://root@kvm-{i}/system", "domain_type": "kvm"} for i in (1, 2)]
    bodies[1][field] = bodies[0][field]
    first = {}
    with first_commits_once_the_second_waits(lambda: first.setdefault("answer", a.post("/api/v1/hosts/", bodies[0]))):
        second = b.post("/api/v1/hosts/", bodies[1])
    assert first["answer"].status_code == 201, first["answer"].content
    again = a.post("/api/v1/hosts/", bodies[1])
    assert errors(second)[0] == 400 and errors(second) == errors(again)
    assert [(e["field"], e["code"]) for e in errors(second)[1]] == [(field, "unique")]
    assert Host.objects.count() == 1 and Job.objects.filter(kind="host_refresh").count() == 1


def test_the_same_image_name_imported_twice_at_once(admin_user, qcow2_file, settings, tmp_path):
    """Images are imported through the web UI (there is no API for it): the form shows the
    same message on the name field either way."""
    settings.VMM_IMAGE_DIR = tmp_path / "store"
    clients = [Client() for _ in range(3)]
    for client in clients:
        client.force_login(admin_user)
    form = {"name": "alpine", "os_family": "linux", "os_version": "3.20", "guest_config": "customize",
            "visibility": "public", "path": str(qcow2_file)}  # fmt: skip

    def post(client):
        return client.post(reverse("ui:image_import"), form)

    (a, b), waiting = race(Image, lambda: post(clients[0]), lambda: post(clients[1]))
    assert waiting == 2, "the two requests did not meet at the write"
    assert not any(isinstance(r, Exception) for r in (a, b)), (a, b)
    assert sorted(r.status_code for r in (a, b)) == [200, 302]
    loser = a if a.status_code == 200 else b
    again = post(clients[2])
    assert again.status_code == 200
    told = loser.context["form"].errors["name"]
    assert told == again.context["form"].errors["name"] == ["An image named 'alpine' already exists."]
    assert Image.objects.filter(name="alpine").count() == 1
