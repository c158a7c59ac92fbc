"""The Content-Security-Policy of every response (django-csp), with websockets to the
panel's own host allowed (docs/ui.md#content-security-policy).

CSP 'self' covers ws:// and wss:// of the page's own host in current browsers but not in
all; the host the request was made to (already checked against ALLOWED_HOSTS) is added to
connect-src explicitly."""

from csp.middleware import CSPMiddleware
from django.core.exceptions import DisallowedHost


class PanelCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if report_only:
            return parts
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), f"ws://{host}", f"wss://{host}"]
        parts.update = update
        return parts
