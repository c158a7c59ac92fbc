"""Websocket clients for the live-updates endpoint, signed in through a real session cookie."""

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from vmmanager.asgi import application

OUR_ORIGIN = b"http://127.0.0.1"


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def socket(cookie=None, origin=OUR_ORIGIN):
    headers = [(b"origin", origin)] if origin else []
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, "/ws/", headers=headers)


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
