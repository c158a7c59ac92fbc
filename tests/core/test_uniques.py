"""apps.core.uniques reads which unique key a write broke from each database's own report:
PostgreSQL's (in tests/api/test_unique_races.py, for real) and SQLite's, made here by a
real SQLite database of the same shape, the embedded default's."""

import sqlite3

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from apps.accounts.sshkeys import SshKey
from apps.core.uniques import unique_or_error, violated_columns
from apps.images.models import Image

pytestmark = pytest.mark.django_db


def sqlite_violation(schema, insert):
    """The IntegrityError Django raises for `insert` on SQLite (the driver's error as cause)."""
    database = sqlite3.connect(":memory:")
    database.executescript(schema)
    try:
        database.executescript(insert)
    except sqlite3.IntegrityError as exc:
        wrapped = IntegrityError(*exc.args)
        wrapped.__cause__ = exc
        return wrapped
    raise AssertionError("no violation")


SSH_KEYS = """CREATE TABLE accounts_sshkey (id integer primary key, owner_id int, name text, fingerprint text);
CREATE UNIQUE INDEX ssh_key_name_unique_per_owner ON accounts_sshkey (owner_id, name);
CREATE UNIQUE INDEX ssh_key_unique_per_owner ON accounts_sshkey (owner_id, fingerprint);
INSERT INTO accounts_sshkey (owner_id, name, fingerprint) VALUES (1, 'laptop', 'SHA256:a');"""


def test_the_columns_of_the_broken_key_are_read_from_sqlites_message():
    same_key = sqlite_violation(
        SSH_KEYS, "INSERT INTO accounts_sshkey (owner_id, name, fingerprint) VALUES (1, 'b', 'SHA256:a')"
    )
    assert violated_columns(same_key, "accounts_sshkey") == {"owner_id", "fingerprint"}
    assert violated_columns(same_key, "images_image") is None


def test_a_broken_key_becomes_the_fields_message_and_other_violations_pass_through():
    same_name = sqlite_violation(
        SSH_KEYS, "INSERT INTO accounts_sshkey (owner_id, name, fingerprint) VALUES (1, 'laptop', 'x')"
    )
    errors = {"ssh_key_name_unique_per_owner": ("name", "Taken."), ("owner", "fingerprint"): ("public_key", "Saved.")}
    with pytest.raises(ValidationError) as caught, unique_or_error(SshKey, errors):
        raise same_name
    assert caught.value.message_dict == {"name": ["Taken."]} and caught.value.error_dict["name"][0].code == "unique"
    with pytest.raises(IntegrityError), unique_or_error(Image, {("owner", "name"): ("name", "Taken.")}):
        raise same_name


def test_a_partial_unique_index_is_named_by_its_columns():
    images = """CREATE TABLE images_image (id integer primary key, owner_id int, name text);
    CREATE UNIQUE INDEX image_name_unique_for_provider ON images_image (name) WHERE owner_id IS NULL;
    INSERT INTO images_image (owner_id, name) VALUES (NULL, 'debian-12');"""
    twin = sqlite_violation(images, "INSERT INTO images_image (owner_id, name) VALUES (NULL, 'debian-12')")
    with pytest.raises(ValidationError) as caught:
        with unique_or_error(Image, {"image_name_unique_for_provider": ("name", "Taken.")}):
            raise twin
    assert caught.value.message_dict == {"name": ["Taken."]}
