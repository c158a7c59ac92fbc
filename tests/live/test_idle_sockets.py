"""An open page may wait minutes for its next event: the socket must outlive the channel
layer's own 5-second poll for messages (redis-py 8 once cut that poll off with 1011)."""

import asyncio

import pytest

from tests.live.conftest import connected, receive

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def test_a_socket_idle_past_the_layers_poll_still_answers(customer_cookie):
    communicator = await connected(customer_cookie)

    await asyncio.sleep(6.5)

    await communicator.send_json_to({"action": "ping"})
    assert await receive(communicator) == {"type": "pong"}
    await communicator.disconnect()
