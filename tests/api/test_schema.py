"""The OpenAPI schema and its docs page, and Schemathesis against a live server: no 5xx,
every response (errors included) matches the schema. Bounded to a few examples per
operation so it stays well under a minute."""

import subprocess
import sys
from pathlib import Path

import pytest

from apps.accounts.plans import Plan
from tests.api.conftest import client_for, make_vm

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.django_db
def test_the_schema_and_the_swagger_ui_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/vms/{id}/start/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "/static/drf_spectacular_sidecar/" in docs


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    live_server, admin_user, customer, host, ready_image, tmp_path
):
    Plan.objects.create(name="small", vcpus=1, memory_mb=512, disk_gb=5)
    make_vm(customer, host)
    raw = client_for(admin_user).raw_token
    command = [
        str(SCHEMATHESIS), "run", f"{live_server.url}/api/schema/",
        "--header", f"Authorization: Bearer {raw}",
        "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--max-examples", "6", "--phases", "examples,fuzzing", "--seed", "1",
        "--generation-database", "none", "--request-timeout", "20", "--no-color",
        "--suppress-health-check", "all", "--exclude-operation-id", "tokens_destroy", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
