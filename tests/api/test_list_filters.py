"""Every list's query filters, read from the OpenAPI schema so that a new list or filter is
covered without editing this file: a value the schema refuses (past the database's 64-bit
range, not a whole number, below the declared minimum, a boolean other than true/false)
is a 400 naming the parameter, and the values at the schema's bounds are accepted.

The overflow answered 500 on SQLite (OverflowError) before, a date-time offset past ±15:59
on PostgreSQL; the last test runs the overflow and date-time tests again on a throw-away
SQLite database in a child pytest."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

from apps.accounts.plans import Plan
from apps.images.models import Image
from tests.api.conftest import client_for, make_vm

ROOT = Path(__file__).resolve().parents[2]
# Pagination's own parameter (not a filter); its bounds are tested with pagination.
NOT_FILTERS = {"page_size"}
TOO_BIG = ["92930459597427915179548542700043108352", str(2**63), str(-(2**63) - 1), "9" * 5000]
NOT_WHOLE = ["0.5", "1.0", "1e3", "abc", "0x10"]


def _list_parameters():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in sorted(schema["paths"].items()):
        if "{" in path or "get" not in operations:
            continue
        for parameter in operations["get"].get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] not in NOT_FILTERS:
                yield path, parameter["name"], parameter["schema"]


PARAMETERS = list(_list_parameters())
INTEGERS = [(path, name, schema) for path, name, schema in PARAMETERS if schema.get("type") == "integer"]
BOOLEANS = [(path, name) for path, name, schema in PARAMETERS if schema.get("type") == "boolean"]


def _bounds(schema):
    """The smallest and largest value the schema allows (an enum's or the declared range)."""
    if "enum" in schema:
        return min(schema["enum"]), max(schema["enum"])
    return schema["minimum"], schema["maximum"]


def _ids(cases):
    return [f"{case[0]}?{case[1]}" for case in cases]


@pytest.fixture
def staff(admin_user):
    return client_for(admin_user)


def assert_refused(response, name):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert [error["field"] for error in response.json()["errors"]] == [name], response.json()


def test_the_schema_lists_the_filters_of_every_list():
    """The cases below come from the schema: make sure it still has what they test."""
    names = {(path, name) for path, name, _ in INTEGERS}
    assert {("/api/v1/vms/", "image"), ("/api/v1/vms/", "owner"), ("/api/v1/users/", "reseller")} <= names
    assert {("/api/v1/plans/", "vcpus"), ("/api/v1/quotas/", "user"), ("/api/v1/jobs/", "vm")} <= names
    assert ("/api/v1/webhook-deliveries/", "endpoint") in names
    assert ("/api/v1/tokens/", "read_only") in BOOLEANS
    for _path, _name, schema in INTEGERS:
        low, high = _bounds(schema)
        assert low >= -(2**63) and high <= 2**63 - 1


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name", "schema"), INTEGERS, ids=_ids(INTEGERS))
def test_an_integer_filter_past_the_database_range_is_a_400_naming_it(staff, path, name, schema):
    for value in TOO_BIG:
        assert_refused(staff.get(path, {name: value}), name)


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name", "schema"), INTEGERS, ids=_ids(INTEGERS))
def test_an_integer_filter_refuses_what_is_not_a_whole_number_in_its_declared_range(staff, path, name, schema):
    for value in NOT_WHOLE:
        assert_refused(staff.get(path, {name: value}), name)
    low, high = _bounds(schema)
    assert_refused(staff.get(path, {name: low - 1}), name)
    assert_refused(staff.get(path, {name: high + 1}), name)
    for value in schema.get("enum", (low, high)):
        response = staff.get(path, {name: value})
        assert response.status_code == 200, (value, response.content[:300])


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name"), BOOLEANS, ids=_ids(BOOLEANS))
def test_a_boolean_filter_takes_true_or_false_only(staff, path, name):
    for value in ("0", "1", "yes", "null", "True", "FALSE", " true", "true "):
        assert_refused(staff.get(path, {name: value}), name)
    for value in ("true", "false"):
        assert staff.get(path, {name: value}).status_code == 200


def _typed(schema):
    """Anything but free text: an empty value is none of these."""
    return schema.get("type") != "string" or bool({"enum", "format"} & set(schema))


TYPED = [(path, name) for path, name, schema in PARAMETERS if _typed(schema)]
TEXTS = [(path, name, schema) for path, name, schema in PARAMETERS if (path, name) not in TYPED]
FILTER_TEXTS = [case for case in TEXTS if case[1] not in ("ordering", "cursor")]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name"), TYPED, ids=_ids(TYPED))
def test_an_empty_value_is_refused_where_the_schema_allows_none(staff, path, name):
    """An id, number, boolean, date or choice given as `?name=` is none of those."""
    assert_refused(staff.get(path, {name: ""}), name)


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name", "schema"), FILTER_TEXTS, ids=_ids(FILTER_TEXTS))
def test_a_text_filter_takes_any_text_but_a_nul_character_as_its_schema_says(staff, path, name, schema):
    assert schema.get("pattern") == "^[^\\x00]*$"
    assert staff.get(path, {name: ""}).status_code == 200
    assert staff.get(path, {name: "a b ü %_"}).status_code == 200
    assert_refused(staff.get(path, {name: "a\x00b"}), name)


DATE_TIMES = [(path, name) for path, name, schema in PARAMETERS if schema.get("format") == "date-time"]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name"), DATE_TIMES, ids=_ids(DATE_TIMES))
def test_a_date_time_filter_takes_every_offset_iso_8601_allows(staff, path, name):
    """PostgreSQL refuses offsets past ±15:59 (it answered 500), SQLite stores UTC: the
    filter compares in UTC, and a moment past year 9999 or before year 1 in UTC is the
    latest or earliest."""
    for value in ("2572-05-11T22:47:55+20:09", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"):
        response = staff.get(path, {name: value})
        assert response.status_code == 200, (value, response.content[:300])
    for value in ("2026-13-01T00:00:00Z", "yesterday", "1"):
        assert_refused(staff.get(path, {name: value}), name)


@pytest.mark.django_db
def test_an_id_of_someone_elses_object_matches_nothing_rather_than_telling_it_exists(
    api, customer, other_customer, host
):
    mine = make_vm(customer, host, name="mine")
    make_vm(other_customer, host, name="theirs")
    client = api(customer)
    assert [vm["name"] for vm in client.get("/api/v1/vms/", {"owner": customer.pk}).json()["results"]] == ["mine"]
    assert client.get("/api/v1/vms/", {"owner": other_customer.pk}).json()["results"] == []
    assert client.get("/api/v1/ssh-keys/", {"owner": other_customer.pk}).status_code == 200
    assert client.get("/api/v1/ssh-keys/", {"owner": 2**63 - 1}).status_code == 200
    assert mine.owner_id == customer.pk


@pytest.mark.django_db
def test_the_filters_still_filter(staff, admin_user, customer, host, ready_image):
    Plan.objects.create(name="small", vcpus=1, memory_mb=512, disk_gb=5)
    Plan.objects.create(name="large", vcpus=8, memory_mb=8192, disk_gb=80, is_active=False)
    vm = make_vm(customer, host, name="with-image", image=ready_image, hostname="www.example.com")
    make_vm(customer, host, name="no-image")
    other = Image.objects.create(name="other", owner=customer)
    names = lambda path, **query: sorted(row["name"] for row in staff.get(path, query).json()["results"])  # noqa: E731
    assert names("/api/v1/vms/", image=ready_image.pk) == ["with-image"]
    assert names("/api/v1/vms/", image=other.pk) == []
    assert names("/api/v1/vms/", q="www.example") == ["with-image"]
    assert names("/api/v1/vms/", q=str(vm.uuid)[:8]) == ["with-image"]
    assert names("/api/v1/plans/", vcpus=8) == ["large"]
    assert names("/api/v1/plans/", is_active="true") == ["small"]
    assert names("/api/v1/plans/", is_active="false") == ["large"]
    assert names("/api/v1/images/", owner=customer.pk) == ["other"]


def test_the_overflow_is_a_400_on_sqlite_too(tmp_path):
    """The embedded default: the same overflow and date-time tests in a child pytest on SQLite
    (its tables made from the models: running the migrations on SQLite is test_make_run's)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    command = [
        sys.executable, "-m", "pytest", "-q", "--no-migrations", f"{Path(__file__).relative_to(ROOT)}",
        "-k", "past_the_database_range or date_time_filter or the_filters_still_filter",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout[-1000:]
