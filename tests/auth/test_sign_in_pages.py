"""Signing in with a second factor on pages; staff required to enrol; API tokens unaffected;
the Content-Security-Policy header on every page."""

from django.test import Client, override_settings
from django.urls import reverse

from apps.accounts.models import ApiToken
from apps.accounts.services import two_factor
from tests.auth.conftest import code_for


def enrol(user):
    device = two_factor.start_enrolment(actor=user)
    two_factor.confirm_enrolment(actor=user, token=code_for(device))
    device.refresh_from_db()
    device.last_t = -1  # the enrolment code may be used again to sign in
    device.save()
    return device


def test_a_user_with_two_factor_is_signed_in_only_after_the_code(client, customer):
    device = enrol(customer)
    response = client.post(reverse("ui:login"), {"username": "customer-1", "password": "pw-customer-1"})
    assert response["Location"] == reverse("ui:login_code")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("ui:dashboard")).status_code == 302

    page = client.get(reverse("ui:login_code"))
    assert b'name="token"' in page.content
    response = client.post(reverse("ui:login_code"), {"token": code_for(device)})

    assert response["Location"] == reverse("ui:dashboard")
    assert client.session["_auth_user_id"] == str(customer.pk)
    assert client.get(reverse("ui:dashboard")).status_code == 200


def test_a_wrong_code_is_refused_on_the_form(client, customer):
    device = enrol(customer)
    client.post(reverse("ui:login"), {"username": "customer-1", "password": "pw-customer-1"})
    wrong = "000000" if code_for(device) != "000000" else "111111"
    response = client.post(reverse("ui:login_code"), {"token": wrong})
    assert response.status_code == 200 and b"used already" in response.content
    assert "_auth_user_id" not in client.session


def test_the_code_page_without_a_password_first_goes_back_to_sign_in(client, db):
    assert client.get(reverse("ui:login_code"))["Location"] == reverse("ui:login")


def test_the_admins_own_login_page_leads_to_the_panels(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/admin/"


def test_a_user_enrols_on_the_two_factor_page(client, customer):
    client.force_login(customer)
    page = client.get(reverse("ui:two_factor")).content.decode()
    assert '<svg class="qr"' in page and "data-totp-secret" in page
    device = two_factor.start_enrolment(actor=customer)

    response = client.post(reverse("ui:two_factor"), {"action": "enrol", "token": code_for(device)})

    assert response.status_code == 200 and b"data-backup-codes" in response.content
    assert two_factor.has_two_factor(customer)


@override_settings(VMM_REQUIRE_2FA_FOR_STAFF=True)
def test_staff_without_a_device_are_sent_to_enrol_and_tokens_still_work(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("ui:dashboard"))["Location"] == reverse("ui:two_factor")
    assert client.get("/admin/")["Location"] == reverse("ui:two_factor")
    assert client.get("/api/v1/me/").status_code == 403
    assert client.get(reverse("ui:two_factor")).status_code == 200

    _token, raw = ApiToken.objects.issue(admin_user, "billing")
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200

    enrol(admin_user)
    assert client.get(reverse("ui:dashboard")).status_code == 200


def test_every_page_carries_an_enforced_policy_without_inline_code(client, customer):
    for response in (client.get(reverse("ui:login")), client.get("/api/v1/me/")):
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "unsafe-inline" not in policy
        assert "connect-src 'self' ws://testserver wss://testserver" in policy
        assert "Content-Security-Policy-Report-Only" not in response
