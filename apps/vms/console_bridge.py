"""The console bridge (`manage.py console_bridge`): the process that owns every console
stream, so that no websocket consumer calls libvirt (docs/console.md says why).

It listens on VMM_CONSOLE_BRIDGE (host:port, loopback by default). A client (the websocket
consumer) connects and sends one line: a token signed with SECRET_KEY
(apps.vms.consoles.bridge_token, valid for a minute) naming the console session, the VM
and what it wants. The bridge answers one JSON line, `{"ok": true}` or
`{"ok": false, "error": "..."}`, and then:
- kind "serial": raw bytes both ways between the socket and the VM's serial console
  (libvirt's console stream, opened through the driver with FORCE: a newer session takes
  the console over from an older one);
- kind "vnc": raw bytes both ways between the socket and the VM's VNC server (its address
  and port read from the running domain's live XML at that moment, so a restart on a new
  port is never missed; reached directly or through SSH: apps.vms.console_route);
- kind "keys": presses the token's key combination once (driver.send_keys), answers, closes.
When the console ends (the VM stopped, was deleted, the stream failed) the bridge closes
the socket: the consumer tells the page why, from the database.
"""

import asyncio
import contextlib
import json
import logging

from asgiref.sync import sync_to_async

from apps.hosts.hypervisor import hypervisor_for
from apps.virt.errors import VirtError
from apps.vms.console_pipe import SocketOut, detach
from apps.vms.console_route import VncConnectFailed, VncUnreachable, open_vnc
from apps.vms.consoles import KEY_COMBOS, bridge_address, read_bridge_token
from apps.vms.models import VirtualMachine, VmStatus

logger = logging.getLogger("vmmanager.console")
CHUNK = 65536


@sync_to_async(thread_sensitive=False)
def _vm(vm_id):
    return VirtualMachine.objects.select_related("host").filter(pk=vm_id, status=VmStatus.ACTIVE).first()


async def _answer(writer, **message):
    writer.write(json.dumps(message).encode() + b"\n")
    await writer.drain()


async def _socket_to(reader, send):
    """Call `send(bytes)` with what the socket reads, until it closes."""
    while data := await reader.read(CHUNK):
        await send(data)


def _writes_to(writer):
    async def send(data):
        writer.write(data)
        await writer.drain()

    return send


async def _serial(vm, reader, writer):
    """The console's bytes go from libvirt's event-loop thread straight to the socket
    (apps/vms/console_pipe.py), the socket's to the console from this loop."""
    loop = asyncio.get_running_loop()
    ended = loop.create_future()
    out = SocketOut(loop)

    def end(_reason):
        if not ended.done():
            ended.set_result(None)

    console = await asyncio.to_thread(
        hypervisor_for(vm.host).open_console,
        vm.domain_name,
        out.write,
        lambda reason: loop.call_soon_threadsafe(end, reason),
    )
    sock = detach(writer)  # the consumer sends nothing before the answer
    try:
        out.start(sock, json.dumps({"ok": True}).encode() + b"\n")

        async def to_console():
            while data := await loop.sock_recv(sock, CHUNK):
                console.send(data)  # a non-blocking stream: returns at once unless the guest is flooded

        await _first_done(ended, to_console())
    finally:
        console.close()
        out.close()
        sock.close()


async def _vnc(vm, reader, writer):
    display = await asyncio.to_thread(hypervisor_for(vm.host).vnc_display, vm.domain_name)
    if display is None:
        await _answer(writer, ok=False, error="no_display")
        return
    try:
        vnc_reader, vnc_writer, greeting = await open_vnc(vm.host.uri, *display)
    except (VncUnreachable, VncConnectFailed) as exc:
        logger.warning("console bridge: VM %s: %s", vm.pk, exc)
        error = "vnc_unreachable" if isinstance(exc, VncUnreachable) else "unavailable"
        await _answer(writer, ok=False, error=error, detail=str(exc))
        return
    await _answer(writer, ok=True)
    writer.write(greeting)
    try:
        await _first_done(_socket_to(vnc_reader, _writes_to(writer)), _socket_to(reader, _writes_to(vnc_writer)))
    finally:
        vnc_writer.close()


async def _first_done(*coroutines):
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def handle(reader, writer):
    try:
        line = await asyncio.wait_for(reader.readline(), 10)
        token = read_bridge_token(line.decode("ascii", "replace").strip())
        if token is None:
            await _answer(writer, ok=False, error="bad_token")
            return
        vm = await _vm(token.get("vm"))
        if vm is None or vm.host is None:
            await _answer(writer, ok=False, error="no_vm")
            return
        kind = token.get("kind")
        if kind == "serial":
            await _serial(vm, reader, writer)
        elif kind == "vnc":
            await _vnc(vm, reader, writer)
        elif kind == "keys" and token.get("keys") in KEY_COMBOS:
            await asyncio.to_thread(hypervisor_for(vm.host).send_keys, vm.domain_name, KEY_COMBOS[token["keys"]])
            await _answer(writer, ok=True)
        else:
            await _answer(writer, ok=False, error="bad_request")
    except VirtError as exc:
        logger.info("console bridge: %s", exc)
        with contextlib.suppress(Exception):
            await _answer(writer, ok=False, error="unavailable", detail=str(exc))
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
        logger.info("console bridge: connection ended: %s", exc)
    except Exception:
        logger.exception("console bridge: session failed")
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def serve(ready=None):
    """Run the bridge until cancelled; `ready(address)` is called once it listens."""
    host, port = bridge_address()
    server = await asyncio.start_server(handle, host, port, limit=CHUNK)
    if ready is not None:
        ready(server.sockets[0].getsockname())
    async with server:
        await server.serve_forever()
