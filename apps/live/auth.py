"""Who is on the other end of a websocket: the Django session cookie, read in one database
round in the thread pool. (channels' AuthMiddlewareStack takes two rounds serialized on a
single thread and wraps every outgoing message to save the session, which a live-updates
socket never changes: a crowd of pages opening at once then timed out in the handshake.)"""

from importlib import import_module
from types import SimpleNamespace

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie

from apps.accounts.services.two_factor import must_enrol


def user_for_session(session_key):
    """The session's signed-in user if not blocked, else AnonymousUser. The same checks as
    an HTTP request: the authentication backend, and the session hash (a password change
    signs other sessions out)."""
    if not session_key:
        return AnonymousUser()
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(SimpleNamespace(session=session))
    if not user.is_authenticated or user.is_blocked:
        return AnonymousUser()
    return user


def session_user(session_key):
    """(user_for_session, whether that user must set up two-factor sign-in before anything
    else): one thread hop and database round per handshake for both."""
    user = user_for_session(session_key)
    return user, bool(user.is_authenticated and must_enrol(user))


class SessionAuthMiddleware:
    """ASGI middleware: scope["user"] from the session cookie, scope["must_enrol"] whether
    that user may do nothing but set up two-factor sign-in."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        header = dict(scope.get("headers", ())).get(b"cookie", b"").decode("latin1")
        session_key = parse_cookie(header).get(settings.SESSION_COOKIE_NAME)
        user, enrol = await database_sync_to_async(session_user, thread_sensitive=False)(session_key)
        return await self.app({**scope, "user": user, "must_enrol": enrol}, receive, send)
