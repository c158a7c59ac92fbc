"""Bench: webhook events fanned out to endpoints on 127.0.0.1, end to end through the panel's
own code: each event written by apps.webhooks.events (one Event, a Delivery per subscribed
endpoint), each delivery sent by the task the django-q2 workers run
(apps.webhooks.delivery.deliver: claim, sign, resolve and check the address, POST, record),
to 50 threaded HTTP receivers that check every signature.

    .venv/bin/python bench/webhooks.py [--events 10000] [--endpoints 50] [--fanout 1] [--workers 8]

`--fanout K`: each event reaches K endpoints (endpoints belong to resellers; an event about
a customer goes to its reseller's endpoints), so deliveries = events x K. The workers are
threads running the task function (as a django-q2 cluster's workers would, without the
broker hop). Uses its own database (`<DATABASE_URL's name>_whbench`), dropped at the end.
The last line is

    webhook_p95_s=<s> lost=<n>

p95 of the seconds from emitting an event to its receipt at an endpoint, and the deliveries
that never arrived (after retries) or arrived with a bad signature."""

import argparse
import hashlib
import hmac
import json
import os
import queue
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import BenchDatabase  # noqa: E402

BENCH_DB = BenchDatabase("_whbench")
os.environ.update(
    DATABASE_URL=BENCH_DB.url,
    DJANGO_SETTINGS_MODULE="vmmanager.settings",
    VMM_DATA_DIR=tempfile.mkdtemp(prefix="vmm-bench-"),
    VMM_WEBHOOK_ALLOWED_NETWORKS="127.0.0.1/32",
    VMM_WEBHOOK_BACKOFF="1",
    LOG_LEVEL="WARNING",
    DEBUG="false",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


class Receivers:
    """`count` HTTP servers on 127.0.0.1 recording (event id, endpoint index) -> receipt time."""

    def __init__(self, count):
        self.secrets = {}
        self.arrived = {}
        self.bad = 0
        self.lock = threading.Lock()
        self.servers = [self._server(index) for index in range(count)]

    def _server(self, index):
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.time()
                parts = dict(item.split("=", 1) for item in self.headers["VMM-Signature"].split(","))
                mac = hmac.new(
                    receivers.secrets[index].encode(), parts["t"].encode() + b"." + body, hashlib.sha256
                ).hexdigest()
                payload = json.loads(body)
                with receivers.lock:
                    if hmac.compare_digest(mac, parts["v1"]):
                        receivers.arrived.setdefault((payload["id"], index), now)
                    else:
                        receivers.bad += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def url(self, index):
        return f"http://127.0.0.1:{self.servers[index].server_port}/hook"


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--fanout", type=int, default=1)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    if args.endpoints % args.fanout:
        parser.error("--endpoints must be a multiple of --fanout")
    BENCH_DB.create()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        from apps.accounts.models import Role, User
        from apps.webhooks import delivery, events
        from apps.webhooks.models import Delivery, DeliveryStatus, Endpoint

        receivers = Receivers(args.endpoints)
        groups = args.endpoints // args.fanout  # one reseller per group of `fanout` endpoints
        customers = []
        for group in range(groups):
            reseller = User.objects.create_user(f"bench-reseller-{group}", role=Role.RESELLER)
            customers.append(User.objects.create_user(f"bench-customer-{group}", reseller=reseller))
            for index in range(group * args.fanout, (group + 1) * args.fanout):
                endpoint = Endpoint.objects.create(owner=reseller, url=receivers.url(index), events=["job.succeeded"])
                receivers.secrets[index] = endpoint.secret
        index_of = {e.pk: i for i, e in enumerate(Endpoint.objects.order_by("pk"))}

        work = queue.Queue()
        delivery.queue = lambda d: work.put(d.pk)  # what async_task hands the cluster's workers
        events.queue = delivery.queue

        def worker():
            while (pk := work.get()) is not None:
                delivery.deliver(pk)
            connection.close()

        threads = [threading.Thread(target=worker) for _ in range(args.workers)]
        for thread in threads:
            thread.start()
        emitted = {}
        began = time.perf_counter()
        for n in range(args.events):
            owner = customers[n % groups]
            emitted_at = time.time()
            event = events._write("job.succeeded", owner, {"job": {"n": n}}, f"bench:{n}", None)
            for d in event.deliveries.values_list("endpoint_id", flat=True):
                emitted[(str(event.id), index_of[d])] = emitted_at
        deadline = time.time() + 600
        while len(receivers.arrived) < len(emitted) and time.time() < deadline:
            time.sleep(0.5)
            if work.empty():
                delivery.deliver_due()
        elapsed = time.perf_counter() - began
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join()
        latencies = [receivers.arrived[key] - at for key, at in emitted.items() if key in receivers.arrived]
        lost = len(emitted) - len(latencies) + receivers.bad
        retried = Delivery.objects.filter(attempts__gt=1).count()
        delivered = Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count()
        print(
            f"events={args.events} endpoints={args.endpoints} fanout={args.fanout} deliveries={len(emitted)} "
            f"workers={args.workers} delivered={delivered} retried={retried} seconds={elapsed:.1f} "
            f"rate_per_s={len(latencies) / elapsed:.0f} p50_s={percentile(latencies, 50):.3f}"
        )
        print(f"webhook_p95_s={percentile(latencies, 95):.3f} lost={lost}")
    finally:
        BENCH_DB.drop()


if __name__ == "__main__":
    main()
