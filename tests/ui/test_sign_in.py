from django.urls import reverse

from apps.accounts.models import User


def test_anonymous_visitors_are_sent_to_the_panels_own_login_page(client, db):
    response = client.get(reverse("ui:vm_list"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('ui:login')}?next={reverse('ui:vm_list')}"


def test_a_customer_signs_in_and_lands_on_the_dashboard(client, customer):
    page = client.get(reverse("ui:login"))
    assert b'name="username"' in page.content

    response = client.post(reverse("ui:login"), {"username": "customer-1", "password": "pw-customer-1"})

    assert response.status_code == 302 and response["Location"] == reverse("ui:dashboard")
    assert client.get(reverse("ui:dashboard")).status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, customer):
    response = client.post(reverse("ui:login"), {"username": "customer-1", "password": "wrong"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_a_customer_of_a_blocked_reseller_cannot_sign_in(client, customer, reseller):
    User.objects.filter(pk=reseller.pk).update(is_active=False)
    response = client.post(reverse("ui:login"), {"username": "customer-1", "password": "pw-customer-1"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_user_blocked_while_signed_in_is_signed_out_at_the_next_page(client, customer, reseller):
    client.force_login(customer)
    User.objects.filter(pk=reseller.pk).update(is_active=False)

    response = client.get(reverse("ui:dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("ui:login"))


def test_signing_out_takes_a_post_and_ends_the_session(client, customer):
    client.force_login(customer)
    assert client.get(reverse("ui:logout")).status_code == 405
    response = client.post(reverse("ui:logout"))
    assert response["Location"] == reverse("ui:login")
    assert "_auth_user_id" not in client.session
