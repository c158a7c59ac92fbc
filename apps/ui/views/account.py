"""Self-service for every signed-in user: its profile and language, its API tokens (the
secret shown once), its saved SSH keys. Changes go through apps.accounts.services (users,
tokens, sshkeys), as the API's do. Another user's token or key answers 404."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.services import sshkeys as key_service
from apps.accounts.services import tokens as token_service
from apps.accounts.services import users as user_service
from apps.accounts.sshkeys import SshKey
from apps.accounts.tokens import ApiToken
from apps.ui.access import signed_in
from apps.ui.forms.account import SshKeyForm, TokenForm
from apps.ui.forms.people import ProfileForm
from apps.ui.forms.vms import apply_errors

# The session key holding a just-issued secret until the tokens page shows it (once).
NEW_TOKEN = "ui_new_token"


@signed_in
def profile(request):
    user = request.user
    initial = {"email": user.email, "first_name": user.first_name, "last_name": user.last_name}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            user_service.update_user(actor=user, user=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
            user.refresh_from_db()
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("ui:profile")
    return render(request, "ui/account/profile.html", {"form": form})


@signed_in
def token_list(request):
    """The user's tokens and a form for a new one. The new secret is kept in the session
    only until this page has shown it once (after the redirect)."""
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = token_service.issue_token(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            request.session[NEW_TOKEN] = {"id": token.pk, "secret": secret}
            messages.success(request, _("Token %(name)s created.") % {"name": token.name})
            return redirect("ui:token_list")
    new = request.session.pop(NEW_TOKEN, None) if request.method == "GET" else None
    tokens = ApiToken.objects.filter(user=request.user).order_by("name")
    return render(request, "ui/account/tokens.html", {"form": form, "tokens": tokens, "new": new})


@signed_in
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token_service.revoke_token(actor=request.user, token=token)
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("ui:token_list")


@signed_in
def sshkey_list(request):
    form = SshKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key = key_service.add_ssh_key(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Key %(name)s saved.") % {"name": key.name})
            return redirect("ui:sshkey_list")
    keys = SshKey.objects.filter(owner=request.user).order_by("name")
    return render(request, "ui/account/sshkeys.html", {"form": form, "keys": keys})


@signed_in
@require_POST
def sshkey_delete(request, pk):
    key = get_object_or_404(SshKey, pk=pk, owner=request.user)
    key_service.delete_ssh_key(actor=request.user, key=key)
    messages.success(request, _("Key %(name)s deleted.") % {"name": key.name})
    return redirect("ui:sshkey_list")
