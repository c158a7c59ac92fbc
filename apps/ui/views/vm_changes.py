"""Changing a VM: power buttons, reinstall, root password, resize, delete, recovery, migration and
rescue mode. Each only starts a job (no hypervisor call here); a busy VM or an unavailable operation is a message."""

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.ui import vm_actions
from apps.ui.access import signed_in
from apps.ui.forms.vms import (
    DeleteForm,
    MakeImageForm,
    MigrateForm,
    PasswordResetForm,
    RecoverForm,
    ReinstallForm,
    ResizeForm,
    apply_errors,
)
from apps.ui.views.vms import vm_queryset


@signed_in
@require_POST
def vm_power(request, pk, action):
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    if action in vm_actions.POWER:
        vm_actions.power(request, vm, vm_actions.POWER[action])
    return redirect("ui:vm_detail", vm.pk)


def _change(request, pk, kind, template, make_form):
    """GET shows the form; a valid POST starts `kind` (vm_actions.change) and opens the job's
    page. Otherwise the form is shown again with the reasons."""
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    form = make_form(vm, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = vm_actions.change(request, vm, kind, form)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if job is not None:
                return redirect("ui:job_detail", job.pk)
            if kind == "vm_delete" and not type(vm).objects.filter(pk=vm.pk).exists():
                return redirect("ui:vm_list")  # never placed: gone at once
    return render(request, template, {"vm": vm, "form": form})


@signed_in
def vm_reinstall(request, pk):
    return _change(
        request, pk, "vm_reinstall", "ui/vms/reinstall.html", lambda vm, data: ReinstallForm(data, user=request.user)
    )


@signed_in
def vm_password(request, pk):
    return _change(request, pk, "vm_reset_password", "ui/vms/password.html", lambda vm, data: PasswordResetForm(data))


@signed_in
def vm_resize(request, pk):
    def make_form(vm, data):
        return ResizeForm(data, initial={"vcpus": vm.vcpus, "memory_mb": vm.memory_mb, "disk_gb": vm.disk_gb})

    return _change(request, pk, "vm_resize", "ui/vms/resize.html", make_form)


@signed_in
def vm_delete(request, pk):
    return _change(request, pk, "vm_delete", "ui/vms/delete.html", lambda vm, data: DeleteForm(data, vm=vm))


@signed_in
def vm_make_image(request, pk):
    return _change(
        request, pk, "vm_make_image", "ui/vms/make_image.html", lambda vm, data: MakeImageForm(data, user=request.user)
    )


@signed_in
def vm_recover(request, pk):
    """Staff: re-create a VM of a lost host on another host (apps.vms.recovery)."""
    # Bound on every POST: an unticked box sends nothing, and the service says what is missing.
    bound = request.POST if request.method == "POST" else None
    return _change(request, pk, "vm_recover", "ui/vms/recover.html", lambda vm, data: RecoverForm(bound))


@signed_in
def vm_migrate(request, pk):
    """Staff: move a stopped VM to another host (apps.vms.migration)."""
    # Bound on every POST: no host chosen is an empty form, and placement chooses.
    bound = request.POST if request.method == "POST" else None
    return _change(request, pk, "vm_migrate", "ui/vms/migrate.html", lambda vm, data: MigrateForm(bound))


@signed_in
def vm_rescue(request, pk):
    """Boot the VM into the rescue system (apps.vms.rescue): GET explains, POST starts."""
    bound = request.POST if request.method == "POST" else None
    return _change(request, pk, "vm_rescue", "ui/vms/rescue.html", lambda vm, data: forms.Form(bound))


@signed_in
def vm_unrescue(request, pk):
    """Take the VM out of rescue mode (apps.vms.rescue): GET explains, POST starts."""
    bound = request.POST if request.method == "POST" else None
    return _change(request, pk, "vm_unrescue", "ui/vms/unrescue.html", lambda vm, data: forms.Form(bound))
