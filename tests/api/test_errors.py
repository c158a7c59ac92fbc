"""One error format everywhere: {"errors": [{"field", "code", "message"}]}, never a 500 for
bad input."""

import pytest

from tests.api.conftest import codes, make_vm, order

pytestmark = pytest.mark.django_db


def test_serializer_errors_name_their_fields_nested_with_dots(api, customer, host, ready_image):
    body = order(ready_image, network={"address": 5}, vcpus="many")
    response = api(customer).post("/api/v1/vms/", body, format="json")
    assert response.status_code == 400
    assert set(codes(response)) >= {("vcpus", "invalid"), ("network.gateway", "required")}
    assert all(set(e) == {"field", "code", "message"} for e in response.json()["errors"])


def test_django_validation_errors_become_one_entry_per_field(api, customer, host, ready_image):
    response = api(customer).post(
        "/api/v1/vms/", order(ready_image, network={"address": "10.0.0.5/24", "gateway": "9.9.9.9"})
    )
    assert codes(response) == [("network", "invalid")]


def test_malformed_json_is_a_400(api, customer):
    response = api(customer).post("/api/v1/vms/", "{nope", content_type="application/json")
    assert (response.status_code, codes(response)) == (400, [(None, "parse_error")])


def test_an_unknown_api_path_is_a_404_in_the_same_format(api, customer):
    response = api(customer).get("/api/v1/nothing-here/")
    assert (response.status_code, codes(response)) == (404, [(None, "not_found")])


def test_a_wrong_method_is_405(api, customer, host):
    vm = make_vm(customer, host)
    response = api(customer).put(f"/api/v1/vms/{vm.pk}/", {})
    assert (response.status_code, codes(response)) == (405, [(None, "method_not_allowed")])


def test_a_services_refusal_names_its_field(api, admin_user, customer, host, ready_image):
    make_vm(customer, host, image=ready_image)
    response = api(admin_user).delete(f"/api/v1/images/{ready_image.pk}/")
    assert (response.status_code, codes(response)) == (400, [("image", "invalid")])
    assert "1 VM was made from this image" in response.json()["errors"][0]["message"]


def test_a_services_permission_refusal_keeps_its_reason(api, customer, ready_image):
    response = api(customer).delete(f"/api/v1/images/{ready_image.pk}/")
    assert (response.status_code, codes(response)) == (403, [(None, "permission_denied")])
    assert response.json()["errors"][0]["message"] == "Only the image's owner (or staff) may change or delete it."


def test_a_non_numeric_id_is_a_404_not_a_500(api, customer):
    assert api(customer).get("/api/v1/vms/abc/").status_code == 404
    assert api(customer).get("/api/v1/jobs/not-a-uuid/").status_code == 404
