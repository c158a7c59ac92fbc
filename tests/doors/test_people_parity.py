"""User, quota, plan, token and SSH key actions answer the same through the web UI and the
API: the same refused input is refused by both for the same reason, and the same accepted
input makes the same rows and the same audit entries (model, action, actor, object). One
row per case; tests/doors/outcomes.py explains how answers are compared."""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import Role, User
from apps.accounts.plans import Plan
from apps.accounts.quotas import Quota
from apps.accounts.sshkeys import SshKey
from apps.accounts.tokens import ApiToken
from tests.doors.outcomes import accepted_alike, refused_alike

STRONG = "Str0ng-enough-pw"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@example"


@dataclass(frozen=True)
class Action:
    """`ui(client, case)` and `api(client, case)` send the input; the routes name where the
    action is in each door (tests/doors/test_every_action_has_a_row.py reads them)."""

    name: str
    ui_route: str
    api_route: tuple
    ui: Callable
    api: Callable


def _user_url(name):
    return lambda k: reverse(name, args=[k["user"].pk])


ACTIONS = {
    action.name: action
    for action in [
        Action("user_create", "user_create", ("user", "create"),
               ui=lambda c, k: c.post(reverse("ui:user_create"), k["data"]),
               api=lambda c, k: c.post("/api/v1/users/", k["data"], format="json")),
        Action("user_update", "user_edit", ("user", "partial_update"),
               ui=lambda c, k: c.post(reverse("ui:user_edit", args=[k["user"].pk]), k["data"]),
               api=lambda c, k: c.patch(f"/api/v1/users/{k['user'].pk}/", k["data"], format="json")),
        Action("user_password", "user_password", ("user", "partial_update"),
               ui=lambda c, k: c.post(reverse("ui:user_password", args=[k["user"].pk]), {"password": k["password"]}),
               api=lambda c, k: c.patch(f"/api/v1/users/{k['user'].pk}/", {"password": k["password"]},
                                        format="json")),
        Action("profile", "profile", ("user", "partial_update"),
               ui=lambda c, k: c.post(reverse("ui:profile"), k["data"]),
               api=lambda c, k: c.patch(f"/api/v1/users/{k['user'].pk}/", k["data"], format="json")),
        Action("user_block", "user_block", ("user", "block"),
               ui=lambda c, k: c.post(reverse("ui:user_block", args=[k["user"].pk])),
               api=lambda c, k: c.post(f"/api/v1/users/{k['user'].pk}/block/")),
        Action("user_unblock", "user_unblock", ("user", "unblock"),
               ui=lambda c, k: c.post(reverse("ui:user_unblock", args=[k["user"].pk])),
               api=lambda c, k: c.post(f"/api/v1/users/{k['user'].pk}/unblock/")),
        Action("user_reset_two_factor", "user_reset_two_factor", ("user", "reset_two_factor"),
               ui=lambda c, k: c.post(reverse("ui:user_reset_two_factor", args=[k["user"].pk])),
               api=lambda c, k: c.post(f"/api/v1/users/{k['user'].pk}/reset-two-factor/")),
        Action("quota_set", "user_quota", ("quota", "update"),
               ui=lambda c, k: c.post(reverse("ui:user_quota", args=[k["user"].pk]), k["data"]),
               api=lambda c, k: c.put(f"/api/v1/quotas/{k['user'].pk}/", k["data"], format="json")),
        Action("plan_create", "plan_create", ("plan", "create"),
               ui=lambda c, k: c.post(reverse("ui:plan_create"), {**k["data"], "is_active": "on"}),
               api=lambda c, k: c.post("/api/v1/plans/", k["data"], format="json")),
        Action("plan_update", "plan_edit", ("plan", "partial_update"),
               ui=lambda c, k: c.post(reverse("ui:plan_edit", args=[k["plan"].pk]), {**k["data"], "is_active": "on"}),
               api=lambda c, k: c.patch(f"/api/v1/plans/{k['plan'].pk}/", k["data"], format="json")),
        Action("plan_delete", "plan_delete", ("plan", "destroy"),
               ui=lambda c, k: c.post(reverse("ui:plan_delete", args=[k["plan"].pk])),
               api=lambda c, k: c.delete(f"/api/v1/plans/{k['plan'].pk}/")),
        Action("token_issue", "token_list", ("token", "create"),
               ui=lambda c, k: c.post(reverse("ui:token_list"), k["data"]),
               api=lambda c, k: c.post("/api/v1/tokens/", k["data"], format="json")),
        Action("token_revoke", "token_revoke", ("token", "destroy"),
               ui=lambda c, k: c.post(reverse("ui:token_revoke", args=[k["token"].pk])),
               api=lambda c, k: c.delete(f"/api/v1/tokens/{k['token'].pk}/")),
        Action("sshkey_add", "sshkey_list", ("sshkey", "create"),
               ui=lambda c, k: c.post(reverse("ui:sshkey_list"), k["data"]),
               api=lambda c, k: c.post("/api/v1/ssh-keys/", k["data"], format="json")),
        Action("sshkey_delete", "sshkey_delete", ("sshkey", "destroy"),
               ui=lambda c, k: c.post(reverse("ui:sshkey_delete", args=[k["key"].pk])),
               api=lambda c, k: c.delete(f"/api/v1/ssh-keys/{k['key'].pk}/")),
    ]
}  # fmt: skip


