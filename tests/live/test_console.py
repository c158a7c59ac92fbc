"""The console websocket (/ws/console/<vm>/<kind>/?ticket=…, apps/live/console.py): who is
refused at the handshake, what a session does once open, and when it is cut.

A small stand-in for the console bridge (the process that owns libvirt's streams) listens on
loopback: it checks the consumer's signed token as the real one does, then echoes bytes.
The real bridge on a real guest is tested in tests/browser/test_real_vm_journey.py."""

import asyncio
import contextlib
import time
from datetime import timedelta

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from apps.accounts.models import User
from apps.live.console import DELETED, ENDED, TAKEN_OVER, UNAVAILABLE
from apps.live.consumers import BLOCKED
from apps.live.publish import disconnect_user
from apps.vms import consoles
from apps.vms.models import ConsoleSession, PowerState, VirtualMachine, VmStatus
from tests.live.conftest import OUR_ORIGIN, session_cookie
from vmmanager.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def vm(customer, test_host):
    return VirtualMachine.objects.create(
        name="console-1", owner=customer, host=test_host, status=VmStatus.ACTIVE, power_state=PowerState.RUNNING
    )


@pytest_asyncio.fixture
async def bridge(settings):
    """The stand-in bridge: answers {"ok": true} to a valid token, then echoes; b"bye" makes
    it close the connection as the real one does when the console ends."""
    tokens = []

    async def handle(reader, writer):
        token = consoles.read_bridge_token((await reader.readline()).decode().strip())
        tokens.append(token)
        writer.write(b'{"ok": true}\n' if token else b'{"ok": false, "error": "bad_token"}\n')
        await writer.drain()
        while token and (data := await reader.read(4096)) and data != b"bye":
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    settings.VMM_CONSOLE_BRIDGE = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    yield tokens
    server.close()


_opened = []


@pytest_asyncio.fixture(autouse=True)
async def sockets_closed_after_the_test():
    yield
    while _opened:
        with contextlib.suppress(Exception):
            await _opened.pop().disconnect(timeout=2)


@database_sync_to_async
def ticket_for(user, vm, kind="serial"):
    return consoles.open_console(vm, kind, actor=user, address="198.51.100.7")[1]


@database_sync_to_async
def cookie_of(user):
    return session_cookie(user)


def socket(vm_id, ticket, cookie=None, kind="serial", origin=OUR_ORIGIN):
    headers = [(b"origin", origin)] if origin else []
    if cookie:
        headers.append((b"cookie", cookie))
    path = f"/ws/console/{vm_id}/{kind}/" + (f"?ticket={ticket}" if ticket is not None else "")
    communicator = WebsocketCommunicator(application, path, headers=headers)
    communicator.scope["client"] = ["127.0.0.1", 50000]  # as daphne fills it in
    _opened.append(communicator)
    return communicator


async def refused(communicator):
    accepted, _ = await communicator.connect(timeout=3)
    return not accepted


async def closed_with(communicator, timeout=3):
    message = await communicator.receive_output(timeout=timeout)
    assert message["type"] == "websocket.close", message
    return message.get("code")


@database_sync_to_async
def session_of(ticket):
    return ConsoleSession.objects.get(ticket_hash=consoles._hash(ticket))


async def test_the_owner_types_into_the_console_and_the_session_is_audited(customer, vm, bridge):
    ticket = await ticket_for(customer, vm)
    communicator = socket(vm.pk, ticket, await cookie_of(customer))
    assert not await refused(communicator)

    await communicator.send_to(bytes_data=b"root\r")
    assert await communicator.receive_from(timeout=3) == b"root\r"  # through the bridge and back
    assert bridge[0]["session"] == (await session_of(ticket)).pk and bridge[0]["kind"] == "serial"
    await communicator.disconnect()

    session = await session_of(ticket)
    assert (session.username, session.vm_name, session.kind) == ("customer-1", "console-1", "serial")
    assert session.address == "198.51.100.7" and session.socket_address == "127.0.0.1"
    assert session.opened_at and session.closed_at and session.duration >= timedelta(0)
    assert session.close_reason == "closed by the browser"


