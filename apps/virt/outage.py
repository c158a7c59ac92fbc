"""Riding through a short loss of a host: the retry loop of driver calls and who hears of it.

Contract:
- ``ride_through(call, window=..., host=..., uri=...)`` runs ``call(retry)`` (``retry`` is
  False the first time, True on every later attempt). When it raises ``Unreachable`` of
  kind ``"unreachable"`` (the connection could not be opened, or was lost mid-call), it
  is called again after a pause (0.5 s, doubling up to 5 s) until it succeeds or
  ``window`` seconds have passed since the first loss; then ``Unreachable`` is raised with
  "host X unreachable for N s: <libvirt's reason>". A refused login or permission
  (``kind`` auth/permission) and every other error are raised at once. ``window`` 0 means
  no waiting at all (one attempt, as before).
- A call that succeeded after waiting tells the reporter "host X unreachable for N s,
  reconnected". The reporter is per context (``contextvars``): the job runner points it
  at the running step's notes with ``reporting_to``; threads that did not set one (the
  watcher, the statistics collector, web requests) report nowhere.
- ``reporting()`` says whether a reporter is set here; the panel uses it to give drivers
  a window only inside jobs (web pages and the watcher must tell the truth now, not hang).

No Django here; the clock and the pause are module functions so they stay plain.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from .errors import Unreachable

log = logging.getLogger("vmmanager.virt")

FIRST_PAUSE = 0.5
MAX_PAUSE = 5.0

T = TypeVar("T")
Reporter = Callable[[str], None]

_reporter: ContextVar[Reporter | None] = ContextVar("vmm_outage_reporter", default=None)


@contextmanager
def reporting_to(reporter: Reporter) -> Iterator[None]:
    """Send "unreachable for N s, reconnected" lines of driver calls in this context to ``reporter``."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


def reporting() -> bool:
    """True if a reporter is set in this context (the code runs inside a job)."""
    return _reporter.get() is not None


def report(text: str) -> None:
    """Tell the reporter, if any; a failing reporter never fails the driver call."""
    reporter = _reporter.get()
    log.warning("%s", text)
    if reporter is None:
        return
    try:
        reporter(text)
    except Exception:  # noqa: BLE001 - the call itself succeeded: its outcome stands
        log.exception("outage reporter failed")


def ride_through(call: Callable[[bool], T], *, window: float, host: str) -> T:
    """``call(retry)`` retried while its host is unreachable, for at most ``window`` seconds."""
    lost_at: float | None = None
    pause = FIRST_PAUSE
    while True:
        try:
            result = call(lost_at is not None)
        except Unreachable as e:
            if e.kind != "unreachable" or window <= 0:
                raise
            now = time.monotonic()
            if lost_at is None:
                lost_at = now
                log.warning("host %s unreachable, waiting up to %.0f s: %s", host, window, e.reason)
            left = lost_at + window - now
            if left <= 0:
                raise Unreachable(
                    f"host {host} unreachable for {now - lost_at:.0f} s: {e.reason}", uri=e.uri, code=e.code
                ) from e
            time.sleep(min(pause, left))
            pause = min(pause * 2, MAX_PAUSE)
            continue
        if lost_at is not None:
            report(f"host {host} unreachable for {time.monotonic() - lost_at:.0f} s, reconnected")
        return result
