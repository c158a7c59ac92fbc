#!/opt/venv/bin/python
"""The image's HEALTHCHECK: exit 0 when this container's role is doing its job.

web: GET /healthz answers 200 (the web server runs and the database answers). It sends
the first of ALLOWED_HOSTS as Host, since Django refuses any other name.
Other roles: the database answers (their own process is PID 1's child: if it dies, the
container stops, which the engine reports by itself).
"""

import json
import os
import subprocess
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
    code = "from django.db import connection; connection.ensure_connection()"
    subprocess.run([sys.executable, "/app/manage.py", "shell", "-c", code], check=True, timeout=9, capture_output=True)


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
