"""The VM's console page (serial with xterm.js, graphical with noVNC: static/ui/console.js)
and the ticket its script asks for before each websocket. The rule is the service's
(apps.vms.consoles.open_console); nothing here talks to a hypervisor (docs/console.md)."""

from csp.decorators import csp_update
from django import forms
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import get_script_prefix
from django.views.decorators.http import require_POST

from apps.ui.access import signed_in
from apps.ui.views.vms import vm_queryset
from apps.vms import consoles
from apps.vms.models import ConsoleKind

KEY_MENU = [("ctrl-alt-del", "Ctrl+Alt+Del"), ("ctrl-alt-backspace", "Ctrl+Alt+Backspace")] + [
    (f"ctrl-alt-f{n}", f"Ctrl+Alt+F{n}") for n in range(1, 8)
]


class ConsoleForm(forms.Form):
    kind = forms.ChoiceField(choices=ConsoleKind.choices, required=False)


# xterm.js's DOM renderer inserts <style> elements and noVNC draws its cursor from a data:
# URL: on this page only, the policy allows inline styles and data: images (never scripts).
@csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})
@signed_in
def vm_console(request, pk):
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    kind = ConsoleKind.VNC if request.GET.get("kind") == ConsoleKind.VNC else ConsoleKind.SERIAL
    return render(request, "ui/vms/console.html", {"vm": vm, "kind": kind, "key_menu": KEY_MENU})


def _errors(error_dict):
    return [{"field": field, "message": message} for field, messages in error_dict.items() for message in messages]


@signed_in
@require_POST
def vm_console_ticket(request, pk):
    """JSON for the console page: {kind, ticket, path, url, expires_at[, vnc_password]} (201),
    or {errors: [{field, message}]} (400)."""
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    form = ConsoleForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": _errors(form.errors)}, status=400)
    try:
        session, ticket = consoles.open_console(
            vm,
            form.cleaned_data["kind"] or ConsoleKind.SERIAL,
            actor=request.user,
            address=request.META.get("REMOTE_ADDR"),
        )
    except ValidationError as exc:
        return JsonResponse({"errors": _errors(exc.message_dict)}, status=400)
    path = get_script_prefix() + consoles.socket_path(session, ticket)
    scheme = "wss" if request.is_secure() else "ws"
    body = {
        "kind": session.kind,
        "ticket": ticket,
        "path": path,
        "url": f"{scheme}://{request.get_host()}{path}",
        "expires_at": session.expires_at.isoformat(),
    }
    if session.kind == ConsoleKind.VNC:
        body["vnc_password"] = consoles.vnc_password(vm)
    return JsonResponse(body, status=201)
