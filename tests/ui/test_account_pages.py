"""Self-service: every user's profile and language, API tokens (the secret shown once, last
used, revoked) and saved SSH keys (checked, fingerprinted, deleted); another user's token or
key is not found."""

from django.test import Client
from django.urls import reverse

from apps.accounts.sshkeys import SshKey
from apps.accounts.tokens import ApiToken

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@example"


def test_a_customer_changes_its_name_and_e_mail_but_not_its_user_name(as_customer, customer):
    form = as_customer.get(reverse("ui:profile")).content.decode()
    assert 'name="username"' not in form and "customer-1" in form

    as_customer.post(reverse("ui:profile"), {"email": "me@example.com", "first_name": "Ann", "last_name": ""})

    customer.refresh_from_db()
    assert (customer.email, customer.first_name) == ("me@example.com", "Ann")


def test_a_bad_e_mail_is_refused_on_its_field(as_customer):
    response = as_customer.post(reverse("ui:profile"), {"email": "not an address"})
    assert response.context["form"].errors["email"] == ["Enter a valid email address."]


def test_the_profile_switches_the_language(as_customer):
    response = as_customer.post(reverse("ui:set_language"), {"language": "ru", "next": reverse("ui:profile")})
    assert response["Location"] == reverse("ui:profile")
    assert "Ваша учётная запись" in as_customer.get(reverse("ui:profile")).content.decode()


def test_a_new_token_is_shown_once_and_works(as_customer, customer):
    response = as_customer.post(reverse("ui:token_list"), {"name": "billing"}, follow=True)
    secret = response.context["new"]["secret"]
    assert secret in response.content.decode()

    again = as_customer.get(reverse("ui:token_list")).content.decode()
    assert secret not in again and "billing" in again and "never" in again

    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/me/").json()["username"] == "customer-1"
    assert ApiToken.objects.get(name="billing").last_used_at is not None
    assert "never" not in as_customer.get(reverse("ui:token_list")).content.decode().split("billing")[1]


def test_a_token_name_taken_is_refused_on_its_field(as_customer, customer):
    ApiToken.objects.issue(customer, "billing")
    response = as_customer.post(reverse("ui:token_list"), {"name": "billing"})
    assert response.context["form"].errors["name"] == ["You already have a token with this name."]


def test_a_revoked_token_stops_working(as_customer, customer):
    token, secret = ApiToken.objects.issue(customer, "billing")
    as_customer.post(reverse("ui:token_revoke", args=[token.pk]))
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me/").status_code == 401


def test_another_users_token_and_key_are_not_found(as_customer, other_customer):
    token, _secret = ApiToken.objects.issue(other_customer, "theirs")
    key = SshKey(owner=other_customer, name="theirs", public_key=KEY)
    key.clean()
    key.save()
    assert as_customer.post(reverse("ui:token_revoke", args=[token.pk])).status_code == 404
    assert as_customer.post(reverse("ui:sshkey_delete", args=[key.pk])).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists() and SshKey.objects.filter(pk=key.pk).exists()


def test_a_saved_key_shows_its_fingerprint_and_is_offered_when_ordering(as_customer, customer):
    as_customer.post(reverse("ui:sshkey_list"), {"name": "laptop", "public_key": KEY})

    key = SshKey.objects.get(owner=customer)
    listed = as_customer.get(reverse("ui:sshkey_list")).content.decode()
    assert key.fingerprint.startswith("SHA256:") and key.fingerprint in listed
    assert "laptop" in as_customer.get(reverse("ui:vm_create")).content.decode()

    as_customer.post(reverse("ui:sshkey_delete", args=[key.pk]))
    assert not SshKey.objects.filter(owner=customer).exists()


def test_a_bad_or_repeated_key_is_refused_on_its_field(as_customer, customer):
    bad = as_customer.post(reverse("ui:sshkey_list"), {"name": "laptop", "public_key": "ssh-rsa nope"})
    assert bad.context["form"].errors["public_key"]
    as_customer.post(reverse("ui:sshkey_list"), {"name": "laptop", "public_key": KEY})
    again = as_customer.post(reverse("ui:sshkey_list"), {"name": "desk", "public_key": KEY})
    assert again.context["form"].errors["public_key"] == ["You already saved this key."]
