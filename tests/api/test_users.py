"""Users: a reseller manages its own customers, staff manage everyone, a customer sees itself."""

import pytest

from apps.accounts.models import Role, User
from tests.api.conftest import codes, make_vm

pytestmark = pytest.mark.django_db


def test_a_reseller_creates_a_customer_of_its_own(api, reseller):
    response = api(reseller).post("/api/v1/users/", {"username": "new-1", "password": "a-L0ng-passw0rd"})
    assert response.status_code == 201, response.json()
    user = User.objects.get(username="new-1")
    assert (user.role, user.reseller, user.check_password("a-L0ng-passw0rd")) == (Role.CUSTOMER, reseller, True)


def test_a_reseller_cannot_make_a_reseller_or_an_admin(api, reseller):
    response = api(reseller).post("/api/v1/users/", {"username": "x-1", "role": "admin"})
    assert (response.status_code, codes(response)) == (400, [("role", "forbidden")])


def test_a_customer_creates_no_users_and_sees_only_itself(api, customer, reseller):
    client = api(customer)
    assert client.post("/api/v1/users/", {"username": "x-1"}).status_code == 403
    assert [u["username"] for u in client.get("/api/v1/users/").json()["results"]] == ["customer-1"]
    assert client.get(f"/api/v1/users/{reseller.pk}/").status_code == 404


def test_a_reseller_blocks_and_unblocks_its_customer_who_is_then_refused(api, reseller, customer):
    manager, victim = api(reseller), api(customer)
    assert manager.post(f"/api/v1/users/{customer.pk}/block/").json()["is_active"] is False
    assert victim.get("/api/v1/me/").status_code == 401
    assert manager.post(f"/api/v1/users/{customer.pk}/unblock/").json()["is_blocked"] is False
    assert victim.get("/api/v1/me/").status_code == 200


def test_nobody_blocks_itself_or_a_stranger(api, reseller, customer, other_customer):
    assert api(reseller).post(f"/api/v1/users/{reseller.pk}/block/").status_code == 403
    assert api(reseller).post(f"/api/v1/users/{other_customer.pk}/block/").status_code == 404
    assert api(customer).post(f"/api/v1/users/{customer.pk}/block/").status_code == 403


def test_deleting_a_customer_with_vms_is_refused_until_they_are_gone(api, reseller, customer, host):
    vm = make_vm(customer, host)
    response = api(reseller).delete(f"/api/v1/users/{customer.pk}/")
    assert (response.status_code, codes(response)) == (409, [(None, "protected")])
    vm.delete()
    assert api(reseller).delete(f"/api/v1/users/{customer.pk}/").status_code == 204


def test_staff_create_resellers_and_see_everyone(api, admin_user, customer, other_customer):
    client = api(admin_user)
    assert client.post("/api/v1/users/", {"username": "res-9", "role": "reseller"}).status_code == 201
    assert len(client.get("/api/v1/users/?role=customer").json()["results"]) == 2


def test_a_user_edits_its_own_profile_but_not_its_role(api, customer):
    client = api(customer)
    assert client.patch(f"/api/v1/users/{customer.pk}/", {"email": "c@example.com"}).status_code == 200
    assert codes(client.patch(f"/api/v1/users/{customer.pk}/", {"role": "admin"})) == [("role", "forbidden")]


def test_a_customer_changes_its_name_email_and_password_but_not_its_user_name(api, customer):
    client = api(customer)
    body = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "password": "a-N3w-passw0rd"}
    assert client.patch(f"/api/v1/users/{customer.pk}/", body).status_code == 200
    customer.refresh_from_db()
    assert (customer.first_name, customer.email, customer.check_password("a-N3w-passw0rd")) == (
        "Ada",
        "ada@example.com",
        True,
    )
    response = client.patch(f"/api/v1/users/{customer.pk}/", {"username": "someone-else"})
    assert (response.status_code, codes(response)) == (400, [("username", "forbidden")])
    customer.refresh_from_db()
    assert customer.username == "customer-1"
    assert client.patch(f"/api/v1/users/{customer.pk}/", {"username": "customer-1"}).status_code == 200


def test_nobody_renames_itself_but_whoever_manages_it_does(api, admin_user, reseller, customer):
    assert codes(api(reseller).patch(f"/api/v1/users/{reseller.pk}/", {"username": "r-9"})) == [
        ("username", "forbidden")
    ]
    assert codes(api(admin_user).patch(f"/api/v1/users/{admin_user.pk}/", {"username": "a-9"})) == [
        ("username", "forbidden")
    ]
    assert api(reseller).patch(f"/api/v1/users/{customer.pk}/", {"username": "c-9"}).status_code == 200
    assert api(admin_user).patch(f"/api/v1/users/{reseller.pk}/", {"username": "r-9"}).status_code == 200
    assert sorted(User.objects.values_list("username", flat=True)) == ["c-9", "r-9", "root-admin"]


def test_role_and_reseller_are_changed_by_staff_only_and_never_by_oneself(api, admin_user, reseller, customer):
    assert codes(api(reseller).patch(f"/api/v1/users/{customer.pk}/", {"reseller": None})) == [
        ("reseller", "forbidden")
    ]
    assert codes(api(admin_user).patch(f"/api/v1/users/{admin_user.pk}/", {"role": "customer"})) == [
        ("role", "forbidden")
    ]
    response = api(admin_user).patch(f"/api/v1/users/{customer.pk}/", {"reseller": None})
    assert (response.status_code, response.json()["reseller"]) == (200, None)


def test_a_taken_user_name_is_refused_on_its_field(api, admin_user, reseller, customer):
    response = api(admin_user).patch(f"/api/v1/users/{customer.pk}/", {"username": "reseller-1"})
    assert (response.status_code, codes(response)) == (400, [("username", "unique")])
    response = api(reseller).post("/api/v1/users/", {"username": "customer-1"})
    assert (response.status_code, codes(response)) == (400, [("username", "unique")])
