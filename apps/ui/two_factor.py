"""Staff required to use two-factor sign-in (VMM_REQUIRE_2FA_FOR_STAFF) who have not enrolled
yet may do nothing else: pages send them to the two-factor page, the API answers 403 to
their session (API tokens are not affected: they carry no session)."""

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.accounts.services.two_factor import must_enrol

ALLOWED = ("ui:two_factor", "ui:logout", "ui:set_language", "ui:login", "ui:login_code")


class EnrolmentRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and self._guarded(request) and must_enrol(user):
            if request.path_info.startswith("/api/"):
                message = _("Set up two-factor sign-in in the web panel first.")
                return JsonResponse({"detail": message}, status=403)
            return redirect("ui:two_factor")
        return self.get_response(request)

    @staticmethod
    def _guarded(request):
        from django.conf import settings

        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return False
        return request.path not in {reverse(name) for name in ALLOWED}
