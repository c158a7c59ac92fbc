"""The schema tells the truth about what the API accepts and answers (what an outside
fuzzer found): page_size from 1 and given once, a quota never set has no updated_at, an id
in a path past the database's integer range is simply not found."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.api.conftest import codes, make_vm

pytestmark = pytest.mark.django_db

HUGE = "92930459597427915179548542700043108352"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_page_size_is_declared_from_one(schema):
    parameters = schema["paths"]["/api/v1/vms/"]["get"]["parameters"]
    page_size = next(p for p in parameters if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1}


@pytest.mark.parametrize("query", ["page_size=0", "page_size=-1", "page_size=null&page_size=null", "page_size=2.5",
                                   "page_size=3&page_size=3", "page_size="])  # fmt: skip
def test_a_page_size_the_schema_refuses_is_a_400_naming_it(api, customer, query):
    response = api(customer).get(f"/api/v1/ssh-keys/?{query}")
    assert (response.status_code, codes(response)) == (400, [("page_size", "invalid")])


def test_a_page_size_from_one_pages_and_a_big_one_is_capped(api, customer, host):
    for index in range(3):
        make_vm(customer, host, name=f"vm-{index}")
    client = api(customer)
    first = client.get("/api/v1/vms/?page_size=1").json()
    assert len(first["results"]) == 1 and first["next"]
    assert len(client.get("/api/v1/vms/?page_size=100000").json()["results"]) == 3


def test_a_quota_never_set_answers_no_update_time_as_the_schema_says(api, customer, schema):
    body = api(customer).get(f"/api/v1/quotas/{customer.pk}/").json()
    assert body["updated_at"] is None and body["max_vms"] is None
    assert schema["components"]["schemas"]["Quota"]["properties"]["updated_at"]["nullable"] is True


@pytest.mark.parametrize("path", ["vms/{}/", "vms/{}/stats/", "users/{}/", "quotas/{}/", "images/{}/", "hosts/{}/",
                                  "ssh-keys/{}/", "plans/{}/", "tokens/{}/", "jobs/{}/"])  # fmt: skip
def test_an_id_past_the_integer_range_in_a_path_is_not_found(api, admin_user, path):
    client = api(admin_user)
    assert client.get(f"/api/v1/{path.format(HUGE)}").status_code == 404
    if path.count("/") == 2 and not path.startswith(("jobs", "quotas")):
        assert client.delete(f"/api/v1/{path.format(HUGE)}").status_code in (404, 405)


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("tokens/", {"name": "t", "read_only": "true"}, "read_only"),
        ("tokens/", {"name": 5}, "name"),
        ("ssh-keys/", {"name": ["laptop"], "public_key": "x"}, "name"),
        ("users/{me}/", {"last_name": 7}, "last_name"),
    ],
)
def test_a_body_value_of_another_json_type_than_the_schema_says_is_refused(api, customer, path, body, field):
    client = api(customer)
    url = f"/api/v1/{path.format(me=customer.pk)}"
    response = client.patch(url, body) if "{me}" in path else client.post(url, body)
    assert (response.status_code, codes(response)) == (400, [(field, "invalid")])


def test_staff_bodies_are_typed_too(api, admin_user, reseller):
    client = api(admin_user)
    plan = {"name": "small", "vcpus": "2", "memory_mb": 1024, "disk_gb": 10, "is_active": 1}
    assert sorted(codes(client.post("/api/v1/plans/", plan))) == [("is_active", "invalid"), ("vcpus", "invalid")]
    assert codes(client.put(f"/api/v1/quotas/{reseller.pk}/", {"max_vms": 5.0})) == [("max_vms", "invalid")]
    assert codes(client.post("/api/v1/hosts/", {"name": 1, "uri": "test:///default"})) == [("name", "invalid")]


def test_the_schema_states_the_form_of_a_hosts_uri_and_storage_path(schema, api, admin_user):
    fields = schema["components"]["schemas"]["HostRequest"]["properties"]
    assert fields["uri"]["pattern"].startswith("^(qemu|") and fields["storage_path"]["pattern"] == "^/"
    response = api(admin_user).post("/api/v1/hosts/", {"name": "h", "uri": "http://x/", "storage_path": "rel"})
    assert sorted(codes(response)) == [("uri", "invalid")]
