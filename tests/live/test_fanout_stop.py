"""A fan-out pump that is told to stop, stops: even when the channel layer's client turns
the cancellation into a connection error (redis-py drops the connection it was reading
and raises ConnectionError), which once made the pump retry forever and hang the event
loop's shutdown (daphne's, or a test's)."""

import asyncio

import pytest

from apps.live.fanout import Fanout

pytestmark = pytest.mark.asyncio


class LayerThatSwallowsCancellation:
    """Receives like redis-py under cancellation: the wait is interrupted, a ConnectionError comes out."""

    def __init__(self):
        self.receives = 0

    async def new_channel(self, prefix):
        return prefix + "test"

    async def group_add(self, group, channel):
        pass

    async def group_discard(self, group, channel):
        pass

    async def receive(self, channel):
        self.receives += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ConnectionError("Connection closed by server.") from None


async def test_a_cancelled_pump_ends_even_if_the_layer_raises_something_else():
    layer = LayerThatSwallowsCancellation()
    fan = Fanout(layer)
    await fan.join("vm-1", object())
    pump = fan.pump
    await asyncio.sleep(0)  # the pump is waiting in receive()

    pump.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(pump, timeout=2)
    assert layer.receives == 1  # it did not go round again


async def test_leaving_the_last_group_stops_the_pump():
    layer = LayerThatSwallowsCancellation()
    fan = Fanout(layer)
    socket = object()
    await fan.join("vm-1", socket)
    pump = fan.pump
    await asyncio.sleep(0)

    await fan.leave("vm-1", socket)
    await asyncio.wait([pump], timeout=2)
    assert pump.done() and fan.pump is None
