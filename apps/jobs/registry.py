"""Operations: one small module per operation with one entry function.

    STEPS = ["Ask the guest to shut down", ...]   # optional: planned steps, for progress
    def run(ctx, target, **params): ...            # the work; ctx.step(name) records steps

An admin overrides an operation by placing `<operation>.py` in VMM_OPERATIONS_DIR.
The runner stays in charge of claiming, step bookkeeping, errors and re-reading state,
so an override changes what is done, never how it is recorded (docs/operations.md).

The job core names none of its users: each app registers, from its AppConfig.ready(),
the package holding its operations (`register_operations("apps.vms.operations")`) and
the function that re-reads a target's real state after every job on it
(`register_state_refresher(VirtualMachine, refresh_vm_state)`), and any housekeeping the
jobs reconciler should run (`register_housekeeping(settle_owed_everywhere)`).
"""

import importlib
import importlib.util
import re
from pathlib import Path

from django.conf import settings

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_packages = []  # packages holding the built-in operations, searched in order
_refreshers = {}  # model label ("vms.virtualmachine") -> refresh(target)
_housekeeping = []  # functions the jobs reconciler calls after settling dead jobs


class UnknownOperation(LookupError):
    pass


def register_operations(package):
    """Look for built-in operations in `package` (a dotted package name, each operation a
    module `<package>.<kind>`). Call from AppConfig.ready(); registering twice is harmless."""
    if package not in _packages:
        _packages.append(package)


def operation_packages():
    """The registered operation packages, in the order they are searched."""
    return tuple(_packages)


def register_state_refresher(model, refresh):
    """After every job whose target is a `model` the runner calls `refresh(target)` to store
    the target's real state, whatever the operation did. Call from AppConfig.ready()."""
    _refreshers[model._meta.label_lower] = refresh


def state_refresher(model):
    """The function registered for `model`, or None."""
    return _refreshers.get(model._meta.label_lower)


def register_housekeeping(task):
    """Have the jobs reconciler (reconcile.py, every minute) call `task()` after settling
    dead jobs, e.g. to carry out clean-ups that failed operations still owe. Call from
    AppConfig.ready(); registering twice is harmless."""
    if task not in _housekeeping:
        _housekeeping.append(task)


def housekeeping():
    """The registered housekeeping tasks, in the order they were registered."""
    return tuple(_housekeeping)


def _builtin_module_name(kind):
    for package in _packages:
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
