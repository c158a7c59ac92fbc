"""Staff reset a user's lost authenticator from the admin's user list."""

from auditlog.models import LogEntry

from apps.accounts.services import two_factor
from tests.auth.conftest import code_for


def test_staff_reset_a_lost_device_from_the_admin(client, admin_user, customer):
    device = two_factor.start_enrolment(actor=customer)
    two_factor.confirm_enrolment(actor=customer, token=code_for(device))
    client.force_login(admin_user)

    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_two_factor", "_selected_action": [customer.pk]},
        follow=True,
    )

    assert b"Two-factor sign-in was reset for 1 user." in response.content
    assert not two_factor.has_two_factor(customer)
    entry = LogEntry.objects.get_for_object(customer).latest("timestamp")
    assert entry.actor == admin_user and entry.changes["two_factor"] == ["on", "reset"]
