"""Losing a host, end to end: the libvirt event loop, keepalive and the close callback.

The real daemon must not be killed (others use it), so the driver talks to it
through a small Unix-socket proxy owned by the test: cutting the proxy's
sockets looks to libvirt like a dead daemon, freezing it like a hung one.
"""

import socket
import threading
import time

import pytest

from apps.virt import connection
from apps.virt.driver import Hypervisor
from apps.virt.errors import Unreachable

pytestmark = pytest.mark.libvirt

DAEMON_SOCKET = "/run/libvirt/libvirt-sock"


class UnixProxy:
    """Forwards every connection on ``path`` to libvirtd's socket until cut or frozen."""

    def __init__(self, path):
        self.frozen = threading.Event()
        self.sockets = []
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(DAEMON_SOCKET)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            while self.frozen.is_set():  # a hung host: nothing gets through
                time.sleep(0.05)
            try:
                dst.sendall(data)
            except OSError:
                return

    def cut(self):
        """Close every forwarded connection, like a daemon that died."""
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.sockets = []

    def close(self):
        self.frozen.clear()
        self.server.close()
        self.cut()


@pytest.fixture
def proxied(tmp_path, monkeypatch):
    # Keepalive every second, give up after one miss: ~2 s instead of ~20 s.
    monkeypatch.setattr(connection, "KEEPALIVE_INTERVAL", 1)
    monkeypatch.setattr(connection, "KEEPALIVE_COUNT", 1)
    # Only our listener: the panel's own (apps.hosts) would touch the database.
    monkeypatch.setattr(connection, "_listeners", [])
    path = tmp_path / "libvirt.sock"
    proxy = UnixProxy(path)
    events = []
    seen = threading.Event()

    def listener(uri, reason):
        events.append((uri, reason))
        seen.set()

    connection.add_close_listener(listener)
    try:
        yield proxy, f"qemu+unix:///system?socket={path}", events, seen
    finally:
        connection.close_all()  # before the proxy goes, so no late close events
        proxy.close()


def test_dead_daemon_is_noticed_at_once_and_next_call_reconnects(proxied):
    proxy, uri, events, seen = proxied
    hv = Hypervisor(uri)
    assert hv.host_info().uri == uri
    before = hv.conn

    proxy.cut()
    assert seen.wait(2), "close callback did not fire at once"
    assert events == [(uri, "connection closed by the host (libvirtd stopped or host went down)")]

    assert hv.host_info().uri == uri  # reconnected through the proxy
    assert hv.conn is not before


def test_hung_daemon_is_noticed_by_keepalive(proxied):
    proxy, uri, events, seen = proxied
    hv = Hypervisor(uri)
    hv.host_info()

    proxy.frozen.set()
    # The reason says the loss came from keepalive, not from a socket closing; how fast a
    # hung host is noticed with the product's settings is measured by bench/health.py.
    assert seen.wait(15), "keepalive never gave up"
    assert events == [(uri, "host stopped answering keepalive probes")]

    proxy.frozen.clear()
    assert hv.host_info().uri == uri


def test_call_in_flight_on_a_hung_host_fails_as_unreachable(proxied):
    proxy, uri, events, seen = proxied
    hv = Hypervisor(uri)
    hv.host_info()

    proxy.frozen.set()
    started = time.monotonic()
    with pytest.raises(Unreachable) as exc:
        hv.list_domains()  # blocks until keepalive gives up, instead of forever
    assert time.monotonic() - started < 10
    assert exc.value.kind == "unreachable"
    assert str(exc.value).startswith(f"host unreachable, lost connection to {uri}: ")

    proxy.frozen.clear()
    assert hv.host_info().uri == uri
