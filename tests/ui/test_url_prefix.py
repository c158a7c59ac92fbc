"""The panel under a path prefix (VMM_URL_PREFIX, docs/containers.md#behind-nginx-under-a-path-prefix):
pages link, redirect and point their live websocket under it, the websocket routing takes it
off, and a prefix that is not a plain path is a startup error. Through a real nginx:
tests/browser/test_prefix_proxy.py and tests/browser/test_real_vm_journey.py."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.urls import clear_script_prefix, path, set_script_prefix

from apps.vms.models import PowerState, VirtualMachine, VmStatus
from vmmanager.asgi import under_prefix

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def under_panel():
    # As the ASGI handler does for each request (the test client's handler does not).
    set_script_prefix("/panel/")
    with override_settings(FORCE_SCRIPT_NAME="/panel", STATIC_URL="/panel/static/"):
        yield
    clear_script_prefix()


def test_pages_link_redirect_and_open_their_websocket_under_the_prefix(client, customer, test_host, under_panel):
    vm = VirtualMachine.objects.create(
        name="pre-1", owner=customer, host=test_host, status=VmStatus.ACTIVE, power_state=PowerState.RUNNING
    )
    answer = client.get(f"/vms/{vm.pk}/")
    assert answer.status_code == 302 and answer["Location"] == f"/panel/login/?next=/panel/vms/{vm.pk}/"
    client.force_login(customer)
    page = client.get(f"/vms/{vm.pk}/").content.decode()
    assert 'data-live-path="/panel/ws/"' in page
    assert f'href="/panel/vms/{vm.pk}/console/"' in page
    assert "/panel/static/ui/live.js" in page
    assert 'href="/vms/' not in page and 'src="/static/' not in page


class Accept(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send(self.scope["path"])


@pytest.mark.asyncio
async def test_the_websocket_routing_takes_the_prefix_off():
    app = under_prefix(URLRouter([path("ws/", Accept.as_asgi())]), "/panel")
    communicator = WebsocketCommunicator(app, "/panel/ws/")
    connected, _ = await communicator.connect()
    assert connected and await communicator.receive_from() == "/panel/ws/"
    await communicator.disconnect()
    # Without a prefix setting nothing changes.
    communicator = WebsocketCommunicator(under_prefix(URLRouter([path("ws/", Accept.as_asgi())]), ""), "/ws/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()


def test_a_prefix_that_is_not_a_plain_path_is_a_startup_error(tmp_path):
    env = {**os.environ, "VMM_URL_PREFIX": "panel here", "VMM_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and "VMM_URL_PREFIX must look like /panel" in proc.stderr
