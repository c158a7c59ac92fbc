"""Unique constraints checked by the insert: a duplicate that arrives at the same moment as
the original gets the same 400 as one that arrives after it.

A check before the insert (`.filter(...).exists()`) cannot see a row another request is
inserting at the same moment; only the database's unique index can. Services wrap the
INSERT or UPDATE in `unique_or_error(Model, {fields: (field, message)})`:

    with unique_or_error(SshKey, {("owner", "name"): ("name", NAME_TAKEN)}):
        key.save()

It runs the block in a savepoint (`transaction.atomic()`, so an outer transaction stays
usable) and turns an IntegrityError from one of the listed unique constraints of `Model`
into ValidationError({field: message}) with code "unique". Any other IntegrityError is
re-raised. When the object has several unique keys, pass the check the service runs
before the write as `recheck`: after a violation it runs again (it now sees the row that
won) so a twin that collides on both keys gets the same field as a late duplicate. A key
is a tuple of model field names (the constraint's columns, a `unique=True`
field as a 1-tuple) or the name of a UniqueConstraint in the model's Meta.

Which constraint failed is read from the database's own report: PostgreSQL names the
table and the key's columns (`Key (owner_id, name)=(...) already exists.`), SQLite the
columns (`UNIQUE constraint failed: accounts_sshkey.owner_id, accounts_sshkey.name`)."""

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

_PG_KEY = re.compile(r"Key \((?P<columns>[^)]*)\)=")
_SQLITE = re.compile(r"UNIQUE constraint failed: (?P<columns>.+)$")


def _columns(model: type[models.Model], key: str | tuple[str, ...]) -> frozenset[str]:
    if isinstance(key, str):
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and constraint.name == key:
                key = tuple(constraint.fields)
                break
        else:
            raise LookupError(f"{model.__name__} has no unique constraint named {key!r}")
    return frozenset(model._meta.get_field(name).column for name in key)


def violated_columns(exc: IntegrityError, table: str) -> frozenset[str] | None:
    """The columns of the unique key of `table` that `exc` reports violated, or None when
    `exc` is not a unique violation on that table."""
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    if diag is not None:  # PostgreSQL (psycopg)
        if getattr(cause, "sqlstate", None) != "23505" or diag.table_name != table:
            return None
        found = _PG_KEY.search(diag.message_detail or "")
        return frozenset(c.strip().strip('"') for c in found["columns"].split(",")) if found else None
    found = _SQLITE.search(str(exc))
    if found is None:
        return None
    names = [c.strip() for c in found["columns"].split(",")]
    if not all(name.startswith(table + ".") for name in names):
        return None
    return frozenset(name[len(table) + 1 :] for name in names)


@contextmanager
def unique_or_error(
    model: type[models.Model],
    errors: Mapping[str | tuple[str, ...], tuple[str, str]],
    *,
    recheck: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Run the block in a savepoint; a violation of one of `errors`' unique keys of `model`
    raises ValidationError({field: message}, code "unique") (or what `recheck()` raises).
    See the module docstring."""
    by_columns = {_columns(model, key): answer for key, answer in errors.items()}
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        answer = by_columns.get(violated_columns(exc, model._meta.db_table))
        if answer is None:
            raise
        if recheck is not None:
            recheck()
        field, message = answer
        raise ValidationError({field: ValidationError(message, code="unique")}) from exc
