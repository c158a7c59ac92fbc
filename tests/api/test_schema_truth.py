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
