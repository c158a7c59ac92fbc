import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vmmanager.settings")
# Django must be set up before anything imports models (consumers, routing).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from apps.live.auth import SessionAuthMiddleware  # noqa: E402
from apps.live.routing import websocket_urlpatterns  # noqa: E402


def under_prefix(app, prefix):
    """Under VMM_URL_PREFIX the proxy passes the full path (/panel/ws/...): it becomes the
    scope's root_path, which URLRouter strips before matching (Django's FORCE_SCRIPT_NAME does
    the same for HTTP). A path outside the prefix is routed as it is, like Django's."""
    if not prefix:
        return app

    async def prefixed(scope, receive, send):
        if scope["path"].startswith(prefix + "/"):
            scope = {**scope, "root_path": prefix}
        return await app(scope, receive, send)

    return prefixed


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Session cookie auth; handshakes from origins outside ALLOWED_HOSTS are refused.
        "websocket": AllowedHostsOriginValidator(
            SessionAuthMiddleware(under_prefix(URLRouter(websocket_urlpatterns), settings.VMM_URL_PREFIX))
        ),
    }
)
