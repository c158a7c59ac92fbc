"""Hosts (staff), images (visibility), plans, SSH keys and jobs."""

import pytest

from apps.accounts.plans import Plan
from apps.hosts.models import Host
from apps.images.models import Image, ImageStatus, Visibility
from apps.jobs import runner
from apps.jobs.models import Job
from tests.api.conftest import SSH_KEY, codes, make_vm

pytestmark = pytest.mark.django_db


def test_staff_add_a_host_which_starts_a_refresh_job(api, admin_user):
    body = {"name": "kvm-2", "uri": "qemu+ssh://root@kvm-2/system", "domain_type": "kvm"}
    response = api(admin_user).post("/api/v1/hosts/", body)
    assert response.status_code == 201, response.json()
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert (job.kind, job.target) == ("host_refresh", Host.objects.get(name="kvm-2"))


def test_a_host_is_validated_like_in_the_admin(api, admin_user):
    response = api(admin_user).post("/api/v1/hosts/", {"name": "bad", "uri": "http://x/", "storage_path": "rel"})
    assert response.status_code == 400
    assert "uri" in {field for field, _ in codes(response)}
    assert not Host.objects.filter(name="bad").exists()


def test_hosts_are_for_staff_only(api, reseller, host):
    assert api(reseller).get("/api/v1/hosts/").status_code == 403
    assert api(reseller).get(f"/api/v1/hosts/{host.pk}/").status_code == 403


def test_the_hosts_list_shows_each_hosts_allocation_in_queries_that_do_not_grow_with_it(api, admin_user, customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(admin_user)

    def listed():
        with CaptureQueriesContext(connection) as queries:
            rows = client.get("/api/v1/hosts/?page_size=100").json()["results"]
        return {row["name"]: (row["vms"], row["allocation"]["memory_mb"]) for row in rows}, len(queries)

    def add(name, vms):
        host = Host.objects.create(name=name, uri=f"test:///{name}", status="online")
        for i in range(vms):
            make_vm(customer, host, f"{name}-{i}", memory_mb=512)

    add("h0", 2)
    listed()  # the token's first use stamps it
    few, few_queries = listed()
    for n in range(1, 8):
        add(f"h{n}", n)
    many, many_queries = listed()
    assert few == {"h0": (2, 1024)}
    assert many["h5"] == (5, 2560) and len(many) == 8
    assert many_queries == few_queries


def _image(owner, name="img", visibility=Visibility.PRIVATE):
    return Image.objects.create(
        name=name,
        owner=owner,
        visibility=visibility,
        status=ImageStatus.READY,
        virtual_size_bytes=2**30,
        checksum_sha256="0" * 64,
    )


def test_an_owner_shares_its_image_but_only_staff_make_it_public(api, reseller, customer, admin_user):
    image = _image(reseller)
    client = api(reseller)
    response = client.patch(f"/api/v1/images/{image.pk}/", {"visibility": "shared", "shared_with": [customer.pk]})
    assert response.status_code == 200, response.json()
    assert image.id in [i["id"] for i in api(customer).get("/api/v1/images/").json()["results"]]
    assert codes(client.patch(f"/api/v1/images/{image.pk}/", {"visibility": "public"})) == [("visibility", "forbidden")]
    assert api(admin_user).patch(f"/api/v1/images/{image.pk}/", {"visibility": "public"}).status_code == 200


def test_an_image_is_shared_only_with_users_one_sees(api, reseller, other_customer):
    image = _image(reseller)
    response = api(reseller).patch(f"/api/v1/images/{image.pk}/", {"shared_with": [other_customer.pk]})
    assert codes(response) == [("shared_with", "does_not_exist")]


def test_a_visible_image_of_someone_else_cannot_be_changed(api, customer, ready_image):
    assert api(customer).patch(f"/api/v1/images/{ready_image.pk}/", {"visibility": "private"}).status_code == 403
    assert api(customer).delete(f"/api/v1/images/{ready_image.pk}/").status_code == 403


def test_plans_are_read_by_everyone_and_managed_by_staff(api, admin_user, customer):
    body = {"name": "small", "vcpus": 1, "memory_mb": 1024, "disk_gb": 10, "price_code": "S1"}
    assert api(customer).post("/api/v1/plans/", body).status_code == 403
    assert api(admin_user).post("/api/v1/plans/", body).status_code == 201
    Plan.objects.create(name="old", vcpus=1, memory_mb=512, disk_gb=5, is_active=False)
    assert [p["name"] for p in api(customer).get("/api/v1/plans/").json()["results"]] == ["small"]


def test_ssh_keys_are_validated_and_fingerprinted(api, customer):
    client = api(customer)
    response = client.post("/api/v1/ssh-keys/", {"name": "laptop", "public_key": SSH_KEY})
    assert response.status_code == 201, response.json()
    assert response.json()["fingerprint"].startswith("SHA256:")
    assert codes(client.post("/api/v1/ssh-keys/", {"name": "bad", "public_key": "ssh-rsa nope"})) == [
        ("public_key", "invalid")
    ]
    assert codes(client.post("/api/v1/ssh-keys/", {"name": "again", "public_key": SSH_KEY})) == [
        ("public_key", "unique")
    ]


def test_jobs_show_their_steps_to_the_targets_owner_only(api, customer, other_customer, host):
    vm = make_vm(customer, host)
    job = runner.submit("vm_start", vm, actor=customer, queue=False)
    job.steps.create(position=1, name="Start the domain")
    body = api(customer).get(f"/api/v1/jobs/{job.pk}/").json()
    assert [s["name"] for s in body["steps"]] == ["Start the domain"]
    assert api(other_customer).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert api(customer).get(f"/api/v1/jobs/?vm={vm.pk}").json()["results"][0]["id"] == str(job.pk)


def test_staff_have_a_host_checked_again(api, admin_user, host):
    response = api(admin_user).post(f"/api/v1/hosts/{host.pk}/refresh/")
    job = Job.objects.get(kind="host_refresh")
    assert response.status_code == 202 and response.json()["job"]["id"] == str(job.pk) and job.target == host


def test_a_host_name_already_taken_is_refused_on_its_field(api, admin_user, host):
    body = {"name": host.name, "uri": "qemu+ssh://root@203.0.113.9/system"}
    response = api(admin_user).post("/api/v1/hosts/", body, format="json")
    assert codes(response) == [("name", "unique")]
