"""The one websocket endpoint (/ws/): a signed-in user's page subscribes to the jobs and
VMs it may see and receives their changes live. Thin on purpose: it reads the database
through the tenancy selectors and forwards channel-layer events; it never calls libvirt.

Protocol (JSON both ways):
  → {"action": "subscribe", "job": "<uuid>"}
  ← {"type": "job.snapshot", "job": {...}, "steps": [...]}   the full history first,
  ← {"type": "job.step", "job": "<uuid>", "step": {...}}      then every change live,
  ← {"type": "job.status", "job": {...}}
  → {"action": "subscribe", "vms": [1, 2, ...]}
  ← {"type": "vm.snapshot", "vms": [{...}, ...], "missing": [...]}
  ← {"type": "vm.state", "vm": {...}}
  → {"action": "ping"}   ← {"type": "pong"}
  ← {"type": "error", "error": "not_found" | "bad_request" | "too_many", ...}

A job or VM the user may not see is `not_found`, exactly like one that does not exist.
Anonymous handshakes are refused (auth.SessionAuthMiddleware); a blocked user's socket is
closed with code 4403 on its next message, on a `user.blocked` event
(publish.disconnect_user) and by the process's re-check of its sockets' users every
VMM_WS_RECHECK_SECONDS (default 30; one query for them all: recheck.py).
Events reach sockets through the process's Fanout (fanout.py), not a channel per socket.
"""

import uuid

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.models import User
from apps.accounts.services.two_factor import must_enrol
from apps.jobs.selectors import visible_jobs
from apps.live.fanout import fanout
from apps.live.publish import job_group, job_snapshot, step_snapshot, user_group, vm_group, vm_snapshot
from apps.live.recheck import recheck
from apps.vms.selectors import visible_vms

BLOCKED = 4403
MAX_SUBSCRIPTIONS = 500


def db_read(func):
    """Read-only ORM work in the thread pool, in parallel with other sockets' (not queued
    on the one thread-sensitive thread): many pages (re)connecting at once stay fast."""
    return database_sync_to_async(func, thread_sensitive=False)


def _fresh_user(user_id):
    user = User.objects.select_related("reseller").filter(pk=user_id).first()
    return None if user is None or user.is_blocked else user


@db_read
def fresh_user(user_id):
    """The user as stored now, or None when gone or blocked."""
    return _fresh_user(user_id)


@db_read
def job_history(user_id, job_id):
    """(user, snapshot message with every step so far): user None when blocked, snapshot
    None when the user may not see the job. One database round for both."""
    user = _fresh_user(user_id)
    job = visible_jobs(user).filter(pk=job_id).first() if user else None
    if job is None:
        return user, None
    steps = [step_snapshot(step) for step in job.steps.order_by("position")]
    return user, {"type": "job.snapshot", "job": job_snapshot(job), "steps": steps}


@db_read
def vm_states(user_id, ids):
    """(user, [snapshot of each VM among `ids` the user may see]); user None when blocked."""
    user = _fresh_user(user_id)
    return user, [vm_snapshot(vm) for vm in visible_vms(user).filter(pk__in=ids).select_related("host")] if user else []


class LiveConsumer(AsyncJsonWebsocketConsumer):
    channel_layer_alias = "live-updates-use-fanout"  # no channel per socket (fanout.py)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        enrol = self.scope["must_enrol"] if "must_enrol" in self.scope else await db_read(must_enrol)(user)
        if enrol:  # staff who must set up two-factor sign-in first (read with the session: auth.py)
            await self.close()
            return
        self.user_id = user.pk
        self.subscriptions = set()  # groups whose events this socket forwards
        self.pending = {}  # group -> events held back until the group's snapshot is sent
        self.fanout = fanout()
        await self.accept()
        await self._join(user_group(self.user_id))
        self.subscriptions.add(user_group(self.user_id))
        recheck().watch(self.user_id, self)

    async def disconnect(self, code):
        if getattr(self, "user_id", None) is None:
            return
        recheck().forget(self.user_id, self)
        for group in {*self.subscriptions, *self.pending}:
            await self.fanout.leave(group, self)

    async def receive_json(self, content, **kwargs):
        action = content.get("action") if isinstance(content, dict) else None
        if action == "subscribe" and "job" in content:
            await self._subscribe_job(content["job"])
        elif action == "subscribe" and "vms" in content:
            await self._subscribe_vms(content["vms"])
        elif await fresh_user(self.user_id) is None:
            await self.close(code=BLOCKED)
        elif action == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "error": "bad_request", "detail": "unknown action"})

    async def _subscribe_job(self, raw_id):
        try:
            job_id = uuid.UUID(str(raw_id))
        except ValueError:
            await self.send_json({"type": "error", "error": "not_found", "job": str(raw_id)})
            return
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            await self._too_many()
            return
        group = job_group(job_id)
        # Join first, read second: nothing committed after the snapshot can be missed.
        # Events are held back until the user is known to see the job and has its snapshot.
        await self._join(group)
        user, snapshot = await job_history(self.user_id, job_id)
        if user is None:
            await self.close(code=BLOCKED)
        elif snapshot is None:
            await self._leave([group])
            await self.send_json({"type": "error", "error": "not_found", "job": str(job_id)})
        else:
            await self.send_json(snapshot)
            await self._release(group)

    async def _subscribe_vms(self, ids):
        if not isinstance(ids, list) or not all(type(i) is int for i in ids) or len(ids) > 200:
            await self.send_json({"type": "error", "error": "bad_request", "detail": "vms: up to 200 ids"})
            return
        if len(self.subscriptions) + len(ids) > MAX_SUBSCRIPTIONS:
            await self._too_many()
            return
        groups = {vm_id: vm_group(vm_id) for vm_id in ids}
        for group in groups.values():
            await self._join(group)
        user, states = await vm_states(self.user_id, ids)
        if user is None:
            await self.close(code=BLOCKED)
            return
        visible = {state["id"] for state in states}
        await self._leave([group for vm_id, group in groups.items() if vm_id not in visible])
        await self.send_json({"type": "vm.snapshot", "vms": states, "missing": sorted(set(ids) - visible)})
        for vm_id in visible:
            await self._release(groups[vm_id])

    async def _join(self, group):
        if group not in self.subscriptions and group not in self.pending:
            self.pending[group] = []
            await self.fanout.join(group, self)

    async def _release(self, group):
        """Send what arrived while the snapshot was read (the page merges duplicates), then go live."""
        held = self.pending.get(group, [])
        while held:
            await self.send(text_data=held.pop(0))
        self.pending.pop(group, None)
        self.subscriptions.add(group)

    async def _leave(self, groups):
        for group in groups:
            if group not in self.subscriptions:
                self.pending.pop(group, None)
                await self.fanout.leave(group, self)

    async def _too_many(self):
        await self.send_json({"type": "error", "error": "too_many", "detail": f"at most {MAX_SUBSCRIPTIONS}"})

    async def deliver(self, group, message, text):
        """Called by the Fanout with each event of a group this socket joined."""
        if message["type"] == "user.blocked":
            await self.close(code=BLOCKED)
        elif group in self.pending:
            self.pending[group].append(text)
        elif group in self.subscriptions:
            await self.send(text_data=text)

    async def blocked(self):
        """The process's re-check found the user gone or blocked (recheck.py)."""
        await self.close(code=BLOCKED)
