import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vmmanager.settings")
# Django must be set up before anything imports models (consumers, routing).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from apps.live.auth import SessionAuthMiddleware  # noqa: E402
from apps.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Session cookie auth; handshakes from origins outside ALLOWED_HOSTS are refused.
        "websocket": AllowedHostsOriginValidator(SessionAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