@dataclass(frozen=True)
class Row:
    action: str
    actor: str  # "admin", "reseller", "customer"
    case: Callable  # world -> the input
    verdict: str  # "refused", "forbidden" or "accepted"
    field: str | None = None  # the field a refusal names
    note: str = ""

    def __str__(self):
        return f"{self.action}-{self.actor}-{self.note or self.verdict}"


def plan_fields(**extra):
    return {
        "name": "small", "vcpus": 1, "memory_mb": 1024, "disk_gb": 10, "price_code": "S-1",
        "traffic_limit_gb": 500, "traffic_action": "suspend", "traffic_throttle_mbit": 20, **extra,
    }  # fmt: skip


PLAN_BACKUPS = {"backup_frequency": "weekly", "backup_hour": 4, "backup_weekday": 2, "backup_keep_daily": 3,
                "backup_keep_weekly": 0}  # fmt: skip


def names(user, **extra):
    return {"username": user.username, "email": user.email, "first_name": "", "last_name": "", **extra}


ROWS = [
    # Users
    Row("user_create", "reseller", lambda w: {"data": {"username": "customer-1", "password": STRONG}}, "refused",
        "username", "name-taken"),
    Row("user_create", "reseller", lambda w: {"data": {"username": "new-1", "password": "Sh0rt!-pw"}}, "refused",
        "password", "short-password"),
    Row("user_create", "customer", lambda w: {"data": {"username": "new-1", "password": STRONG}}, "forbidden"),
    Row("user_create", "reseller", lambda w: {"data": {"username": "new-1", "password": STRONG,
        "email": "new@example.com"}}, "accepted", note="a-customer"),
    Row("user_create", "admin", lambda w: {"data": {"username": "new-1", "password": STRONG, "role": "reseller"}},
        "accepted", note="a-reseller"),
    Row("user_update", "reseller", lambda w: {"user": w.customer, "data": names(w.customer, email="bad address")},
        "refused", "email", "bad-email"),
    Row("user_update", "reseller", lambda w: {"user": w.customer, "data": names(w.customer, username="customer-2")},
        "refused", "username", "name-taken"),
    Row("user_update", "reseller", lambda w: {"user": w.rival_customer, "data": names(w.rival_customer)},
        "forbidden", note="another-resellers-customer"),
    Row("user_update", "reseller", lambda w: {"user": w.customer, "data": names(w.customer, username="cust-9",
        first_name="Ann")}, "accepted"),
    Row("user_update", "admin", lambda w: {"user": w.other_customer, "data": {**names(w.other_customer),
        "role": "customer", "reseller": w.reseller.pk}}, "accepted", note="moved-to-a-reseller"),
    Row("user_password", "reseller", lambda w: {"user": w.customer, "password": "Sh0rt!-pw"}, "refused", "password",
        "short"),
    Row("user_password", "reseller", lambda w: {"user": w.rival_customer, "password": STRONG}, "forbidden"),
    Row("user_password", "reseller", lambda w: {"user": w.customer, "password": STRONG}, "accepted"),
    Row("profile", "customer", lambda w: {"user": w.customer, "data": {"email": "nope"}}, "refused", "email"),
    Row("profile", "customer", lambda w: {"user": w.customer, "data": {"email": "me@example.com",
        "first_name": "Ann", "last_name": "Lee"}}, "accepted"),
    Row("user_block", "reseller", lambda w: {"user": w.rival_customer}, "forbidden", note="another-resellers"),
    Row("user_block", "customer", lambda w: {"user": w.customer}, "forbidden", note="itself"),
    Row("user_block", "reseller", lambda w: {"user": w.customer}, "accepted"),
    Row("user_unblock", "reseller", lambda w: {"user": w.other_customer}, "forbidden", note="the-providers"),
    Row("user_unblock", "admin", lambda w: {"user": w.blocked}, "accepted"),
    Row("user_reset_two_factor", "reseller", lambda w: {"user": w.customer}, "forbidden", note="staff-only"),
    Row("user_reset_two_factor", "customer", lambda w: {"user": w.customer}, "forbidden", note="itself"),
    Row("user_reset_two_factor", "admin", lambda w: {"user": w.other_customer}, "accepted"),
    # Quotas
    Row("quota_set", "reseller", lambda w: {"user": w.customer, "data": {"max_vms": 6}}, "refused", "max_vms",
        "beyond-its-own"),
    Row("quota_set", "reseller", lambda w: {"user": w.rival_customer, "data": {"max_vms": 1}}, "forbidden"),
    Row("quota_set", "customer", lambda w: {"user": w.customer, "data": {"max_vms": 1}}, "forbidden", note="its-own"),
    Row("quota_set", "reseller", lambda w: {"user": w.customer, "data": {"max_vms": 2, "max_vcpus": 4}}, "accepted"),
    Row("quota_set", "admin", lambda w: {"user": w.reseller, "data": {"max_vms": 50}}, "accepted", note="a-reseller"),
    # Plans
    Row("plan_create", "admin", lambda w: {"data": plan_fields(name=w.plan.name)}, "refused", "name", "name-taken"),
    Row("plan_create", "reseller", lambda w: {"data": plan_fields()}, "forbidden"),
    Row("plan_create", "admin", lambda w: {"data": plan_fields()}, "accepted"),
    Row("plan_create", "admin", lambda w: {"data": plan_fields(name="backed-up", **PLAN_BACKUPS)}, "accepted",
        note="with-backups"),
    Row("plan_create", "admin", lambda w: {"data": plan_fields(**{**PLAN_BACKUPS, "backup_keep_daily": 0})}, "refused",
        "backup_keep_daily", "keeps-nothing"),
    Row("plan_update", "admin", lambda w: {"plan": w.plan, "data": plan_fields(name="medium", vcpus=4)}, "accepted"),
    Row("plan_update", "admin", lambda w: {"plan": w.plan, "data": plan_fields(traffic_limit_gb=0)}, "refused",
        "traffic_limit_gb", "no-traffic"),
    Row("plan_update", "reseller", lambda w: {"plan": w.plan, "data": plan_fields()}, "forbidden"),
    Row("plan_delete", "reseller", lambda w: {"plan": w.plan}, "forbidden"),
    Row("plan_delete", "admin", lambda w: {"plan": w.plan}, "accepted"),
    # Tokens
    Row("token_issue", "customer", lambda w: {"data": {"name": "billing"}}, "refused", "name", "name-taken"),
    Row("token_issue", "customer", lambda w: {"data": {"name": "scripts", "read_only": True}}, "accepted"),
    Row("token_revoke", "customer", lambda w: {"token": w.rival_token}, "forbidden", note="another-users"),
    Row("token_revoke", "customer", lambda w: {"token": w.token}, "accepted"),
    # SSH keys
    Row("sshkey_add", "customer", lambda w: {"data": {"name": "laptop", "public_key": "ssh-rsa nope"}}, "refused",
        "public_key", "not-a-key"),
    Row("sshkey_add", "customer", lambda w: {"data": {"name": "desk", "public_key": KEY}}, "refused", "public_key",
        "saved-already"),
    Row("sshkey_add", "customer", lambda w: {"data": {"name": "old", "public_key": KEY.replace("IOMq", "IOMr")}},
        "refused", "name", "name-taken"),
    Row("sshkey_add", "reseller", lambda w: {"data": {"name": "laptop", "public_key": KEY}}, "accepted"),
    Row("sshkey_delete", "customer", lambda w: {"key": w.rival_key}, "forbidden", note="another-users"),
    Row("sshkey_delete", "customer", lambda w: {"key": w.key}, "accepted"),
]  # fmt: skip


