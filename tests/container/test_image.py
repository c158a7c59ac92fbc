"""The container image for real: web (migrates on start, serves static files, answers its
HEALTHCHECK) and worker (runs jobs) against the local PostgreSQL and Redis; a user signs
in over HTTP and lists VMs through the API; a worker container removed mid-job has its job
settled by the next worker from its silent heartbeat."""

import re
import time

import pytest
import requests

from tests.container.conftest import login, podman, start, stop, wait_for

pytestmark = [pytest.mark.container, pytest.mark.slow]


def test_the_web_role_migrates_serves_and_reports_healthy(web):
    assert podman("inspect", "-f", "{{.State.Health.Status}}", web.name).stdout.strip() == "healthy"
    # Not root inside (qemu+ssh works as any user; the panel needs no local hypervisor).
    assert podman("exec", web.name, "id", "-u").stdout.strip() == "10001"
    # Migrations were applied by the web role on start.
    assert web.manage("migrate", "--check").returncode == 0
    # Static files come from the image, served by whitenoise.
    css = requests.get(f"{web.url}/static/ui/app.css", timeout=30)
    assert css.status_code == 200 and "--mono" in css.text


def test_an_admin_signs_in_over_http_and_lists_vms_through_the_api(web):
    session = login(web)

    vms = session.get(f"{web.url}/api/v1/vms/", timeout=30)
    assert vms.status_code == 200, vms.text[:2000]
    assert vms.json()["results"] == []

    # A token made with the session works on its own too.
    made = session.post(
        f"{web.url}/api/v1/tokens/",
        json={"name": "container-test"},
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": web.url},
        timeout=30,
    )
    assert made.status_code == 201, made.text[:2000]
    listed = requests.get(
        f"{web.url}/api/v1/vms/", headers={"Authorization": f"Bearer {made.json()['token']}"}, timeout=30
    )
    assert listed.status_code == 200 and listed.json()["results"] == []


def test_the_worker_role_runs_the_jobs_the_web_role_queues(image, web, panel_env, volume):
    worker = start(image, "worker", panel_env, volume)
    try:
        session = login(web)
        headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": web.url}
        # libvirt's test driver is built into the client library: a host that needs nothing.
        body = {
            "name": "sim-ctr",
            "uri": "test:///default",
            "domain_type": "qemu",
            "storage_pool": "default-pool",
            "storage_path": "/default-pool",
        }
        added = session.post(f"{web.url}/api/v1/hosts/", json=body, headers=headers, timeout=30)
        assert added.status_code == 201, added.text[:2000]
        job_url = f"{web.url}/api/v1/jobs/{added.json()['job']['id']}/"

        def finished():
            if worker.state() != "running":
                raise AssertionError(f"the worker stopped:\n{worker.logs()}")
            job = session.get(job_url, timeout=30).json()
            return job if job["status"] in ("succeeded", "failed") else None

        started = time.monotonic()
        job = wait_for(finished, 120, "the host check job run by the worker", interval=1)
        print(f"job done {time.monotonic() - started:.1f} s after it was queued")
        assert job["status"] == "succeeded", job
        host = session.get(f"{web.url}/api/v1/hosts/{added.json()['host']['id']}/", timeout=30).json()
        assert host["status"] == "online" and host["cpus"] > 0
    finally:
        code = stop(worker)
    # The worker stops on SIGTERM within the grace period (not killed: 137).
    assert code in ("0", "143"), code

    # A worker container removed mid-job (its machine's view gone with it: another PID
    # namespace, so only its heartbeat can tell) has its job settled once the heartbeat is
    # silent for VMM_WORKER_SILENT_SECONDS, by the next worker's reconciliation, not after the
    # job time limit. The long job is an admin's override of the host check (in the volume).
    override = "/data/operations/host_refresh.py"
    slow = "import time\nSTEPS = ['Check slowly']\ndef run(ctx, host, **params):\n"
    slow += "    with ctx.step('Check slowly'):\n        time.sleep(600)\n"
    podman("exec", "-i", web.name, "sh", "-c", f"mkdir -p /data/operations && cat > {override}", input=slow)
    doomed = start(image, "worker", panel_env, volume)
    try:
        refresh = session.post(f"{web.url}/api/v1/hosts/{host['id']}/refresh/", headers=headers, timeout=30)
        assert refresh.status_code == 202, refresh.text[:2000]
        job_url = f"{web.url}/api/v1/jobs/{refresh.json()['job']['id']}/"

        def check_running():
            job = session.get(job_url, timeout=30).json()
            return job if job["steps"] and job["steps"][0]["status"] == "running" else None

        wait_for(check_running, 120, "the slow host check running in the worker", interval=1)
        podman("rm", "-f", "-t", "0", doomed.name, timeout=60)
        removed = time.monotonic()
        time.sleep(int(panel_env["VMM_WORKER_SILENT_SECONDS"]) + 1)
        heir = start(image, "worker", panel_env, volume)  # reconciles when it starts
        try:
            settled = wait_for(lambda: (j := session.get(job_url, timeout=30).json())["status"] != "running" and j,
                               120, "the dead worker's job settled")  # fmt: skip
        finally:
            stop(heir)
        took = time.monotonic() - removed
        print(f"the removed worker's job settled {took:.1f} s after the removal")
        assert took < 120
        assert settled["status"] == "failed", settled
        assert "The worker running this job stopped unexpectedly during “Check slowly”" in settled["error"], settled
        # Settled by its heartbeat (the doomed container's process ids mean nothing here).
        by_heartbeat = r"\(its worker \S+~\d+~\S+:\d+ has not been heard from for \d+ s\)"
        assert re.search(by_heartbeat, settled["error"]), settled["error"]
    finally:
        podman("rm", "-f", "-t", "0", doomed.name, check=False, timeout=60)
        podman("exec", web.name, "rm", "-f", override, check=False)
