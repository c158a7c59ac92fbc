import pytest
from channels.db import database_sync_to_async

from apps.accounts.models import User
from tests.live.conftest import receive, session_cookie, socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_a_signed_in_user_connects_and_gets_pong_for_ping(customer_cookie):
    communicator = socket(customer_cookie)
    accepted, _ = await communicator.connect()
    assert accepted
    await communicator.send_json_to({"action": "ping"})
    assert await receive(communicator) == {"type": "pong"}
    await communicator.disconnect()


async def test_an_anonymous_handshake_is_refused(db):
    accepted, _ = await socket(cookie=None).connect()
    assert not accepted


@pytest.mark.parametrize("origin", [b"http://evil.example", None])
async def test_a_foreign_or_missing_origin_is_refused_even_with_a_session(customer_cookie, origin):
    accepted, _ = await socket(customer_cookie, origin=origin).connect()
    assert not accepted


async def test_a_customer_of_a_blocked_reseller_is_refused(customer, reseller):
    cookie = await _cookie_then_block(customer, reseller)
    accepted, _ = await socket(cookie).connect()
    assert not accepted


async def test_an_unknown_action_gets_an_error_not_a_closed_socket(customer_cookie):
    communicator = socket(customer_cookie)
    await communicator.connect()
    await communicator.send_json_to({"action": "dance"})
    assert (await receive(communicator))["error"] == "bad_request"
    await communicator.send_json_to({"action": "ping"})
    assert await receive(communicator) == {"type": "pong"}
    await communicator.disconnect()


async def _cookie_then_block(customer, reseller):
    from channels.db import database_sync_to_async

    @database_sync_to_async
    def run():
        cookie = session_cookie(customer)
        User.objects.filter(pk=reseller.pk).update(is_active=False)
        return cookie

    return await run()


async def test_changing_the_password_signs_the_other_sessions_sockets_out(customer, customer_cookie):
    from channels.db import database_sync_to_async

    @database_sync_to_async
    def change_password():
        customer.set_password("A-new-password-1")
        customer.save()

    await change_password()
    accepted, _ = await socket(customer_cookie).connect()
    assert not accepted


async def test_staff_who_must_set_up_two_factor_first_are_refused(admin_user, settings):
    settings.VMM_REQUIRE_2FA_FOR_STAFF = True
    cookie = await database_sync_to_async(session_cookie)(admin_user)
    accepted, _ = await socket(cookie).connect()
    assert not accepted
