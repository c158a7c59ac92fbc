#!/opt/venv/bin/python
"""The image's HEALTHCHECK: exit 0 when this container's role is doing its job.

web: GET /healthz answers 200 (the web server runs and the database answers). It sends
the first of ALLOWED_HOSTS as Host, since Django refuses any other name.
Other roles: the database answers (asked directly, without starting Django). Their own
process is the container's main process: if it dies, the container stops, which the engine
reports by itself.
"""

import json
import os
import sys
import urllib.request


def host_header():
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    if not hosts or hosts[0] == "*":
        return "127.0.0.1"
    first = hosts[0]
    # ".example.com" allows every subdomain: any of them will do.
    return "health" + first if first.startswith(".") else first


def check_web():
    port = os.environ.get("VMM_PORT", "8000")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host_header()})
    with urllib.request.urlopen(request, timeout=8) as response:  # noqa: S310 - fixed local URL
        body = json.load(response)
    if response.status != 200 or body.get("status") != "ok":
        raise RuntimeError(f"healthz answered {response.status} {body}")


def check_database():
    # Straight to the database, without starting Django (this runs every 30 s in every
    # container: a Django start-up would cost a second of CPU each time).
    url = os.environ.get("DATABASE_URL", "").strip()
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    else:
        import sqlite3

        path = (
            url.split(":///", 1)[1]
            if url.startswith("sqlite:")
            else os.path.join(os.environ.get("VMM_DATA_DIR", "/data"), "db.sqlite3")
        )
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            conn.execute("SELECT 1")


def main():
    try:
        with open("/tmp/vmm-role") as handle:
            role = handle.read().strip()
    except FileNotFoundError:
        print("the entrypoint has not started yet")
        return 1
    try:
        check_web() if role == "web" else check_database()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy, with the reason
        print(f"{role}: unhealthy: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
