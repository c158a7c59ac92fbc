import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from apps.accounts.models import Role, User


def test_a_customer_belongs_to_its_reseller(customer, reseller):
    assert customer.reseller == reseller
    assert list(reseller.customers.all()) == [customer]


def test_only_customers_can_have_a_reseller_in_the_database(reseller):
    with pytest.raises(IntegrityError):
        User.objects.create_user("bad-reseller-child", role=Role.RESELLER, reseller=reseller)


def test_clean_explains_a_wrong_reseller(reseller, other_customer):
    user = User(username="c3", role=Role.CUSTOMER, reseller=other_customer)
    with pytest.raises(ValidationError) as error:
        user.clean()
    assert "reseller" in error.value.message_dict


def test_a_customer_of_a_blocked_reseller_is_blocked(customer, reseller):
    assert not customer.is_blocked
    reseller.is_active = False
    reseller.save()
    customer.refresh_from_db()
    assert customer.is_blocked


def test_a_blocked_user_loses_their_session_at_the_next_request(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200
    User.objects.filter(pk=admin_user.pk).update(is_active=False)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
