"""One event loop per process for sending to the channel layer from synchronous code.

`async_to_sync(layer.group_send)` called from a plain thread (a job worker, a management
command) starts a thread and a new event loop for each call, and channels-redis opens a new
connection pool for each loop: on the test machine that was about 10 ms per event, seven
events per job. Here one daemon thread runs one loop for the life of the process (made
again after a fork: django-q2 forks its workers), so each send is one round trip to Redis.

`send(group, message)` waits until the layer has the message (so events keep their order and
the caller knows it was sent), at most TIMEOUT seconds. Called from a thread that runs an
event loop itself it does not wait (it must not block that loop).

Only for channels-redis. Other layers (the SQLite one of `make run`, channels-lite) store
messages through Django's thread-sensitive database calls, which asgiref runs on the
calling request's own thread: from a loop of ours that thread would be waiting for us, and
the send would hang. They go through `async_to_sync` as before.
"""

import asyncio
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer

TIMEOUT = 10

_lock = threading.Lock()
_loop = None
_pid = None


def _running_loop():
    global _loop, _pid
    with _lock:
        if _loop is None or _pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer-loop", daemon=True).start()
            _loop, _pid = loop, os.getpid()
        return _loop


def send(group, message):
    """Send `message` to `group` on the default channel layer (none configured: nothing)."""
    layer = get_channel_layer()
    if layer is None:
        return
    if not isinstance(layer, RedisChannelLayer):
        async_to_sync(layer.group_send)(group, message)
        return
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _running_loop())
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        future.result(TIMEOUT)  # a plain thread: wait for the layer
