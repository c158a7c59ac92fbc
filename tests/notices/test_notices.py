"""E-mail notices against a real SMTP server (aiosmtpd on 127.0.0.1): suspension and its
lifting in the customer's language, VM ready with its addresses, password reset done, and
the optional ones not sent to a user who turned them off."""

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller

from apps.jobs import runner
from tests.api.conftest import client_for
from tests.ui.conftest import make_vm

pytestmark = pytest.mark.django_db(transaction=True)
STUB = (
    "from apps.vms.models import VirtualMachine\n\nSTEPS = ['Stub']\n\n\ndef run(ctx, vm, **params):\n"
    "    VirtualMachine.objects.filter(pk=vm.pk).update(ip_addresses=['203.0.113.10'])\n"
)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message["Subject"].strip(), message.get_content()))
        return "250 OK"


@pytest.fixture
def inbox(settings, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    operations = tmp_path / "operations"
    operations.mkdir()
    for kind in ("vm_create", "vm_reset_password"):
        (operations / f"{kind}.py").write_text(STUB)
    settings.VMM_OPERATIONS_DIR = str(operations)
    yield handler
    controller.stop()


def test_suspension_notices_reach_the_customer_in_russian(inbox, customer, reseller, test_host):
    customer.email, customer.language = "c1@example.com", "ru"
    customer.save()
    make_vm(customer, test_host, name="web-ru")
    billing = client_for(reseller)
    billing.post(f"/api/v1/users/{customer.pk}/suspend/", {"reason": "счёт 42 не оплачен"}, format="json")
    billing.post(f"/api/v1/users/{customer.pk}/unsuspend/")
    (to1, subject1, body1), (to2, subject2, body2) = inbox.messages
    assert to1 == to2 == ["c1@example.com"]
    assert subject1 == "Ваша учётная запись приостановлена"
    assert "счёт 42 не оплачен" in body1 and "web-ru" in body1
    assert subject2 == "Ваша учётная запись снова активна"


def test_vm_ready_and_password_reset_in_english_with_the_addresses(inbox, customer, test_host):
    customer.email = "c1@example.com"
    customer.save()
    vm = make_vm(customer, test_host, name="web-en")
    runner.run_inline("vm_create", vm)
    runner.run_inline("vm_reset_password", vm)
    (to, subject, body), (_, subject2, _) = inbox.messages
    assert (to, subject) == (["c1@example.com"], "Your VM web-en is ready")
    assert "203.0.113.10" in body
    assert subject2 == "The root password of web-en was reset"


def test_a_user_who_turned_off_the_optional_notices_still_hears_of_suspension(inbox, customer, reseller, test_host):
    customer.email, customer.email_notices = "c1@example.com", False
    customer.save()
    vm = make_vm(customer, test_host, name="web-quiet")
    runner.run_inline("vm_create", vm)
    client_for(reseller).post(f"/api/v1/vms/{vm.pk}/billing-suspend/", {"reason": "overdue"}, format="json")
    assert [subject for _, subject, _ in inbox.messages] == ["Your VM web-quiet is suspended"]
