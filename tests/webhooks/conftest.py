"""A real HTTP receiver on 127.0.0.1 (threaded http.server) that checks each webhook's
signature the way docs/webhooks.md tells receivers to, and can answer errors first."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

REPLAY_WINDOW = 300


def verify(secret, header, body, now=None):
    """The receiver's side: `t=…,v1=…` over "<t>.<raw body>", within the replay window."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    if abs((now or time.time()) - timestamp) > REPLAY_WINDOW:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    def __init__(self):
        self.secret = None
        self.answers = []  # status codes to answer first, then 200
        self.received = []  # (headers, payload, signature valid)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = receiver.secret is not None and verify(receiver.secret, self.headers["VMM-Signature"], body)
                with receiver.lock:
                    receiver.received.append((dict(self.headers), json.loads(body), valid))
                    code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code if valid else 400)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"try again")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def types(self):
        return [payload["type"] for _, payload, _ in self.received]


@pytest.fixture
def receiver(settings):
    settings.VMM_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.VMM_WEBHOOK_BACKOFF = 0.05
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
