"""A VM's console in the browser: `/ws/console/<vm id>/<serial|vnc>/?ticket=…`.

The consumer checks who may open it and proxies bytes; the console bridge
(apps/vms/console_bridge.py, `manage.py console_bridge`) owns the libvirt stream or the
VNC connection. No libvirt call here (docs/console.md).

Refused before the handshake completes (HTTP 403; the foreign Origin already by the ASGI
application's AllowedHostsOriginValidator): an anonymous socket (no session cookie) unless
its ticket was issued to an API client (a bearer ticket), a ticket that is missing,
unknown, expired, used already or issued to another user, VM or kind, a blocked user, a VM
that is not the user's (apps.vms.consoles.redeem).

Once open: binary frames carry the console's bytes both ways (xterm.js, noVNC). On the
serial console a text frame `{"action": "keys", "keys": "ctrl-alt-del"}` presses keys.
The socket closes with a code and a reason the page shows:
  4403 the user was blocked (cut at once: the `user.blocked` event, and a re-check every
       VMM_WS_RECHECK_SECONDS), 4404 the VM was deleted, 4409 a newer session of the same
       serial console took it over (the page does not take it back by itself), 4410 the console ended (the VM
       stopped or restarted: the page asks a new ticket and reconnects), 4502 the VM's VNC
       server cannot be reached from the panel (the host's VNC listen address: a setting
       for staff, so the page does not retry), 4503 the bridge is not available or could
       not open the console (the page retries).
"""

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from apps.live.consumers import BLOCKED
from apps.live.fanout import fanout
from apps.live.publish import user_group
from apps.live.recheck import recheck_seconds
from apps.vms import consoles

DELETED, TAKEN_OVER, ENDED, UNREACHABLE, UNAVAILABLE = 4404, 4409, 4410, 4502, 4503
CODES = {"blocked": BLOCKED, "deleted": DELETED, "gone": DELETED}
REASONS = {
    BLOCKED: "Your account is blocked.",
    DELETED: "The VM was deleted.",
    TAKEN_OVER: "The console was opened in another window.",
    ENDED: "The console ended: the VM stopped or restarted.",
    UNREACHABLE: "The VM's graphical console cannot be reached from the panel on its host.",
    UNAVAILABLE: "The console is not available now.",
}


class BridgeRefused(OSError):
    """The bridge answered with an error (`.error`: what it said)."""

    def __init__(self, error, detail=None):
        super().__init__(detail or error)
        self.error = error


def db(func):
    return database_sync_to_async(func, thread_sensitive=False)


async def bridge_call(token):
    """(reader, writer) of a bridge connection that accepted `token`; raises OSError if not."""
    host, port = consoles.bridge_address()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, limit=2**20), 5)
    writer.write(token.encode() + b"\n")
    await writer.drain()
    answer = json.loads((await asyncio.wait_for(reader.readline(), 15)) or b"{}")
    if not answer.get("ok"):
        writer.close()
        raise BridgeRefused(answer.get("error") or "closed", answer.get("detail"))
    return reader, writer


class ConsoleConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = "live-updates-use-fanout"  # no channel per socket: the Fanout (fanout.py)

    async def connect(self):
        self.session = None
        self.tasks = []
        user = self.scope.get("user")
        user_id = user.pk if user is not None and user.is_authenticated else None
        route = self.scope["url_route"]["kwargs"]
        ticket = parse_qs(self.scope.get("query_string", b"").decode("latin1")).get("ticket", [""])[0]
        client = self.scope.get("client") or [None]
        self.session = await db(consoles.redeem)(
            ticket, vm_id=route["vm_id"], kind=route["kind"], user_id=user_id, socket_address=client[0]
        )
        if self.session is None:
            await self.close()
            return
        self.user_id = self.session.user_id
        self.fanout = fanout()
        await self.fanout.join(user_group(self.user_id), self)  # a block from now on is heard
        await self.accept()
        try:
            self.reader, self.writer = await bridge_call(consoles.bridge_token(self.session))
        except BridgeRefused as exc:
            await self._end(UNREACHABLE if exc.error == "vnc_unreachable" else UNAVAILABLE)
            return
        except (TimeoutError, OSError, ValueError):
            await self._end(UNAVAILABLE)
            return
        self.tasks = [asyncio.create_task(self._pump()), asyncio.create_task(self._recheck_forever())]

    async def dispatch(self, message):
        # Keystrokes go straight to the bridge. Channels' own dispatch first runs Django's
        # close_old_connections in the thread Django's database calls share, for every message:
        # a thread hop per key, and a wait behind whatever that thread does. The bytes touch no
        # database (docs/console.md, "Latency").
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def receive(self, text_data=None, bytes_data=None):
        if self.session is None or not hasattr(self, "writer"):
            return
        if bytes_data:
            self.writer.write(bytes_data)
            await self.writer.drain()
        elif text_data:
            await self._control(text_data)

    async def _control(self, text):
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(text)
            if message.get("action") == "keys" and message.get("keys") in consoles.KEY_COMBOS:
                with contextlib.suppress(OSError, asyncio.TimeoutError):
                    token = consoles.bridge_token(self.session, kind="keys", keys=message["keys"])
                    _, writer = await bridge_call(token)
                    writer.close()
                return
            if message.get("data"):  # typed text sent as text (e.g. a paste), not binary
                self.writer.write(str(message["data"]).encode())
                await self.writer.drain()

    async def _pump(self):
        """The bridge's bytes to the browser; when the bridge closes, say why."""
        with contextlib.suppress(OSError):
            while data := await self.reader.read(65536):
                await self.send(bytes_data=data)
        reason = await db(consoles.still_allowed)(self.session.pk)
        if reason is None and await db(consoles.taken_over)(self.session.pk):
            await self._end(TAKEN_OVER)
            return
        await self._end(CODES.get(reason, ENDED))

    async def deliver(self, group, message, text):
        """The Fanout's events for the user's group: a block ends the session at once."""
        if message["type"] == "user.blocked":
            await self._end(BLOCKED)

    async def _recheck_forever(self):
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(recheck_seconds())
                reason = await db(consoles.still_allowed)(self.session.pk)
                if reason is not None:
                    await self._end(CODES[reason])
                    return

    async def _end(self, code):
        if getattr(self, "ended", False):
            return
        self.ended = True
        await db(consoles.close_session)(self.session.pk, REASONS[code])
        await self.close(code=code, reason=REASONS[code])
        await self._release()

    async def _release(self):
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        if hasattr(self, "writer"):
            self.writer.close()
        if getattr(self, "fanout", None) is not None:
            await self.fanout.leave(user_group(self.user_id), self)
            self.fanout = None

    async def disconnect(self, code):
        if self.session is None:
            return
        if not getattr(self, "ended", False):
            self.ended = True
            await db(consoles.close_session)(self.session.pk, "closed by the browser")
        await self._release()
