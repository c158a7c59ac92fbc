from django.urls import reverse


def test_a_user_changes_their_password_and_stays_signed_in(as_customer, customer):
    response = as_customer.post(
        reverse("ui:password_change"),
        {"old_password": "pw-customer-1", "new_password1": "A-much-better-pw-9", "new_password2": "A-much-better-pw-9"},
        follow=True,
    )
    assert b"Your password was changed." in response.content
    customer.refresh_from_db()
    assert customer.check_password("A-much-better-pw-9")
    assert as_customer.get(reverse("ui:dashboard")).status_code == 200


def test_a_wrong_old_password_is_shown_on_its_field(as_customer):
    response = as_customer.post(
        reverse("ui:password_change"),
        {"old_password": "nope", "new_password1": "A-much-better-pw-9", "new_password2": "A-much-better-pw-9"},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
