"""A serial console's bytes on the consumer's socket, for the console bridge
(apps/vms/console_bridge.py), without a thread hop per keystroke's echo.

libvirt calls a stream's data callback in its event-loop thread. Handing each chunk to the
bridge's asyncio loop first (call_soon_threadsafe) makes every echo wait until that loop's
thread is scheduled as well, which on a loaded machine is most of the console's added
latency. ``SocketOut.write`` sends the chunk from the calling thread straight to the socket
when the socket takes it at once (it nearly always does: the consumer reads continuously);
what it does not take waits, in order, and the loop sends it when the socket can take more.
So a slow reader never blocks libvirt's event loop, which every console of the process shares.

``detach(writer)`` takes the socket away from its asyncio transport for that: the socket
becomes the caller's (a duplicate of it; the transport is closed), read with
``loop.sock_recv`` and written with ``SocketOut``. Nothing must be buffered in the stream's
reader when it is detached (the consumer sends nothing before the bridge's answer).
"""

import asyncio
import os
import socket
import threading


def detach(writer: asyncio.StreamWriter) -> socket.socket:
    """The stream's socket as a non-blocking socket of the caller's; the transport is closed."""
    sock = socket.socket(fileno=os.dup(writer.get_extra_info("socket").fileno()))
    sock.setblocking(False)
    writer.transport.abort()  # closes its own descriptor only: the connection stays open
    return sock


class SocketOut:
    """Writes to a non-blocking socket from any thread, in order (see the module). Until
    ``start`` gives it the socket, what is written waits (a console speaks as soon as it is
    opened, before the bridge has answered the consumer)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._backlog = bytearray()
        self._watched = False
        self.closed = False

    def start(self, sock: socket.socket, first: bytes = b"") -> None:
        """Write to `sock` from now on: `first`, then what waited (in the loop's thread)."""
        with self._lock:
            self._sock = sock
            self._backlog[:0] = first
            self._send_backlog()

    def write(self, data: bytes) -> None:
        with self._lock:
            if self.closed:
                return
            if self._backlog or self._sock is None:
                self._backlog += data
                return
            try:
                sent = self._sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                self.closed = True  # the consumer went away: the reading side ends the session
                return
            if sent < len(data):
                self._backlog += data[sent:]
                self._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._lock:
            if not self.closed:
                self._send_backlog()

    def _send_backlog(self) -> None:
        """Send what the socket takes of the backlog; watch the socket while some is left
        (the loop's thread, the lock held)."""
        try:
            sent = self._sock.send(self._backlog) if self._backlog else 0
        except BlockingIOError:
            sent = 0
        except OSError:
            self.closed = True
            sent = len(self._backlog)
        del self._backlog[:sent]
        if self._backlog and not self._watched:
            self._loop.add_writer(self._sock, self._flush)
            self._watched = True
        elif not self._backlog and self._watched:
            self._loop.remove_writer(self._sock)
            self._watched = False

    def pending(self) -> int:
        """Bytes waiting for the socket."""
        with self._lock:
            return len(self._backlog)

    def close(self) -> None:
        """Stop writing (in the loop's thread); the caller closes the socket."""
        with self._lock:
            self.closed = True
            self._backlog.clear()
            if self._watched:
                self._loop.remove_writer(self._sock)
                self._watched = False