@pytest.fixture
def world(admin_user, reseller, customer, other_customer):
    """The reseller (a quota of 5 VMs) and its customer, the provider's own customer (with an
    authenticator), another reseller's customer, a blocked user; a plan; the customer's token
    and key, and another user's."""
    rival = User.objects.create_user("reseller-2", role=Role.RESELLER)
    rival_customer = User.objects.create_user("rival-customer", role=Role.CUSTOMER, reseller=rival)
    Quota.objects.create(user=reseller, max_vms=5)
    key, rival_key = SshKey(owner=customer, name="old", public_key=KEY), SshKey(owner=rival, name="k", public_key=KEY)
    for item in (key, rival_key):
        item.clean()
        item.save()
    TOTPDevice.objects.create(user=other_customer, name="phone", confirmed=True)  # lost, to be reset
    return SimpleNamespace(
        users={"admin": admin_user, "reseller": reseller, "customer": customer},
        reseller=reseller,
        customer=customer,
        other_customer=other_customer,
        rival_customer=rival_customer,
        blocked=User.objects.create_user("blocked-1", role=Role.CUSTOMER, is_active=False),
        plan=Plan.objects.create(name="tiny", vcpus=1, memory_mb=512, disk_gb=5),
        token=ApiToken.objects.issue(customer, "billing")[0],
        rival_token=ApiToken.objects.issue(rival, "theirs")[0],
        key=key,
        rival_key=rival_key,
    )


