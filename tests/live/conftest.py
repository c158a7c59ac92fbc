"""Websocket clients for the live-updates endpoint, signed in through a real session cookie."""

import contextlib

import pytest
import pytest_asyncio
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client

from vmmanager.asgi import application

OUR_ORIGIN = b"http://127.0.0.1"


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


_opened = []  # this test's sockets


def socket(cookie=None, origin=OUR_ORIGIN):
    headers = [(b"origin", origin)] if origin else []
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    _opened.append(communicator)
    return communicator


@pytest.fixture(autouse=True)
def a_channel_layer_of_its_own():
    """Each test gets a new channel layer (and with it a new fan-out: apps.live.fanout keeps one
    per layer). channels-redis binds a layer's receive lock to the event loop that first
    receives, and a receive whose cancellation was lost (apps/live/fanout.py) can leave it held
    when its test's loop ends: a later test on the same layer then receives nothing ("Lock ...
    is bound to a different event loop", seen once in CI after the lanes changed order)."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


@pytest_asyncio.fixture(autouse=True)
async def sockets_closed_after_the_test():
    """Disconnect what a test left open, while its event loop still runs, as a browser
    closing its tab would: the consumers leave their groups and the fan-out pump stops, so
    the loop's shutdown has no receive to wait for."""
    yield
    while _opened:
        communicator = _opened.pop()
        with contextlib.suppress(Exception):
            await communicator.disconnect(timeout=2)


@pytest.fixture
def customer_cookie(customer):
    return session_cookie(customer)


async def connected(cookie):
    """An open socket for the cookie's user; fails the test if the handshake is refused."""
    communicator = socket(cookie)
    accepted, _ = await communicator.connect()
    assert accepted
    return communicator


async def receive(communicator, timeout=3):
    return await communicator.receive_json_from(timeout=timeout)
