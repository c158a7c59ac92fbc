"""A blocked user's open sockets are closed: on a `user.blocked` event, on their next
message, and by the process's periodic re-check of its sockets' users (one query for all)."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from apps.accounts.models import User
from apps.live import recheck
from apps.live.consumers import BLOCKED
from apps.live.publish import disconnect_user
from apps.live.recheck import still_allowed
from tests.live.conftest import connected, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def block(user):
    User.objects.filter(pk=user.pk).update(is_active=False)


async def closed_with(communicator, timeout=3):
    message = await communicator.receive_output(timeout=timeout)
    assert message["type"] == "websocket.close"
    return message.get("code")


async def test_disconnect_user_closes_the_blocked_users_sockets(customer_cookie, customer):
    first, second = await connected(customer_cookie), await connected(customer_cookie)
    await block(customer)

    await database_sync_to_async(disconnect_user)(customer.pk)

    assert await closed_with(first) == BLOCKED
    assert await closed_with(second) == BLOCKED


async def test_blocking_a_reseller_closes_its_customers_sockets_too(customer_cookie, customer, reseller):
    communicator = await connected(customer_cookie)
    await block(reseller)

    await database_sync_to_async(disconnect_user)(reseller.pk)

    assert await closed_with(communicator) == BLOCKED


async def test_a_blocked_users_next_message_closes_the_socket(customer_cookie, customer):
    communicator = await connected(customer_cookie)
    await block(customer)

    await communicator.send_json_to({"action": "ping"})

    assert await closed_with(communicator) == BLOCKED


async def test_the_periodic_recheck_closes_a_silent_socket(settings, customer_cookie, customer):
    settings.VMM_WS_RECHECK_SECONDS = 0.2
    communicator = await connected(customer_cookie)
    await block(customer)

    assert await closed_with(communicator) == BLOCKED


async def test_other_users_sockets_stay_open(customer, other_customer):
    communicator = await connected(await database_sync_to_async(session_cookie)(other_customer))
    await block(customer)
    await database_sync_to_async(disconnect_user)(customer.pk)
    await communicator.send_json_to({"action": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


async def test_saving_a_user_as_blocked_closes_their_sockets_at_once(customer_cookie, customer):
    """However the block is made (API, admin, UI, a management command): a save that turns is_active off."""
    communicator = await connected(customer_cookie)

    @database_sync_to_async
    def block_by_saving():
        user = User.objects.get(pk=customer.pk)
        user.is_active = False
        user.save()

    await block_by_saving()

    assert await closed_with(communicator, timeout=2) == BLOCKED


async def test_the_recheck_asks_once_for_all_sockets_and_closes_only_the_blocked_ones(
    customer, other_customer, reseller, monkeypatch
):
    """One database read per process and sweep, however many sockets: a customer whose
    reseller was blocked without an event, and a deleted user, lose theirs; the others keep
    them."""

    class Socket:
        def __init__(self):
            self.closed = False

        async def blocked(self):
            self.closed = True

    reads = []

    async def counted(user_ids):
        reads.append(sorted(user_ids))
        return await still_allowed(user_ids)

    monkeypatch.setattr(recheck, "still_allowed", counted)
    gone = await database_sync_to_async(User.objects.create_user)("gone-soon")
    checks = recheck.Recheck()
    sockets = {user.pk: [Socket(), Socket()] for user in (customer, other_customer, reseller, gone)}
    for user_id, pair in sockets.items():
        for socket in pair:
            checks.watch(user_id, socket)
    await block(reseller)
    await database_sync_to_async(User.objects.filter(pk=gone.pk).delete)()

    assert await checks.sweep() == 6
    assert reads == [sorted(sockets)]
    assert [s.closed for s in sockets[other_customer.pk]] == [False, False]
    assert all(s.closed for pk in (customer.pk, reseller.pk, gone.pk) for s in sockets[pk])
    assert set(checks.sockets) == {other_customer.pk}  # the closed ones are no longer watched
    for socket in sockets[other_customer.pk]:
        checks.forget(other_customer.pk, socket)
    assert checks.task is None  # nothing left to watch: no sweeps


@pytest.mark.django_db
def test_the_users_still_allowed_are_read_in_one_query(customer, other_customer, reseller, django_assert_num_queries):
    User.objects.filter(pk=reseller.pk).update(is_active=False)
    with django_assert_num_queries(1):
        assert recheck._still_allowed([customer.pk, other_customer.pk, reseller.pk, 10**6]) == {other_customer.pk}


async def test_the_periodic_sweep_closes_every_socket_of_a_lone_blocked_user_then_stops(settings, customer):
    """The last sockets a sweep closes end the sweeps, but only once all of them are closed
    (each close may wait on the network, and a closed socket forgets itself)."""
    settings.VMM_WS_RECHECK_SECONDS = 0.05
    checks = recheck.Recheck()

    class Socket:
        closed = False

        async def blocked(self):
            await asyncio.sleep(0.01)  # the close frame on its way
            checks.forget(customer.pk, self)  # as the consumer's disconnect does
            self.closed = True

    sockets = [Socket(), Socket(), Socket()]
    for socket in sockets:
        checks.watch(customer.pk, socket)
    await block(customer)
    for _ in range(200):
        if checks.task is None:
            break
        await asyncio.sleep(0.02)
    assert [socket.closed for socket in sockets] == [True, True, True]
    assert checks.task is None and checks.sockets == {}
