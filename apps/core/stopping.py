"""Stopping a long-running command (watcher, collector) on SIGTERM or Ctrl-C.

A signal handler runs in the main thread between two bytecodes, possibly while that thread
holds the lock the stop needs: `threading.Event.wait()` holds the event's lock for a moment
before it sleeps, and an `Event.set()` called from the handler right then waits for that lock
forever (a standby watcher once hung so after its SIGTERM). So the handler only starts a
thread, which makes the call once the main thread lets go of the lock."""

import signal
import threading


def stop_on_signals(stop, signums=(signal.SIGTERM, signal.SIGINT)):
    """Call `stop()` from a fresh thread whenever one of `signums` arrives."""

    def handler(signum, _frame):
        threading.Thread(target=stop, name=f"stop-on-signal-{signum}", daemon=True).start()

    for signum in signums:
        signal.signal(signum, handler)
