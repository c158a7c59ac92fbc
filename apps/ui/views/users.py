"""Users (staff: everyone; a reseller: its customers): the list with usage against quota,
one user's page with its VMs and jobs, create, edit, set a password, set the quota, block
and unblock. Every change goes through apps.accounts.services (users, quotas), as the API's
do; the audit entries are written by the models' audit registration under the signed-in
user (apps.core.audit.AuditContextMiddleware), for both doors alike. A user outside the
actor's scope, and an action the actor may not take on it, answer 404."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.filtersets import UserFilterSet
from apps.accounts.quotas import LIMITS, Quota
from apps.accounts.services import quotas as quota_service
from apps.accounts.services import two_factor
from apps.accounts.services import users as service
from apps.accounts.services.access import manages
from apps.accounts.tenancy import is_staff_user, sees_other_users, visible_users
from apps.jobs.selectors import visible_jobs
from apps.ui.access import signed_in
from apps.ui.forms.people import NewPasswordForm, QuotaForm, UserCreateForm, UserEditForm, UserFilterForm
from apps.ui.forms.vms import apply_errors
from apps.ui.paging import paginate
from apps.vms.quotas import usage, usages
from apps.vms.selectors import visible_vms


def people_pages(view):
    """Like signed_in; 404 for whoever sees no other users (customers), and for an action
    the service refuses (PermissionDenied): pages hide what one may not do."""

    @signed_in
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not sees_other_users(request.user):
            raise Http404
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            raise Http404 from exc

    return wrapper


def _user(request, pk):
    return get_object_or_404(visible_users(request.user).select_related("reseller"), pk=pk)


def quota_rows(quota, used):
    """[(what, used, limit or None)] for each limit (accounts.quotas.LIMITS)."""
    limits = quota.limits() if quota else {}
    return [(counted, used[counted], limits.get(field)) for field, counted, _unit in LIMITS]


@people_pages
def user_list(request):
    form = UserFilterForm(request.GET or None)
    users = visible_users(request.user).exclude(pk=request.user.pk).select_related("reseller")
    users = UserFilterSet(request.GET, queryset=users).qs.order_by("username")
    search = (request.GET.get("q") or "").replace("\x00", "").strip()
    if search:
        users = users.filter(
            Q(username__icontains=search)
            | Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    page, query = paginate(request, users)
    used = usages(page.object_list)
    quotas = {quota.user_id: quota for quota in Quota.objects.filter(user__in=page.object_list)}
    rows = [(user, quota_rows(quotas.get(user.pk), used[user.pk])) for user in page.object_list]
    context = {"form": form, "page": page, "query": query, "rows": rows, "may_create": True}
    return render(request, "ui/users/list.html", context)


@people_pages
def user_create(request):
    service.check_may_create_users(request.user)
    form = UserCreateForm(request.POST or None, staff=is_staff_user(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            user = service.create_user(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
            return redirect("ui:user_detail", user.pk)
    return render(request, "ui/users/create.html", {"form": form})


@people_pages
def user_detail(request, pk):
    user = _user(request, pk)
    quota = Quota.objects.filter(user=user).first()
    context = {
        "person": user,
        "manages": manages(request.user, user),
        # Offered to staff only (the service's rule); the page says whether the user has one.
        "has_two_factor": two_factor.has_two_factor(user),
        "quota": quota,
        "quota_rows": quota_rows(quota, usage(user)),
        "vms": visible_vms(request.user).filter(owner=user).select_related("host", "image").order_by("name")[:100],
        "jobs": visible_jobs(request.user)
        .filter(Q(owner=user) | Q(actor=user))
        .select_related("actor", "target_type")
        .order_by("-created_at")[:15],
    }
    return render(request, "ui/users/detail.html", context)


@people_pages
def user_edit(request, pk):
    user = _user(request, pk)
    staff = is_staff_user(request.user)
    fields = ["username", "email", "first_name", "last_name"] + (["role", "reseller"] if staff else [])
    initial = {name: getattr(user, name) for name in fields}
    form = UserEditForm(request.POST or None, initial=initial, staff=staff)
    if request.method == "POST" and form.is_valid():
        try:
            service.update_user(actor=request.user, user=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
            user.refresh_from_db()
        else:
            messages.success(request, _("User %(name)s saved.") % {"name": user.username})
            return redirect("ui:user_detail", user.pk)
    return render(request, "ui/users/edit.html", {"person": user, "form": form})


@people_pages
def user_password(request, pk):
    """Set a new password for a user one manages (its old one is not asked)."""
    user = _user(request, pk)
    if not manages(request.user, user):  # the form is not offered; the service decides on POST
        raise Http404
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            service.reset_password(actor=request.user, user=user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("A new password is set for %(name)s.") % {"name": user.username})
            return redirect("ui:user_detail", user.pk)
    return render(request, "ui/users/password.html", {"person": user, "form": form})


@people_pages
def user_quota(request, pk):
    user = _user(request, pk)
    quota_service.check_may_set_quota(request.user, user)
    quota = Quota.objects.filter(user=user).first()
    form = QuotaForm(request.POST or None, initial=quota.limits() if quota else {})
    if request.method == "POST" and form.is_valid():
        try:
            quota_service.set_quota(actor=request.user, user=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The quota of %(name)s is saved.") % {"name": user.username})
            return redirect("ui:user_detail", user.pk)
    own = None if is_staff_user(request.user) else Quota.objects.filter(user=request.user).first()
    context = {"person": user, "form": form, "own_rows": quota_rows(own, usage(request.user)) if own else None}
    return render(request, "ui/users/quota.html", context)


@people_pages
@require_POST
def user_block(request, pk):
    user = service.block_user(actor=request.user, user=_user(request, pk))
    messages.success(request, _("%(name)s is blocked: its sessions and API tokens stop working.") % {"name": user})
    return redirect("ui:user_detail", user.pk)


@people_pages
@require_POST
def user_unblock(request, pk):
    user = service.unblock_user(actor=request.user, user=_user(request, pk))
    messages.success(request, _("%(name)s is active again.") % {"name": user})
    return redirect("ui:user_detail", user.pk)


@people_pages
@require_POST
def user_reset_two_factor(request, pk):
    """Staff remove a user's lost authenticator (apps.accounts.services.two_factor)."""
    user = _user(request, pk)
    two_factor.reset_two_factor(actor=request.user, user=user)
    messages.success(
        request, _("Two-factor sign-in of %(name)s is reset: it signs in with its password alone.") % {"name": user}
    )
    return redirect("ui:user_detail", user.pk)
