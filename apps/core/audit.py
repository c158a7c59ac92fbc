"""The audit log (django-auditlog): which models are tracked, who changed them, under which
request id. It lives in core, below every door: the models are registered once (CoreConfig)
and the middleware opens the context for every request, so a change made through the web UI,
the API, the admin or a management command is recorded alike.

Every entry's `cid` is the request id (HTTP request, console command or job), so an audit
entry leads to the same log lines as the job it started. The actor is the signed-in user:
the middleware binds the session user, and the API binds a token's user once DRF has
authenticated it (`bind_actor`)."""

from auditlog.context import auditlog_value, set_extra_data
from auditlog.registry import auditlog

from apps.core.request_id import get_request_id

# Secrets and churn that must not end up in the log.
EXCLUDED = {
    "accounts.user": ["password", "last_login"],
    "accounts.apitoken": ["key_hash", "last_used_at"],
    "vms.virtualmachine": ["updated_at", "state_synced_at", "current_job", "power_state", "ip_addresses"],
    "hosts.host": ["updated_at", "last_seen_at", "disk_free_bytes", "cpu_xml"],
    "hosts.cluster": ["updated_at", "cpu_xml", "cpu_note", "cpu_computed_at"],
    "images.image": ["updated_at"],
    "traffic.trafficperiod": ["rx_bytes", "tx_bytes", "synced_at", "limit_bytes"],
    "vms.snapshot": ["size_bytes"],
    "backups.backup": ["size_bytes", "added_bytes", "duration_s", "restic_snapshot_id", "finished_at", "consistency"],
}
TRACKED = (
    "accounts.User",
    "accounts.ApiToken",
    "accounts.Quota",
    "accounts.SshKey",
    "accounts.Plan",
    "hosts.Host",
    "hosts.Cluster",
    "images.Image",
    "vms.VirtualMachine",
    "traffic.TrafficPeriod",
    "vms.Snapshot",
    "vms.WarmPool",
    "backups.Backup",
)


def register_models():
    from django.apps import apps

    for label in TRACKED:
        model = apps.get_model(label)
        if not auditlog.contains(model):
            auditlog.register(model, exclude_fields=EXCLUDED.get(label.lower(), []))


def current_request_id():
    """AUDITLOG_CID_GETTER: the request id in force, or None outside of any."""
    value = get_request_id()
    return None if value == "-" else value


def bind_actor(user):
    """Make `user` the actor of audit entries written for the rest of this request."""
    try:
        context = auditlog_value.get()
    except LookupError:
        return
    if user is not None and user.is_authenticated:
        context["actor"] = user


class AuditContextMiddleware:
    """Opens the audit context for the request: actor (the session user, if any) and address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        context = {
            "actor": user if user is not None and user.is_authenticated else None,
            "remote_addr": request.META.get("REMOTE_ADDR"),
        }
        with set_extra_data(context_data=context):
            return self.get_response(request)
