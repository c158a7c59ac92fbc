"""The console bridge's way of writing a serial console's bytes (apps/vms/console_pipe.py):
from libvirt's event-loop thread straight to the consumer's socket, in order, never blocking
that thread when the consumer does not read, and what waited sent once it reads again."""

import asyncio
import socket
import threading
import time

import pytest
import pytest_asyncio

from apps.vms.console_pipe import SocketOut, detach

pytestmark = pytest.mark.asyncio


async def read_until(sock, size, seconds=5):
    loop = asyncio.get_running_loop()
    data = bytearray()
    deadline = loop.time() + seconds
    while len(data) < size:
        assert loop.time() < deadline, f"{len(data)} of {size} bytes"
        data += await asyncio.wait_for(loop.sock_recv(sock, 65536), seconds)
    return bytes(data)


@pytest_asyncio.fixture
async def pipe():
    """(a SocketOut not started yet, the bridge's end, the consumer's end) of a connection."""
    ours, consumer = socket.socketpair()
    ours.setblocking(False)
    consumer.setblocking(False)
    out = SocketOut(asyncio.get_running_loop())
    yield out, ours, consumer
    out.close()
    ours.close()
    consumer.close()


async def test_what_the_console_says_before_the_answer_follows_it_in_order(pipe):
    out, ours, consumer = pipe
    out.write(b"login: ")  # the console speaks before the bridge has answered
    out.start(ours, b'{"ok": true}\n')
    out.write(b"a")
    assert await read_until(consumer, 21) == b'{"ok": true}\nlogin: a'


async def test_a_consumer_that_does_not_read_never_blocks_the_writing_thread(pipe):
    out, ours, consumer = pipe
    out.start(ours)
    chunks = [bytes([i % 251]) * 65536 for i in range(64)]  # 4 MiB: far more than the socket holds
    took = []

    def libvirt_thread():
        started = time.monotonic()
        for chunk in chunks:
            out.write(chunk)
        took.append(time.monotonic() - started)

    thread = threading.Thread(target=libvirt_thread)
    thread.start()
    await asyncio.to_thread(thread.join, 10)
    assert took and took[0] < 2, "the writing thread waited for the consumer"
    assert out.pending() > 0  # the rest waits for the consumer
    assert await read_until(consumer, len(chunks) * 65536, seconds=20) == b"".join(chunks)
    assert out.pending() == 0


async def test_writing_after_the_consumer_left_is_harmless(pipe):
    out, ours, consumer = pipe
    out.start(ours)
    consumer.close()
    out.write(b"x")
    out.write(b"y")
    assert out.closed


async def test_a_detached_stream_socket_stays_connected_and_is_the_callers():
    received = asyncio.get_running_loop().create_future()

    async def handle(reader, writer):
        await reader.readline()
        sock = detach(writer)
        out = SocketOut(asyncio.get_running_loop())
        out.start(sock, b"ok\n")
        received.set_result(await asyncio.get_running_loop().sock_recv(sock, 100))
        out.close()
        sock.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    writer.write(b"token\n")
    assert await asyncio.wait_for(reader.readline(), 5) == b"ok\n"
    writer.write(b"keys")
    assert await asyncio.wait_for(received, 5) == b"keys"
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the bridge's side
    writer.close()
    server.close()
