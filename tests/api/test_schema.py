"""The OpenAPI schema and its docs page, and Schemathesis against a live panel: no 5xx,
every response (errors included) matches the schema, as staff (every operation) on
PostgreSQL and, with schema-valid input, on the embedded default (SQLite, as `make run`
starts it), and as a customer with writes on PostgreSQL (what differs between the databases,
integer ranges, unique names, locking, is in the staff run's writes too; the customer's run
is about what a tenant may do).

All three phases run (examples, coverage, fuzzing) with every check but the one that
judges whether each schema-valid input is accepted (`positive_data_acceptance`): a name
already taken or an SSH key that is not one are schema-valid and rightly refused. Every
schema-invalid input is refused (`negative_data_rejection`): the bodies and the query
parameters take exactly the types the schema states (docs/api.md). Bounded to a few examples
per operation, one worker each (several make Hypothesis's lambda parsing crash now and then,
in threads, under Python 3.11); the two databases are fuzzed at the same time."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.fuzz_world import seed
from tests.browser import processes

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_schema_and_the_swagger_ui_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/vms/{id}/start/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "/static/drf_spectacular_sidecar/" in docs


# The customer's run: its writes, on what it may change at all (staff-only paths are refused
# at the door, 403). Reads and their filters are the same code for every role: staff run them.
CUSTOMER_RUN = [
    "--include-method-regex",
    "^(POST|PUT|PATCH|DELETE)$",
    "--exclude-path-regex",
    r"^/api/v1/(hosts|audit)/",
]


def start_schemathesis(base_url, secret, report_dir, *, staff, positive_only=False):
    report_dir.mkdir()
    command = [
        str(SCHEMATHESIS), "run", f"{base_url}/api/schema/",
        "--header", f"Authorization: Bearer {secret}",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--phases", "examples,coverage,fuzzing", "--max-examples", "1", "--seed", "1", "--workers", "1",
        "--generation-database", "none", "--request-timeout", "20", "--no-color",
        "--suppress-health-check", "all", "--exclude-operation-id", "tokens_destroy", "--report-dir", str(report_dir),
    ]  # fmt: skip
    if not staff:
        command += CUSTOMER_RUN
    if positive_only:
        command += ["--mode", "positive"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=report_dir)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["customer", "staff"])
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch_on_sqlite_and_postgresql(
    embedded_panel, tmp_path, monkeypatch, role
):
    """Both databases at once for staff: the embedded panel (SQLite), and daphne in a process of
    its own on the PostgreSQL test database (jobs are queued for a worker that never comes, on
    a queue of this run's own), keeping its connections as deployed. The customer on
    PostgreSQL. SQLite gets the schema-valid input only: that is what reaches a database (the
    boundaries, 2**63-1 ids, unique names); schema-invalid input is refused by the same
    serializers and filters before any query, and PostgreSQL's run proves that (it was 60 % of
    the requests, 2,900 of them 400s)."""
    monkeypatch.setenv("DB_CONN_MAX_AGE", "60")
    secret = seed()[role]
    server, url = processes.start_server(tmp_path, processes.new_queue())
    embedded_url, embedded_secrets = embedded_panel
    staff = role == "staff"
    runs = {}
    try:
        runs["PostgreSQL"] = start_schemathesis(url, secret, tmp_path / "postgresql", staff=staff)
        if staff:
            runs["SQLite"] = start_schemathesis(
                embedded_url, embedded_secrets[role], tmp_path / "sqlite", staff=staff, positive_only=True
            )
        outputs = {name: run.communicate(timeout=400)[0] for name, run in runs.items()}
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
                run.wait()
        server.stop(timeout=5)
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}:\n{outputs[name][-8000:]}"


@pytest.fixture(scope="module")
def embedded_panel(tmp_path_factory):
    """(base URL, secrets by role) of a daphne server on the embedded default: SQLite, the
    ORM broker (no worker: orders stay queued), SQLite channel layer."""
    data_dir = tmp_path_factory.mktemp("embedded")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DJANGO_SETTINGS_MODULE="vmmanager.settings", VMM_DATA_DIR=str(data_dir))
    for database in ("default", "channels"):
        manage = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0", "--database", database]
        subprocess.run(manage, cwd=ROOT, env=env, check=True, timeout=300)
    make_world = "import django, json; django.setup(); from tests.api.fuzz_world import seed; print(json.dumps(seed()))"
    made = subprocess.run([sys.executable, "-c", make_world], cwd=ROOT, env=env, check=True, timeout=60, text=True,
                          capture_output=True)  # fmt: skip
    secrets = json.loads(made.stdout.strip().splitlines()[-1])
    port = processes.free_port()
    server = processes.Process(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "vmmanager.asgi:application"],
        env,
        data_dir / "daphne.log",
    )
    try:
        processes.wait_for_port(server, port)
        yield f"http://127.0.0.1:{port}", secrets
    finally:
        server.stop(timeout=5)
