"""Starting operations on an existing VM from the UI: power buttons and changes (reinstall,
password, resize, make image, delete, rescue mode) through the services in apps.vms.changes, which
decide whether the change may happen (the API calls the same ones)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from apps.jobs.registry import UnknownOperation
from apps.jobs.runner import TargetBusy
from apps.ui import labels
from apps.ui.forms.vms import apply_errors
from apps.vms import changes, migration, recovery, rescue
from apps.vms.models import PowerState

# URL word → the services' power action (changes.POWER_OPERATIONS), for the power buttons.
POWER = {
    "start": "start",
    "stop": "stop",
    "reboot": "reboot",
    "power-off": "power-off",
    "pause": "suspend",
    "resume": "resume",
}
# Which power buttons make sense in each power state.
POWER_BY_STATE = {
    PowerState.RUNNING: ("stop", "reboot", "pause", "power-off"),
    PowerState.STOPPED: ("start",),
    PowerState.PAUSED: ("resume", "power-off"),
    PowerState.CRASHED: ("start", "power-off"),
    PowerState.UNKNOWN: ("start", "stop", "power-off"),
}


def power_buttons(power_state):
    """[(action, "the power states it fits", whether it fits `power_state`)] for the VM page;
    live.js shows the buttons that fit each new state."""
    fits = {action: [s for s, actions in POWER_BY_STATE.items() if action in actions] for action in POWER}
    return [(action, " ".join(fits[action]), power_state in fits[action]) for action in POWER]


def busy(request, vm, running):
    messages.error(
        request,
        format_html(
            _('{vm} is busy with “{operation}” (<a href="{url}">job {job}</a>). Try again when it ends.'),
            vm=vm.name,
            operation=labels.label("operation", running.kind),
            url=reverse("ui:job_detail", args=[running.pk]),
            job=str(running.pk)[:8],
        ),
    )


def power(request, vm, action):
    """Run the power `action` (a value of POWER) on `vm` as the signed-in user. Returns the
    Job, or None after adding a message that says why nothing started."""
    try:
        return changes.power_vm(vm, action, actor=request.user, request_id=request.request_id)
    except TargetBusy as exc:
        busy(request, vm, exc.job)
    except UnknownOperation:
        unavailable(request, changes.POWER_OPERATIONS[action])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return None


def unavailable(request, kind):
    messages.error(
        request,
        _("“%(operation)s” is not available on this panel yet.") % {"operation": labels.label("operation", kind)},
    )


def change(request, vm, kind, form):
    """Start `kind` on `vm` from a valid form through the service in apps.vms.changes that
    checks it. Returns the Job; None (with a message) if nothing started; raises
    ValidationError keyed by field when the service refuses the input."""
    data = form.cleaned_data
    who = {"actor": request.user, "request_id": request.request_id}
    services = {
        "vm_reinstall": lambda: changes.reinstall_vm(
            vm, image=data["image"], password=data["password"], ssh_keys=form.all_keys(), **who
        ),
        "vm_reset_password": lambda: changes.reset_password(vm, data["password"], **who),
        "vm_resize": lambda: changes.resize_vm(
            vm, vcpus=data["vcpus"], memory_mb=data["memory_mb"], disk_gb=data["disk_gb"], **who
        ),
        "vm_delete": lambda: changes.delete_vm(vm, keep_backups=data["keep_backups"], **who),
        "vm_make_image": lambda: changes.make_image(vm, data["name"], visibility=data["visibility"], **who),
        "vm_recover": lambda: recovery.recover_vm(vm, confirm_host_down=data["confirm_host_down"], **who),
        "vm_migrate": lambda: migration.migrate_vm(vm, host=data["host"] or None, **who),
        "vm_rescue": lambda: rescue.enter_rescue(vm, **who),
        "vm_unrescue": lambda: rescue.leave_rescue(vm, **who),
    }
    try:
        return services[kind]()
    except TargetBusy as exc:
        busy(request, vm, exc.job)
    except UnknownOperation:
        unavailable(request, kind)
    return None


def start_job_page(request, vm, form, kind, start):
    """Call `start()` (a service starting `kind` on `vm`): the job's page once it started;
    None when it did not, with the service's reasons on `form`'s fields or a message."""
    try:
        job = start()
    except ValidationError as exc:
        apply_errors(form, exc)
    except TargetBusy as exc:
        busy(request, vm, exc.job)
    except UnknownOperation:
        unavailable(request, kind)
    else:
        return redirect("ui:job_detail", job.pk)
    return None
