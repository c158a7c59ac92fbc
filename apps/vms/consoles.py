"""Opening a VM's console: the one door both the web UI and the API use (docs/console.md).

`open_console(vm, kind, actor=...)` checks tenancy (the owner, its reseller, staff: anyone
else gets Http404), the kind and the VM's state, and issues a ticket: a random string valid
for VMM_CONSOLE_TICKET_SECONDS, bound to the user, the VM and the kind, good for one
websocket. Only its SHA-256 is stored, in a ConsoleSession row that becomes the session's
audit record once the websocket redeems it (`redeem`) and is closed (`close_session`).

The websocket consumer (apps/live/console.py) calls `redeem`, `still_allowed` and
`close_session`; it reaches the console itself through the console bridge
(apps/vms/console_bridge.py), never libvirt."""

import hashlib
import hmac
import secrets
from base64 import b32encode
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.tenancy import acts_for
from apps.vms.models import ConsoleKind, ConsoleSession, VirtualMachine, VmStatus

BRIDGE_SALT = "vmm.console.bridge"
# What the page may press at once (docs/console.md): a name both doors and the bridge know.
KEY_COMBOS = {
    "ctrl-alt-del": ("KEY_LEFTCTRL", "KEY_LEFTALT", "KEY_DELETE"),
    "ctrl-alt-backspace": ("KEY_LEFTCTRL", "KEY_LEFTALT", "KEY_BACKSPACE"),
    **{f"ctrl-alt-f{n}": ("KEY_LEFTCTRL", "KEY_LEFTALT", f"KEY_F{n}") for n in range(1, 8)},
}


def ticket_seconds():
    return getattr(settings, "VMM_CONSOLE_TICKET_SECONDS", 30)


def _hash(ticket):
    return hashlib.sha256(ticket.encode()).hexdigest()


def vnc_password(vm):
    """The VM's VNC password (8 characters, libvirt's limit), derived from SECRET_KEY and its
    UUID: nothing to store, and knowing the port is not enough to connect."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"vnc:{vm.uuid}".encode(), hashlib.sha256).digest()
    return b32encode(digest).decode()[:8].lower()


def open_console(vm, kind, *, actor, address=None, bearer=False):
    """A ticket for `actor` to open `vm`'s console of `kind` ("serial" or "vnc"):
    (ConsoleSession, ticket). Raises Http404 (not the actor's VM), ValidationError
    (`kind`; `vm` not active). A `bearer` ticket (the API's: its clients have no session
    cookie) opens the socket by itself; any other needs the actor's signed-in session."""
    if actor is None or not actor.is_authenticated or not acts_for(actor, vm.owner):
        raise Http404("No such VM.")
    if actor.is_blocked:
        raise PermissionDenied
    if kind not in ConsoleKind.values:
        raise ValidationError({"kind": _("One of: %(values)s.") % {"values": ", ".join(ConsoleKind.values)}})
    if vm.status != VmStatus.ACTIVE:
        raise ValidationError({"vm": _("Only an active VM has a console.")})
    ticket = secrets.token_urlsafe(24)
    session = ConsoleSession.objects.create(
        vm=vm,
        vm_name=vm.name,
        user=actor,
        username=actor.username,
        kind=kind,
        ticket_hash=_hash(ticket),
        bearer=bearer,
        address=address,
        expires_at=timezone.now() + timedelta(seconds=ticket_seconds()),
    )
    return session, ticket


def _allowed(user, vm):
    return (user is not None and not user.is_blocked and vm is not None and vm.status == VmStatus.ACTIVE) and acts_for(
        user, vm.owner
    )


def redeem(ticket, *, vm_id, kind, user_id, socket_address=None):
    """The ConsoleSession a websocket may open with `ticket`, marked used; None when the ticket
    is unknown, expired, already used, issued to another user, VM or kind, or when the user may
    no longer open it (blocked, the VM no longer theirs or no longer active). `user_id` is the
    socket's signed-in user; None (no session) is accepted only with a bearer ticket."""
    if not ticket or not isinstance(ticket, str):
        return None
    now = timezone.now()
    holder = Q(user_id=user_id) if user_id is not None else Q(bearer=True)
    with transaction.atomic():
        used = ConsoleSession.objects.filter(
            holder,
            ticket_hash=_hash(ticket),
            vm_id=vm_id,
            kind=kind,
            opened_at__isnull=True,
            expires_at__gt=now,
        ).update(opened_at=now, socket_address=socket_address)
        if used != 1:
            return None
        session = ConsoleSession.objects.select_related("vm__owner", "user").get(ticket_hash=_hash(ticket))
        if not _allowed(session.user, session.vm):
            session.closed_at, session.close_reason = now, "refused: no longer allowed"
            session.save(update_fields=["closed_at", "close_reason"])
            return None
    return session


def still_allowed(session_id):
    """None while the session may go on, else the reason it must end ("blocked", "deleted", "gone")."""
    session = ConsoleSession.objects.filter(pk=session_id).values("user_id", "vm_id").first()
    user = User.objects.select_related("reseller").filter(pk=session and session["user_id"]).first()
    if user is None or user.is_blocked:
        return "blocked"
    vm = VirtualMachine.objects.select_related("owner").filter(pk=session["vm_id"]).first()
    if vm is None or vm.status == VmStatus.DELETING:
        return "deleted"
    if not _allowed(user, vm):
        return "gone"
    return None


def taken_over(session_id):
    """Whether a newer serial session of the same VM was opened since (libvirt gives a serial
    console to one client: the newest takes it over, and the older one must not take it back)."""
    session = ConsoleSession.objects.filter(pk=session_id).first()
    if session is None or session.kind != "serial" or session.opened_at is None:
        return False
    return (
        ConsoleSession.objects.filter(vm_id=session.vm_id, kind=session.kind, opened_at__gt=session.opened_at)
        .exclude(pk=session.pk)
        .exists()
    )


def close_session(session_id, reason):
    """Record the end of a session (once: the first reason stays)."""
    ConsoleSession.objects.filter(pk=session_id, closed_at__isnull=True).update(
        closed_at=timezone.now(), close_reason=reason[:255]
    )


def socket_path(session, ticket):
    """The websocket's path below the site's script prefix, with the ticket."""
    return f"ws/console/{session.vm_id}/{session.kind}/?ticket={ticket}"


def bridge_address():
    """(host, port) of the console bridge (VMM_CONSOLE_BRIDGE)."""
    host, _, port = settings.VMM_CONSOLE_BRIDGE.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def bridge_token(session, **extra):
    """What the consumer shows the console bridge: signed with SECRET_KEY, valid for a minute."""
    return signing.dumps({"session": session.pk, "vm": session.vm_id, "kind": session.kind, **extra}, salt=BRIDGE_SALT)


def read_bridge_token(token):
    """The bridge's side of `bridge_token`: its dict, or None when forged or stale."""
    try:
        return signing.loads(token, salt=BRIDGE_SALT, max_age=60)
    except signing.BadSignature:
        return None
