"""docs/operations.md lists every built-in operation: an admin reading it to write an
override must find them all."""

import importlib
import pkgutil
from pathlib import Path

from django.conf import settings

from apps.jobs.registry import operation_packages


def test_every_built_in_operation_has_a_row_in_the_operations_doc():
    table = (Path(settings.BASE_DIR) / "docs" / "operations.md").read_text()
    names = [
        info.name
        for package in operation_packages()
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__)
    ]
    assert len(names) > 10
    assert [name for name in names if f"| `{name}` |" not in table] == []
