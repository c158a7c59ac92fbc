"""Tokens (hashed, named, revocable, read-only), sessions, and blocked users."""

import hashlib

import pytest

from apps.accounts.tokens import ApiToken
from tests.api.conftest import codes

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_stored_only_as_its_hash(api, customer):
    response = api(customer, session=True).post("/api/v1/tokens/", {"name": "billing"})
    assert response.status_code == 201
    raw = response.json()["token"]
    token = ApiToken.objects.get(name="billing")
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    listed = api(customer, session=True).get("/api/v1/tokens/").json()["results"]
    assert all("token" not in item for item in listed)


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_a_token_authenticates_with_bearer_or_token_and_records_its_use(client, customer, keyword):
    token, raw = ApiToken.objects.issue(customer, "cli")
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"{keyword} {raw}")
    assert (response.status_code, response.json()["username"]) == (200, "customer-1")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_is_refused_at_once(api, customer):
    client = api(customer)
    token = ApiToken.objects.get(user=customer)
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert codes(response) == [(None, "authentication_failed")]


def test_a_read_only_token_reads_but_does_not_change(api, customer):
    client = api(customer, read_only=True)
    assert client.get("/api/v1/vms/").status_code == 200
    response = client.post("/api/v1/tokens/", {"name": "more"})
    assert (response.status_code, codes(response)) == (403, [(None, "permission_denied")])


def test_nobody_sees_anothers_tokens(api, customer, other_customer):
    token, _ = ApiToken.objects.issue(other_customer, "theirs")
    client = api(customer)
    assert client.get(f"/api/v1/tokens/{token.pk}/").status_code == 404
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 404


def test_anonymous_calls_are_401_in_the_error_format(client):
    response = client.get("/api/v1/vms/")
    assert (response.status_code, codes(response)) == (401, [(None, "not_authenticated")])


@pytest.mark.parametrize("session", [False, True], ids=["token", "session"])
def test_a_blocked_user_is_refused_at_the_very_next_request(api, customer, session):
    client = api(customer, session=session)
    assert client.get("/api/v1/vms/").status_code == 200
    customer.is_active = False
    customer.save()
    assert client.get("/api/v1/vms/").status_code in (401, 403)


@pytest.mark.parametrize("session", [False, True], ids=["token", "session"])
def test_blocking_a_reseller_blocks_its_customers_too(api, reseller, customer, session):
    client = api(customer, session=session)
    assert client.get("/api/v1/me/").status_code == 200
    reseller.is_active = False
    reseller.save()
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_the_session_needs_csrf_for_unsafe_methods(customer):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(customer)
    response = client.post("/api/v1/tokens/", {"name": "x"})
    assert (response.status_code, codes(response)) == (403, [(None, "permission_denied")])
