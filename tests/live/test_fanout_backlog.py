"""A web process that falls behind its events gets every one of them late, not some of them.

Each process receives all its sockets' events on one channel-layer channel (fanout.py).
channels-redis keeps at most `capacity` messages waiting on a channel (100 by default) and
silently drops the rest of a group send: a daphne that lagged by a fraction of a second at a
few hundred events a second lost most of them (bench/progress.py with 50 jobs at once lost
13,597 of 20,000 step events before the fan-out channels got room of their own)."""

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer

from apps.live.fanout import Fanout
from apps.live.publish import job_group

pytestmark = pytest.mark.asyncio

EVENTS = 1000


class StalledPage:
    """A socket whose writes wait until `go` is set, as a busy process's would."""

    def __init__(self):
        self.go = asyncio.Event()
        self.got = []

    async def deliver(self, group, message, text):
        await self.go.wait()
        self.got.append(message["n"])


async def test_a_fanout_that_falls_behind_gets_every_event_in_order():
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)  # the tests' layer is the production one
    job = str(uuid.uuid4())
    fan, page = Fanout(layer), StalledPage()
    await fan.join(job_group(job), page)
    try:
        for n in range(EVENTS):
            await layer.group_send(job_group(job), {"type": "job.status", "job": {"id": job}, "n": n})
        page.go.set()
        for _ in range(200):
            if len(page.got) == EVENTS:
                break
            await asyncio.sleep(0.05)
        assert page.got == list(range(EVENTS))
    finally:
        await fan.leave(job_group(job), page)
