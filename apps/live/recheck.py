"""The live sockets' periodic re-check of their users, one database query per process.

A blocked user's sockets are closed at once by the `user.blocked` event
(publish.disconnect_user); the re-check is the safety net for a block that sent no event
(a reseller blocked, whose customers' sockets must go too; a user deleted; an event lost
while Redis was away). Every VMM_WS_RECHECK_SECONDS (default 30) the process asks the
database once which of its sockets' users are gone or blocked, and closes those sockets with
4403, instead of each socket asking for its own user: with 2,000 pages open that is one
query every 30 s, not 67 queries a second through the thread pool that reads snapshots.

Sockets implement `blocked()` (an async close with 4403). One Recheck per event loop, like
the Fanout (fanout.py)."""

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.conf import settings

from apps.accounts.models import User

logger = logging.getLogger("vmmanager.live")


def recheck_seconds():
    return getattr(settings, "VMM_WS_RECHECK_SECONDS", 30)


def _still_allowed(user_ids):
    users = User.objects.filter(pk__in=user_ids).select_related("reseller").only("is_active", "reseller__is_active")
    return {user.pk for user in users if not user.is_blocked}


# The ids among the given users' of those that exist and are not blocked (User.is_blocked).
still_allowed = database_sync_to_async(_still_allowed, thread_sensitive=False)


class Recheck:
    def __init__(self):
        self.sockets = {}  # user id -> set of sockets
        self.task = None  # the sweeps, while there are sockets to watch
        self.sweeping = False

    def watch(self, user_id, socket):
        self.sockets.setdefault(user_id, set()).add(socket)
        if self.task is None:
            self.task = asyncio.create_task(self._run())

    def forget(self, user_id, socket):
        members = self.sockets.get(user_id)
        if members is not None:
            members.discard(socket)
            if not members:
                del self.sockets[user_id]
        # Nothing left to watch: no more sweeps. Never in the middle of one (a socket it
        # closes forgets itself): the sweep's loop ends by itself once it finds none left.
        if not self.sockets and self.task is not None and not self.sweeping:
            self.task.cancel()
            self.task = None

    async def _run(self):
        try:
            while True:
                await asyncio.sleep(recheck_seconds())
                await self.sweep()
                if not self.sockets:
                    return
        except asyncio.CancelledError:
            pass
        finally:
            if self.task is asyncio.current_task():
                self.task = None

    async def sweep(self):
        """Close the sockets of every user gone or blocked now; returns how many were closed."""
        ids = list(self.sockets)
        if not ids:
            return 0
        try:
            allowed = await still_allowed(ids)
        except Exception:  # the database away for a moment: the next sweep asks again
            logger.warning("live updates: could not re-check %d user(s)", len(ids), exc_info=True)
            return 0
        doomed = [(uid, socket) for uid in ids if uid not in allowed for socket in self.sockets.get(uid, ())]
        closed = 0
        self.sweeping = True
        try:
            for user_id, socket in doomed:
                self.forget(user_id, socket)
                try:
                    await socket.blocked()
                    closed += 1
                except Exception:
                    logger.debug("live updates: could not close a socket of user %s", user_id, exc_info=True)
        finally:
            self.sweeping = False
        return closed


_rechecks = weakref.WeakKeyDictionary()


def recheck():
    """The Recheck of the running event loop."""
    loop = asyncio.get_running_loop()
    if loop not in _rechecks:
        _rechecks[loop] = Recheck()
    return _rechecks[loop]
