"""One channel-layer membership per group per process, fanned out to that process's sockets.

With channels' usual one membership per socket, an event for a job 200 pages watch is
received 200 times by 200 receive loops in one daphne process; here it is received once,
encoded to JSON once and written to each watching socket (bench/progress.py measures it).

Sockets implement `deliver(group, message, text)`; `group_of(message)` names the group an event
was sent to, from the event itself (job events name their job, VM events their VM, user
events their user). One Fanout per event loop: channels-redis keeps per-loop state.
"""

import asyncio
import json
import logging
import weakref

from channels.layers import get_channel_layer

from apps.live.publish import job_group

logger = logging.getLogger("vmmanager.live")


def group_of(message):
    kind = message.get("type", "")
    if kind.startswith("job."):
        job = message["job"]
        return job_group(job["id"] if isinstance(job, dict) else job)
    if kind == "vm.state":
        return f"vm-{message['vm']['id']}"
    if kind == "user.blocked":
        return f"user-{message['user']}"
    return None


class Fanout:
    def __init__(self, layer):
        self.layer = layer
        self.watchers = {}  # group -> set of sockets
        self.channel = None
        self.pump = None
        # Joins and leaves one at a time: when join() returns, the process is a member of
        # the group in the layer, whichever socket asked first.
        self.lock = asyncio.Lock()

    async def join(self, group, socket):
        """Deliver `group`'s events to `socket` from now on (returns once they flow)."""
        async with self.lock:
            if self.pump is None:
                self.channel = await self.layer.new_channel("fanout.")
                self.pump = asyncio.create_task(self._pump(self.channel))
            members = self.watchers.setdefault(group, set())
            if not members:
                await self.layer.group_add(group, self.channel)
            members.add(socket)

    async def leave(self, group, socket):
        async with self.lock:
            members = self.watchers.get(group)
            if members is None or socket not in members:
                return
            members.discard(socket)
            if not members:
                del self.watchers[group]
                await self.layer.group_discard(group, self.channel)
            if not self.watchers and self.pump is not None:
                # Nobody watches anything: stop receiving until the next socket joins.
                pump, channel = self.pump, self.channel
                self.pump = self.channel = None
                pump.cancel()
                # On Python 3.11 a cancellation can be lost inside the Redis client (its
                # read timeout races with it) and the receive goes on waiting: a message on
                # the pump's own channel makes the receive return, and the pump stops.
                try:
                    await self.layer.send(channel, {"type": "fanout.stop"})
                except Exception:
                    logger.debug("live updates: could not wake the stopping pump", exc_info=True)

    async def _pump(self, channel):
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # redis-py may turn a cancellation into a ConnectionError (it drops the
                # connection it was reading): a pump asked to stop must stop, not retry.
                if asyncio.current_task().cancelling():
                    raise asyncio.CancelledError() from None
                logger.warning("live updates: receiving failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if asyncio.current_task().cancelling():
                raise asyncio.CancelledError()  # told to stop while the receive went on
            group = group_of(message)
            members = self.watchers.get(group)
            if not members:
                continue
            text = json.dumps(message)
            for socket in list(members):
                try:
                    await socket.deliver(group, message, text)
                except Exception:
                    logger.warning("live updates: could not deliver %s", message.get("type"), exc_info=True)


_fanouts = weakref.WeakKeyDictionary()


def fanout():
    """The Fanout of the running event loop."""
    loop = asyncio.get_running_loop()
    if loop not in _fanouts:
        _fanouts[loop] = Fanout(get_channel_layer())
    return _fanouts[loop]
