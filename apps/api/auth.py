"""Who is calling: API tokens (Bearer or Token header) and the UI's session.

Both refuse a blocked user at the very next request: `is_active` false, or a customer
whose reseller is blocked (`User.is_blocked`). The backends below make the same rule hold
for session logins everywhere (UI and admin too)."""

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from apps.accounts.tokens import ApiToken

KEYWORDS = ("bearer", "token")


class ActiveUserBackend(ModelBackend):
    """The model backend, refusing blocked users (and customers of blocked resellers)."""

    def user_can_authenticate(self, user):
        return not getattr(user, "is_blocked", not getattr(user, "is_active", False))

    def get_user(self, user_id):
        try:
            user = self._user_model().objects.select_related("reseller").get(pk=user_id)
        except self._user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    @staticmethod
    def _user_model():
        from django.contrib.auth import get_user_model

        return get_user_model()


class AxesRequestBackend(AxesStandaloneBackend):
    """django-axes' lockout check for logins over HTTP; calls without a request (console,
    test clients, token look-ups) are not throttled by it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` (or `Token <token>`). Sets request.auth to the ApiToken."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Give the token after the keyword, with no spaces in it."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        token = ApiToken.objects.for_secret(raw)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        if token.user.is_blocked:
            raise exceptions.AuthenticationFailed(_("This account is blocked."))
        token.touch()
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class BlockAwareSessionAuthentication(authentication.SessionAuthentication):
    """The UI's session (with CSRF for unsafe methods), refusing blocked users."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and result[0].is_blocked:
            raise exceptions.AuthenticationFailed(_("This account is blocked."))
        return result
