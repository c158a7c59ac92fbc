"""A domain's serial console as a byte stream, its VNC display, and keys sent to it.

Contract:
- ``Hypervisor.open_console(name, on_data, on_close)`` opens the domain's first serial
  console (libvirt ``virDomainOpenConsole`` on a non-blocking ``virStream``, with FORCE:
  a second opener takes the console over and the first one is closed) and returns a
  ``ConsoleStream``. ``on_data(bytes)`` and ``on_close(reason)`` run in libvirt's
  event-loop thread: they must be short and must not call libvirt (hand the bytes to
  another thread or loop). ``on_close`` is called once: EOF (the domain stopped), an
  error, or a takeover. Raises ``NotFound``, ``InvalidState`` (not running),
  ``Unreachable``, ``OperationFailed``.
- ``ConsoleStream.send(data)`` writes to the console (waits out a full stream, at most
  a few seconds); ``close()`` ends it (idempotent).
- ``Hypervisor.vnc_display(name)`` -> ``(listen address, port)`` of a running domain's
  VNC server, read from its live XML; ``None`` if it has none.
- ``Hypervisor.send_keys(name, keys)`` presses keys together (Linux key names such as
  ``("KEY_LEFTCTRL", "KEY_LEFTALT", "KEY_DELETE")``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import libvirt

from ._base import Base
from .domain_xml import parse_vnc_display
from .errors import InvalidState

log = logging.getLogger("vmmanager.virt")

_EVENTS = libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP
_WOULD_BLOCK = -2
# libvirt's Linux keycodes for the names the panel offers (linux/input-event-codes.h).
KEYCODES = {
    "KEY_ESC": 1, "KEY_BACKSPACE": 14, "KEY_TAB": 15, "KEY_ENTER": 28, "KEY_LEFTCTRL": 29,
    "KEY_LEFTSHIFT": 42, "KEY_LEFTALT": 56, "KEY_SPACE": 57,
    "KEY_F1": 59, "KEY_F2": 60, "KEY_F3": 61, "KEY_F4": 62, "KEY_F5": 63, "KEY_F6": 64,
    "KEY_F7": 65, "KEY_F8": 66, "KEY_F9": 67, "KEY_F10": 68, "KEY_F11": 87, "KEY_F12": 88,
    "KEY_SYSRQ": 99, "KEY_DELETE": 111, "KEY_BACKSLASH": 43,
}  # fmt: skip


class ConsoleStream:
    """An open serial console (see the module's contract)."""

    def __init__(self, stream: libvirt.virStream, on_data: Callable[[bytes], None], on_close: Callable[[str], None]):
        self._stream = stream
        self._on_data = on_data
        self._on_close = on_close
        self._lock = threading.Lock()
        self.closed = False

    def _event(self, stream: libvirt.virStream, events: int, _opaque: object) -> None:
        try:
            if events & libvirt.VIR_STREAM_EVENT_READABLE:
                while True:
                    data = stream.recv(65536)
                    if data == _WOULD_BLOCK:
                        break
                    if not data:
                        self._end("the console ended (the VM stopped)")
                        return
                    self._on_data(data)
            if events & (libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP):
                self._end("the console was closed by the host")
        except libvirt.libvirtError as e:
            self._end(e.get_error_message() or "console stream error")
        except Exception:  # noqa: BLE001 - an exception must not reach libvirt's C code
            log.exception("console stream callback failed")
            self._end("console stream error")

    def send(self, data: bytes) -> None:
        """Write ``data``; raises ``InvalidState`` once the console is closed."""
        deadline = time.monotonic() + 5
        view = memoryview(data)
        while view:
            if self.closed:
                raise InvalidState("the console is closed")
            try:
                sent = self._stream.send(bytes(view))
            except libvirt.libvirtError as e:
                self._end(e.get_error_message() or "console stream error")
                raise InvalidState("the console is closed") from e
            if sent == _WOULD_BLOCK or sent == 0:
                if time.monotonic() > deadline:
                    raise InvalidState("the console does not take input")
                time.sleep(0.005)
                continue
            view = view[sent:]

    def _end(self, reason: str) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
        for call in (self._stream.eventRemoveCallback, self._stream.abort):
            try:
                call()
            except libvirt.libvirtError:
                pass
        try:
            self._on_close(reason)
        except Exception:  # noqa: BLE001
            log.exception("console close callback failed")

    def close(self) -> None:
        self._end("closed")


class ConsoleOps(Base):
    def open_console(
        self, name: str, on_data: Callable[[bytes], None], on_close: Callable[[str], None]
    ) -> ConsoleStream:
        with self._op("open_console", name) as conn:
            dom = self._domain(conn, name)
            if not dom.isActive():
                raise InvalidState(f"domain '{name}' is not running")
            stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
            dom.openConsole(None, stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
            console = ConsoleStream(stream, on_data, on_close)
            stream.eventAddCallback(_EVENTS, console._event, None)
        return console

    def vnc_display(self, name: str) -> tuple[str, int] | None:
        with self._op("vnc_display", name) as conn:
            return parse_vnc_display(self._domain(conn, name).XMLDesc(0))

    def send_keys(self, name: str, keys: tuple[str, ...]) -> None:
        unknown = [key for key in keys if key not in KEYCODES]
        if unknown or not keys:
            raise ValueError(f"unknown keys: {', '.join(unknown) or '(none)'}")
        with self._op("send_keys", name, keys) as conn:
            dom = self._domain(conn, name)
            if not dom.isActive():
                raise InvalidState(f"domain '{name}' is not running")
            dom.sendKey(libvirt.VIR_KEYCODE_SET_LINUX, 100, [KEYCODES[key] for key in keys], len(keys), 0)
