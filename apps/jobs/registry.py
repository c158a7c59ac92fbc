"""Operations: one small module per operation with one entry function.

    STEPS = ["Ask the guest to shut down", ...]   # optional: planned steps, for progress
    def run(ctx, target, **params): ...            # the work; ctx.step(name) records steps

An admin overrides an operation by placing `<operation>.py` in VMM_OPERATIONS_DIR.
The runner stays in charge of claiming, step bookkeeping, errors and re-reading state,
so an override changes what is done, never how it is recorded (docs/operations.md).
"""

import importlib
import importlib.util
import re
from pathlib import Path

from django.conf import settings

# Packages holding the built-in operations, searched in order.
OPERATION_PACKAGES = ("apps.vms.operations", "apps.hosts.operations", "apps.images.operations")
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class UnknownOperation(LookupError):
    pass


def _builtin_module_name(kind):
    for package in OPERATION_PACKAGES:
        name = f"{package}.{kind}"
        if importlib.util.find_spec(name) is not None:
            return name
    return None


def override_path(kind):
    path = Path(settings.VMM_OPERATIONS_DIR) / f"{kind}.py"
    return path if path.is_file() else None


def exists(kind):
    return bool(_NAME.match(kind)) and (_builtin_module_name(kind) is not None or override_path(kind) is not None)


def load(kind):
    """Return the module implementing `kind`: the admin's override if present, else built-in.

    Raises UnknownOperation for a name that is neither.
    """
    if not _NAME.match(kind):
        raise UnknownOperation(kind)
    path = override_path(kind)
    if path is not None:
        # Loaded afresh each time so an edited override takes effect on the next job.
        spec = importlib.util.spec_from_file_location(f"vmm_operation_override_{kind}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.IS_OVERRIDE = True
        return _checked(kind, module)
    name = _builtin_module_name(kind)
    if name is None:
        raise UnknownOperation(kind)
    return _checked(kind, importlib.import_module(name))


def failure_hook(kind):
    """The `on_failure(ctx, target)` to run when `kind` fails: the override's, else the
    built-in module's, else None."""
    try:
        module = load(kind)
    except UnknownOperation:
        return None
    hook = getattr(module, "on_failure", None)
    if hook is None and getattr(module, "IS_OVERRIDE", False):
        name = _builtin_module_name(kind)
        hook = getattr(importlib.import_module(name), "on_failure", None) if name else None
    return hook


def _checked(kind, module):
    if not callable(getattr(module, "run", None)):
        raise UnknownOperation(f"{kind}: the module has no run(ctx, target, **params) function")
    return module