async def test_keystrokes_do_not_wait_for_the_thread_of_database_calls(customer, vm, bridge):
    communicator = socket(vm.pk, await ticket_for(customer, vm), await cookie_of(customer))
    assert not await refused(communicator)
    # The one thread that Django's thread-sensitive database calls share is busy for 3 s.
    busy = asyncio.ensure_future(sync_to_async(time.sleep)(3))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await communicator.send_to(bytes_data=b"a")
    assert await communicator.receive_from(timeout=2) == b"a"
    assert time.monotonic() - started < 1, "a keystroke waited for the database thread"
    await busy


async def test_the_reseller_and_staff_open_a_customers_console(reseller, admin_user, vm, bridge):
    for user in (reseller, admin_user):
        communicator = socket(vm.pk, await ticket_for(user, vm), await cookie_of(user))
        assert not await refused(communicator)


async def test_an_anonymous_socket_is_refused_even_with_a_valid_ticket(customer, vm, bridge):
    assert await refused(socket(vm.pk, await ticket_for(customer, vm)))


async def test_an_api_ticket_opens_the_console_without_a_session(reseller, customer, other_customer, vm, bridge):
    """API clients (a reseller's own panel) have a bearer token, no session cookie."""

    @database_sync_to_async
    def api_ticket():
        return consoles.open_console(vm, "serial", actor=reseller, bearer=True)[1]

    assert await refused(socket(vm.pk, await api_ticket(), await cookie_of(other_customer)))  # not theirs
    communicator = socket(vm.pk, await api_ticket())
    assert not await refused(communicator)
    await communicator.send_to(bytes_data=b"x")
    assert await communicator.receive_from(timeout=3) == b"x"


async def test_a_foreign_origin_is_refused(customer, vm, bridge):
    communicator = socket(vm.pk, await ticket_for(customer, vm), await cookie_of(customer), origin=b"http://evil.test")
    assert await refused(communicator)


@pytest.mark.parametrize("ticket", [None, "", "not-a-ticket"])
async def test_a_socket_without_a_valid_ticket_is_refused(customer, vm, bridge, ticket):
    assert await refused(socket(vm.pk, ticket, await cookie_of(customer)))


async def test_a_ticket_is_good_for_one_socket_only(customer, vm, bridge):
    ticket, cookie = await ticket_for(customer, vm), await cookie_of(customer)
    first = socket(vm.pk, ticket, cookie)
    assert not await refused(first)
    await first.disconnect()
    assert await refused(socket(vm.pk, ticket, cookie))


