from django.urls import path, re_path

from apps.live.console import ConsoleConsumer
from apps.live.consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/", LiveConsumer.as_asgi()),
    re_path(r"^ws/console/(?P<vm_id>[0-9]+)/(?P<kind>serial|vnc)/$", ConsoleConsumer.as_asgi()),
]
