"""apps.accounts.services.two_factor: enrolment, codes used once, backup codes, staff reset."""

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory, override_settings

from apps.accounts.services import two_factor
from tests.auth.conftest import code_for


def enrolled(user):
    device = two_factor.start_enrolment(actor=user)
    codes = two_factor.confirm_enrolment(actor=user, token=code_for(device))
    device.refresh_from_db()
    return device, codes


def sign_in_request():
    return RequestFactory().post("/login/code/", REMOTE_ADDR="198.51.100.7")


def test_enrolment_needs_a_right_code_and_then_gives_ten_backup_codes(customer):
    device = two_factor.start_enrolment(actor=customer)
    assert two_factor.start_enrolment(actor=customer) == device  # the same secret until confirmed
    with pytest.raises(ValidationError) as refused:
        two_factor.confirm_enrolment(actor=customer, token="000000" if code_for(device) != "000000" else "111111")
    assert "token" in refused.value.message_dict
    assert not two_factor.has_two_factor(customer)

    codes = two_factor.confirm_enrolment(actor=customer, token=code_for(device))

    assert two_factor.has_two_factor(customer)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert two_factor.backup_codes_left(customer) == 10
    with pytest.raises(ValidationError):
        two_factor.start_enrolment(actor=customer)


def test_a_code_signs_in_once_and_a_reused_code_is_refused(customer):
    device, _codes = enrolled(customer)
    device.last_t = -1
    device.save()
    code = code_for(device)

    assert two_factor.verify_second_factor(request=sign_in_request(), user=customer, token=code) == device
    with pytest.raises(ValidationError) as refused:
        two_factor.verify_second_factor(request=sign_in_request(), user=customer, token=code)
    assert "used already" in str(refused.value)


def test_a_backup_code_works_once(customer):
    _device, codes = enrolled(customer)
    two_factor.verify_second_factor(request=sign_in_request(), user=customer, token=codes[0])
    assert two_factor.backup_codes_left(customer) == 9
    with pytest.raises(ValidationError):
        two_factor.verify_second_factor(request=sign_in_request(), user=customer, token=codes[0])


@override_settings(AXES_FAILURE_LIMIT=3)
def test_wrong_codes_count_towards_the_sign_in_lockout(customer):
    device, _codes = enrolled(customer)
    for _ in range(2):
        with pytest.raises(ValidationError):
            two_factor.verify_second_factor(request=sign_in_request(), user=customer, token="12345678")
    with pytest.raises(PermissionDenied):  # the third failure locks
        two_factor.verify_second_factor(request=sign_in_request(), user=customer, token="12345678")
    device.throttle_reset()
    with pytest.raises(PermissionDenied):  # locked: even the right code is refused
        two_factor.verify_second_factor(request=sign_in_request(), user=customer, token=code_for(device, at=None))


def test_staff_reset_a_lost_device_with_an_audit_entry(admin_user, customer):
    enrolled(customer)

    assert two_factor.reset_two_factor(actor=admin_user, user=customer) is True

    assert not two_factor.has_two_factor(customer)
    assert two_factor.backup_codes_left(customer) == 0
    entry = LogEntry.objects.get_for_object(customer).latest("timestamp")
    assert entry.actor == admin_user and "two_factor" in str(entry.changes)


def test_only_staff_reset_another_users_device(reseller, customer):
    enrolled(customer)
    with pytest.raises(PermissionDenied):
        two_factor.reset_two_factor(actor=reseller, user=customer)
    assert two_factor.has_two_factor(customer)


@override_settings(VMM_REQUIRE_2FA_FOR_STAFF=True)
def test_required_for_staff_only_and_not_turned_off_then(admin_user, customer):
    assert two_factor.must_enrol(admin_user) and not two_factor.must_enrol(customer)
    device, _codes = enrolled(admin_user)
    assert not two_factor.must_enrol(admin_user)
    with pytest.raises(PermissionDenied):
        two_factor.disable_two_factor(actor=admin_user, token=code_for(device))