async def test_an_expired_ticket_is_refused(customer, vm, bridge):
    ticket = await ticket_for(customer, vm)
    await database_sync_to_async(ConsoleSession.objects.filter(ticket_hash=consoles._hash(ticket)).update)(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert await refused(socket(vm.pk, ticket, await cookie_of(customer)))


async def test_a_ticket_works_only_for_its_user_vm_and_kind(customer, other_customer, vm, test_host, bridge):
    ticket = await ticket_for(customer, vm)
    other_vm = await database_sync_to_async(VirtualMachine.objects.create)(
        name="console-2", owner=customer, host=test_host, status=VmStatus.ACTIVE
    )
    assert await refused(socket(vm.pk, ticket, await cookie_of(other_customer)))  # someone else's socket
    assert await refused(socket(other_vm.pk, ticket, await cookie_of(customer)))  # another VM
    assert await refused(socket(vm.pk, ticket, await cookie_of(customer), kind="vnc"))  # another kind
    assert not await refused(socket(vm.pk, ticket, await cookie_of(customer)))  # still unused: it works


async def test_another_tenants_vm_has_no_console(customer, other_customer, vm, bridge):
    with pytest.raises(Exception) as refusal:
        await ticket_for(other_customer, vm)
    assert refusal.typename == "Http404"


async def test_a_user_blocked_after_taking_a_ticket_cannot_use_it(customer, vm, bridge):
    ticket, cookie = await ticket_for(customer, vm), await cookie_of(customer)
    await database_sync_to_async(User.objects.filter(pk=customer.pk).update)(is_active=False)
    assert await refused(socket(vm.pk, ticket, cookie))


async def test_blocking_the_user_cuts_an_open_console_at_once(customer, vm, bridge):
    ticket = await ticket_for(customer, vm)
    communicator = socket(vm.pk, ticket, await cookie_of(customer))
    assert not await refused(communicator)

    await database_sync_to_async(User.objects.filter(pk=customer.pk).update)(is_active=False)
    await database_sync_to_async(disconnect_user)(customer.pk)

    assert await closed_with(communicator) == BLOCKED
    assert (await session_of(ticket)).close_reason == "Your account is blocked."


async def test_blocking_the_reseller_cuts_its_customers_console(customer, reseller, vm, bridge):
    communicator = socket(vm.pk, await ticket_for(customer, vm), await cookie_of(customer))
    assert not await refused(communicator)
    await database_sync_to_async(User.objects.filter(pk=reseller.pk).update)(is_active=False)
    await database_sync_to_async(disconnect_user)(reseller.pk)
    assert await closed_with(communicator) == BLOCKED


async def test_a_console_open_while_the_vm_is_deleted_closes_saying_so(settings, customer, vm, bridge):
    settings.VMM_WS_RECHECK_SECONDS = 0.2
    ticket = await ticket_for(customer, vm)
    communicator = socket(vm.pk, ticket, await cookie_of(customer))
    assert not await refused(communicator)

    await database_sync_to_async(VirtualMachine.objects.filter(pk=vm.pk).delete)()

    assert await closed_with(communicator) == DELETED
    session = await session_of(ticket)
    assert (session.vm_id, session.vm_name, session.close_reason) == (None, "console-1", "The VM was deleted.")


async def test_when_the_console_ends_the_page_is_told_to_reconnect(customer, vm, bridge):
    communicator = socket(vm.pk, await ticket_for(customer, vm), await cookie_of(customer))
    assert not await refused(communicator)
    await communicator.send_to(bytes_data=b"bye")  # the stand-in bridge closes, as when the VM stops
    assert await closed_with(communicator) == ENDED


async def test_a_console_taken_over_by_a_newer_session_does_not_take_it_back(customer, vm, bridge):
    older = socket(vm.pk, await ticket_for(customer, vm), await cookie_of(customer))
    assert not await refused(older)
    newer = socket(vm.pk, await ticket_for(customer, vm), await cookie_of(customer))
    assert not await refused(newer)
    await older.send_to(bytes_data=b"bye")  # the bridge ends the older stream, as libvirt does on a takeover
    assert await closed_with(older) == TAKEN_OVER
    await newer.send_to(bytes_data=b"x")
    assert await newer.receive_from(timeout=3) == b"x"


async def test_without_the_bridge_the_console_closes_as_unavailable(settings, customer, vm):
    settings.VMM_CONSOLE_BRIDGE = "127.0.0.1:9"  # nothing listens there
    communicator = socket(vm.pk, await ticket_for(customer, vm), await cookie_of(customer))
    assert not await refused(communicator)
    assert await closed_with(communicator) == UNAVAILABLE


async def test_send_keys_go_to_the_bridge_as_their_own_request(customer, vm, bridge):
    communicator = socket(vm.pk, await ticket_for(customer, vm), await cookie_of(customer))
    assert not await refused(communicator)
    await communicator.send_to(text_data='{"action": "keys", "keys": "ctrl-alt-del"}')
    await communicator.send_to(bytes_data=b"x")
    assert await communicator.receive_from(timeout=3) == b"x"
    assert [token.get("keys") for token in bridge] == [None, "ctrl-alt-del"]