def state():
    """What an action may change, and the audit entries it left (without times and ids)."""
    users = sorted((
        (u.username, u.email, u.first_name, u.last_name, u.role, u.reseller_id, u.is_active,
         u.check_password(STRONG)) for u in User.objects.all()
    ), key=repr)  # fmt: skip
    quotas = sorted((tuple(q.limits().values()) + (q.user_id,) for q in Quota.objects.all()), key=repr)
    plans = sorted(
        (p.name, p.vcpus, p.memory_mb, p.disk_gb, p.price_code, p.is_active, p.traffic_limit_gb, p.traffic_action,
         p.traffic_throttle_mbit) for p in Plan.objects.all()
    )  # fmt: skip
    tokens = sorted((t.user_id, t.name, t.read_only) for t in ApiToken.objects.all() if not t.name.startswith("test-"))
    keys = sorted((k.owner_id, k.name, k.fingerprint) for k in SshKey.objects.all())
    two_factor = sorted(TOTPDevice.objects.values_list("user_id", "confirmed"))
    audit = sorted(
        (
            # A token's name shows its secret's random first characters: the name alone.
            (e.content_type.model, e.action, e.actor_id, e.object_repr.split(" (")[0], tuple(sorted(e.changes_dict)))
            for e in LogEntry.objects.select_related("content_type")
            if not (e.content_type.model == "apitoken" and e.object_repr.startswith("test-"))
        ),
        key=repr,
    )
    return {
        "users": users,
        "quotas": quotas,
        "plans": plans,
        "tokens": tokens,
        "keys": keys,
        "two_factor": two_factor,
        "audit": audit,
    }


@pytest.mark.parametrize("row", [r for r in ROWS if r.verdict != "accepted"], ids=str)
def test_both_doors_refuse_the_same_input_for_the_same_reason(world, row):
    action, case = ACTIONS[row.action], row.case(world)

    def send_ui(client):
        return action.ui(client, case)

    def send_api(client):
        return action.api(client, case)

    refused_alike(world.users[row.actor], send_ui, send_api, state, row.verdict, row.field)


@pytest.mark.parametrize("row", [r for r in ROWS if r.verdict == "accepted"], ids=str)
def test_both_doors_accept_the_same_input_with_the_same_rows_and_audit_entries(world, row):
    action, case = ACTIONS[row.action], row.case(world)

    def send_ui(client):
        return action.ui(client, case)

    def send_api(client):
        return action.api(client, case)

    before, after = accepted_alike(world.users[row.actor], send_ui, send_api, state)
    # The password is kept out of the log (apps.core.audit.EXCLUDED): a new one leaves no entry.
    assert after["audit"] != before["audit"] or row.action == "user_password", "no audit entry"


# Where each action is in each door (tests/doors/test_every_action_has_a_row.py reads them).
UI_ROUTES = {action.ui_route: action.name for action in ACTIONS.values()}
API_ROUTES = {action.api_route for action in ACTIONS.values()}


def test_every_people_action_has_rows_of_both_verdicts():
    assert {row.action for row in ROWS if row.verdict == "accepted"} == set(ACTIONS)
    assert {row.action for row in ROWS if row.verdict != "accepted"} == set(ACTIONS)
