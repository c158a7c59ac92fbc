"""A watcher or collector told to stop while its main thread holds the stop event's lock
(as Event.wait does for a moment before it sleeps) stops instead of hanging: the signal
handler must not take that lock itself (the standby watcher's SIGTERM hang)."""

import os
import signal
import threading
import time

from apps.core.stopping import stop_on_signals


def test_a_signal_arriving_while_the_stop_event_is_locked_still_stops():
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        stop_on_signals(stop.set, signums=(signal.SIGUSR1,))
        with stop._cond:  # noqa: SLF001 - the lock Event.wait holds for a moment
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(0.1)  # the handler runs in this thread meanwhile; calling set() here would hang
            assert not stop.is_set()
        assert stop.wait(5)
    finally:
        signal.signal(signal.SIGUSR1, previous)
