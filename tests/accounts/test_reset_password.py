"""accounts.services.users.reset_password: whoever manages a user sets its password without
the old one; nobody else, and not for oneself."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.accounts.services.users import reset_password

STRONG = "Str0ng-enough-pw"


def test_a_reseller_sets_its_customers_password(reseller, customer):
    reset_password(actor=reseller, user=customer, password=STRONG)
    customer.refresh_from_db()
    assert customer.check_password(STRONG)


def test_a_short_password_is_refused_on_its_field(admin_user, customer):
    with pytest.raises(ValidationError) as refused:
        reset_password(actor=admin_user, user=customer, password="Sh0rt!")
    assert refused.value.message_dict == {"password": ["Use 10 to 128 characters."]}


@pytest.mark.parametrize("actor, target", [("reseller", "other_customer"), ("customer", "customer")])
def test_nobody_else_and_not_oneself(request, actor, target):
    actor, target = request.getfixturevalue(actor), request.getfixturevalue(target)
    with pytest.raises(PermissionDenied):
        reset_password(actor=actor, user=target, password=STRONG)
    target.refresh_from_db()
    assert not target.check_password(STRONG)
