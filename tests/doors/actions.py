"""The table of every action a user can take through both doors (web UI and API): for each,
the UI page and the API route that do it, an input both accept and inputs both refuse.
tests/doors/test_parity.py runs each row; tests/doors/test_every_action_has_a_row.py reads the
URLconf and the API router and fails for an action that is in neither this table nor the
list of one-door actions below (with the reason it has one door).

A row's inputs are functions of the World (the users and objects of tests/doors/conftest.py)
returning (form data, JSON body); "{door}" in a string is replaced by "ui" or "api" so that
the two accepted orders do not collide."""

from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.accounts.quotas import Quota
from apps.images.models import Image
from apps.jobs import runner
from apps.stats.traffic import month_of
from apps.traffic.models import TrafficPeriod
from apps.vms.models import OwedCleanup, VmStatus
from apps.webhooks.models import Delivery, Endpoint, Event

STRONG = "Str0ng-enough-pw"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@example"


@dataclass(frozen=True)
class Case:
    name: str
    inputs: object  # world -> (ui form data, api body)
    setup: object = None  # world -> None, run before each door


@dataclass(frozen=True)
class Action:
    name: str
    actor: str  # which World user acts
    ui_route: str  # URL name in apps/ui/urls.py
    ui_url: object  # world -> URL
    api_route: tuple  # (router basename, viewset action)
    api_call: object  # world -> (method, URL)
    job_kind: str | None
    accepted: Case
    refused: list = field(default_factory=list)
    between: object = None  # world -> None: undo the accepted change before the other door tries it


def vm_url(name, *extra):
    return lambda w: reverse(name, args=[w.vm.pk, *extra])


def api_vm(action=None, method="post"):
    return lambda w: (method, f"/api/v1/vms/{w.vm.pk}/" + (f"{action}/" if action else ""))


def quota(**limits):
    return lambda w: Quota.objects.update_or_create(user=w.customer, defaults=limits)


def vm_status(status):
    return lambda w: type(w.vm).objects.filter(pk=w.vm.pk).update(status=status)


def host_lost(w):
    """The World's host lost (the watcher marked it unreachable)."""
    type(w.host).objects.filter(pk=w.host.pk).update(status="unreachable", status_reason="connection closed")


def spare_host(w):
    """A second online host with room, for a VM recovered from the lost one."""
    type(w.host).objects.get_or_create(
        name="spare",
        defaults={
            "uri": "test:///default?spare",
            "status": "online",
            "cpus": 64,
            "memory_mb": 131072,
            "disk_bytes": 2**41,
        },
    )


def in_rescue(w):
    """The World's VM boots the rescue system (docs/rescue.md)."""
    type(w.vm).objects.filter(pk=w.vm.pk).update(rescue_since=timezone.now())


def vm_busy(w):
    """Another job holds the VM (a stop queued, not run)."""
    runner.submit("vm_stop", type(w.vm).objects.get(pk=w.vm.pk), actor=w.customer)


def image_named(name):
    return lambda w: Image.objects.create(
        name=name, owner=w.customer, status="ready", virtual_size_bytes=2**30, checksum_sha256="1" * 64
    )


def same(data):
    """The same fields in the form and in the JSON body."""
    return lambda w: (data, data)


def order(w, **changes):
    ui = {"name": "web-{door}", "image": w.image.pk, "vcpus": 1, "memory_mb": 1024, "disk_gb": 10, "password": STRONG}
    ui.update(changes.pop("ui", {}))
    api = {**ui, **changes.pop("api", {})}
    ui.update(changes)
    api.update(changes)
    return ui, api


ORDER = Action(
    name="order a VM",
    actor="customer",
    ui_route="vm_create",
    ui_url=lambda w: reverse("ui:vm_create"),
    api_route=("vm", "create"),
    api_call=lambda w: ("post", "/api/v1/vms/"),
    job_kind="vm_create",
    accepted=Case(
        "every option",
        lambda w: order(
            w,
            timezone="Europe/Amsterdam",
            first_boot_script="echo hello > /root/hello",
            full_copy=True,
            ui={"network": "203.0.113.10/24", "gateway": "203.0.113.1", "dns": "198.51.100.53", "ssh_keys": KEY},
            api={
                "network": {"address": "203.0.113.10/24", "gateway": "203.0.113.1", "dns": ["198.51.100.53"]},
                "ssh_keys": [KEY],
            },
        ),
    ),
    refused=[
        Case("beyond the quota", lambda w: order(w), setup=quota(max_vms=1)),
        Case("beyond the vCPU quota", lambda w: order(w, vcpus=4), setup=quota(max_vcpus=3)),
        Case("a name the owner already has", lambda w: order(w, name=w.vm.name)),
        Case("a weak password", lambda w: order(w, password="weak")),
        Case("neither password nor key", lambda w: order(w, password="")),
        Case("a disk smaller than the image", lambda w: order(w, disk_gb=1)),
        Case("a bad host name", lambda w: order(w, hostname="-bad-")),
        Case("a bad time zone", lambda w: order(w, timezone="not a zone!")),
        Case(
            "a gateway outside the address's network",
            lambda w: order(
                w,
                ui={"network": "203.0.113.10/24", "gateway": "198.51.100.1"},
                api={"network": {"address": "203.0.113.10/24", "gateway": "198.51.100.1"}},
            ),
        ),
        Case("a bad SSH key", lambda w: order(w, ui={"ssh_keys": "ssh-rsa nope"}, api={"ssh_keys": ["ssh-rsa nope"]})),
        Case("more memory than any host has", lambda w: order(w, memory_mb=262144)),
    ],
)


def vm_change(name, ui_route, api_action, *, accepted, refused, api_path=None, ui_args=(), method="post"):
    """A row for an action on the World's VM, taken by its owner (the customer)."""
    return Action(
        name=name,
        actor="customer",
        ui_route=ui_route,
        ui_url=vm_url(f"ui:{ui_route}", *ui_args),
        api_route=("vm", api_action),
        api_call=api_vm(api_path, method),
        job_kind="vm_delete" if api_action == "destroy" else f"vm_{api_action}",
        accepted=accepted,
        refused=refused,
    )


def power(word, api_action, ui_word=None):
    return vm_change(
        f"{word} a VM",
        "vm_power",
        api_action,
        api_path=word,
        ui_args=[ui_word or word],
        accepted=Case("an active VM", same({})),
        refused=[
            Case("a failed VM", same({}), setup=vm_status(VmStatus.FAILED)),
            Case("a busy VM", same({}), setup=vm_busy),
            Case("a VM on a lost host", same({}), setup=host_lost),
        ],
    )


POWER = [
    power("start", "start"),
    power("stop", "stop"),
    power("reboot", "reboot"),
    power("power-off", "power_off"),
    power("suspend", "suspend", ui_word="pause"),
    power("resume", "resume"),
]

RESIZE = vm_change(
    "resize a VM",
    "vm_resize",
    "resize",
    api_path="resize",
    accepted=Case("bigger", same({"vcpus": 2, "memory_mb": 2048, "disk_gb": 20})),
    refused=[
        Case("beyond the vCPU quota", same({"vcpus": 3, "memory_mb": 1024, "disk_gb": 10}), setup=quota(max_vcpus=2)),
        Case(
            "beyond the disk quota", same({"vcpus": 1, "memory_mb": 1024, "disk_gb": 60}), setup=quota(max_disk_gb=50)
        ),
        Case("a smaller disk", same({"vcpus": 1, "memory_mb": 1024, "disk_gb": 5})),
        Case("more than the host has", same({"vcpus": 1, "memory_mb": 200000, "disk_gb": 10})),
        Case("a busy VM", same({"vcpus": 2, "memory_mb": 1024, "disk_gb": 10}), setup=vm_busy),
        Case("a VM on a lost host", same({"vcpus": 2, "memory_mb": 1024, "disk_gb": 10}), setup=host_lost),
        Case("a VM in rescue mode", same({"vcpus": 2, "memory_mb": 1024, "disk_gb": 10}), setup=in_rescue),
    ],
)


def reinstall(w, **changes):
    ui = {"image": w.image.pk, "password": STRONG, "confirm": "on", **changes}
    api = {key: value for key, value in ui.items() if key != "confirm"}
    if "ssh_keys" in changes:
        api["ssh_keys"] = [changes["ssh_keys"]]
    return ui, api


REINSTALL = vm_change(
    "reinstall a VM",
    "vm_reinstall",
    "reinstall",
    api_path="reinstall",
    accepted=Case("the same image", lambda w: reinstall(w, ssh_keys=KEY)),
    refused=[
        Case("a weak password", lambda w: reinstall(w, password="weak")),
        Case("neither password nor key", lambda w: reinstall(w, password="")),
        Case("a bad SSH key", lambda w: reinstall(w, ssh_keys="ssh-rsa nope")),
        Case("a busy VM", lambda w: reinstall(w), setup=vm_busy),
        Case("a VM on a lost host", lambda w: reinstall(w), setup=host_lost),
        Case("a VM in rescue mode", lambda w: reinstall(w), setup=in_rescue),
    ],
)

PASSWORD = vm_change(
    "reset a VM's root password",
    "vm_password",
    "reset_password",
    api_path="reset-password",
    accepted=Case("a strong password", same({"password": STRONG})),
    refused=[
        Case("a short password", same({"password": "Sh0rt!"})),
        Case("a common password", same({"password": "password123"})),
        Case("a failed VM", same({"password": STRONG}), setup=vm_status(VmStatus.FAILED)),
        Case("a busy VM", same({"password": STRONG}), setup=vm_busy),
        Case("a VM on a lost host", same({"password": STRONG}), setup=host_lost),
        Case("a VM in rescue mode", same({"password": STRONG}), setup=in_rescue),
    ],
)

MAKE_IMAGE = vm_change(
    "make an image of a VM",
    "vm_make_image",
    "make_image",
    api_path="make-image",
    accepted=Case("a new name", same({"name": "snap-1", "visibility": "private"})),
    refused=[
        Case("a name the owner's image has", same({"name": "snap-1", "visibility": "private"}), image_named("snap-1")),
        Case("a bad name", same({"name": "bad name!", "visibility": "private"})),
        Case("public, by a customer", same({"name": "snap-1", "visibility": "public"})),
        Case("a failed VM", same({"name": "snap-1", "visibility": "private"}), setup=vm_status(VmStatus.FAILED)),
        Case("a busy VM", same({"name": "snap-1", "visibility": "private"}), setup=vm_busy),
        Case("a VM on a lost host", same({"name": "snap-1", "visibility": "private"}), setup=host_lost),
        Case("a VM in rescue mode", same({"name": "snap-1", "visibility": "private"}), setup=in_rescue),
    ],
)

DELETE = vm_change(
    "delete a VM",
    "vm_delete",
    "destroy",
    method="delete",
    accepted=Case("a placed VM", lambda w: ({"name": w.vm.name}, {})),
    refused=[Case("a busy VM", lambda w: ({"name": w.vm.name}, {}), setup=vm_busy)],
)

# The same page and route, its backups not kept (docs/backups.md): the API's query parameter.
DELETE_WITH_BACKUPS = Action(
    name="delete a VM and its backups",
    actor="customer",
    ui_route="vm_delete",
    ui_url=vm_url("ui:vm_delete"),
    api_route=("vm", "destroy"),
    api_call=lambda w: ("delete", f"/api/v1/vms/{w.vm.pk}/?keep_backups=false"),
    job_kind="vm_delete",
    accepted=Case("its backups forgotten", lambda w: ({"name": w.vm.name, "keep_backups": "false"}, {})),
    refused=[Case("a busy VM", lambda w: ({"name": w.vm.name, "keep_backups": "false"}, {}), setup=vm_busy)],
)


def vm_suspended(with_owner=False):
    def setup(w):
        now = timezone.now()
        type(w.vm).objects.filter(pk=w.vm.pk).update(
            suspended_at=now,
            suspension_reason="unpaid",
            suspended_with_owner=with_owner,
            power_before_suspension="running",
        )
        if with_owner:
            type(w.customer).objects.filter(pk=w.customer.pk).update(suspended_at=now, suspension_reason="unpaid")

    return setup


def not_suspended(w):
    type(w.vm).objects.filter(pk=w.vm.pk).update(suspended_at=None, suspension_reason="", suspended_with_owner=False)
    type(w.customer).objects.filter(pk=w.customer.pk).update(suspended_at=None, suspension_reason="", terminate_at=None)


def both(*setups):
    return lambda w: [setup(w) for setup in setups]


def terminating(w):
    runner.submit("customer_terminate", type(w.customer).objects.get(pk=w.customer.pk))


def suspend_input(**changes):
    return same({"reason": "invoice 42 unpaid", "mode": "stop", **changes})


def customer_action(name, route, api_action, job_kind, *, accepted, refused, between=None):
    """A row for suspending, unsuspending or terminating the World's customer, by its reseller."""
    return Action(
        name=name,
        actor="reseller",
        ui_route=route,
        ui_url=lambda w: reverse(f"ui:{route}", args=[w.customer.pk]),
        api_route=("user", api_action),
        api_call=lambda w: ("post", f"/api/v1/users/{w.customer.pk}/{api_action}/"),
        job_kind=job_kind,
        accepted=accepted,
        refused=refused,
        between=between,
    )


BILLING = [
    Action(
        name="suspend a VM for non-payment",
        actor="reseller",
        ui_route="vm_billing_suspend",
        ui_url=vm_url("ui:vm_billing_suspend"),
        api_route=("vm", "billing_suspend"),
        api_call=api_vm("billing-suspend"),
        job_kind="vm_billing_suspend",
        accepted=Case("a reason and a mode", suspend_input()),
        refused=[
            Case("an unknown mode", suspend_input(mode="explode")),
            Case("a reason too long", suspend_input(reason="x" * 501)),
            Case("a failed VM", suspend_input(), setup=vm_status(VmStatus.FAILED)),
            Case("a busy VM", suspend_input(), setup=vm_busy),
        ],
        between=not_suspended,
    ),
    Action(
        name="lift a VM's suspension",
        actor="reseller",
        ui_route="vm_billing_unsuspend",
        ui_url=vm_url("ui:vm_billing_unsuspend"),
        api_route=("vm", "billing_unsuspend"),
        api_call=api_vm("billing-unsuspend"),
        job_kind="vm_billing_unsuspend",
        accepted=Case("a suspended VM", same({}), setup=vm_suspended()),
        refused=[
            Case("a VM suspended with its customer", same({}), setup=vm_suspended(with_owner=True)),
            Case("a busy VM", same({}), setup=both(vm_suspended(), vm_busy)),
        ],
        between=vm_suspended(),
    ),
    customer_action(
        "suspend a customer for non-payment",
        "customer_suspend",
        "suspend",
        "customer_suspend",
        accepted=Case("a reason and a mode", suspend_input()),
        refused=[
            Case("an unknown mode", suspend_input(mode="explode")),
            Case("a reason too long", suspend_input(reason="x" * 501)),
        ],
        between=not_suspended,
    ),
    customer_action(
        "lift a customer's suspension",
        "customer_unsuspend",
        "unsuspend",
        "customer_unsuspend",
        accepted=Case("a suspended customer", same({}), setup=vm_suspended(with_owner=True)),
        refused=[Case("a customer being terminated", same({}), setup=both(vm_suspended(with_owner=True), terminating))],
        between=vm_suspended(with_owner=True),
    ),
    customer_action(
        "terminate a suspended customer",
        "customer_terminate",
        "terminate",
        None,
        accepted=Case("a suspended customer", same({}), setup=vm_suspended(with_owner=True)),
        refused=[Case("a customer not suspended", same({}))],
    ),
]


def endpoint_input(**changes):
    return lambda w: (
        {"url": "https://203.0.113.5/{door}", "description": "", "events": ["vm.created"], **changes},
        {"url": "https://203.0.113.5/{door}", "events": ["vm.created"], **changes},
    )


def a_delivery(active=True):
    def setup(w):
        endpoint = Endpoint.objects.create(owner=w.reseller, url="https://203.0.113.5/x", events=["vm.created"])
        event = Event.objects.create(type="vm.created", owner=w.customer, body="{}")
        Delivery.objects.create(endpoint=endpoint, event=event, status="delivered")
        Endpoint.objects.filter(pk=endpoint.pk).update(is_active=active)

    return setup


def first_delivery(w):
    return Delivery.objects.order_by("pk").first().pk


def an_endpoint(w):
    Endpoint.objects.create(owner=w.reseller, url="https://203.0.113.5/old", events=["vm.created"])


def first_endpoint(w):
    return Endpoint.objects.order_by("pk").first().pk


WEBHOOKS = [
    Action(
        name="add a webhook endpoint",
        actor="reseller",
        ui_route="webhook_add",
        ui_url=lambda w: reverse("ui:webhook_add"),
        api_route=("webhook", "create"),
        api_call=lambda w: ("post", "/api/v1/webhooks/"),
        job_kind=None,
        accepted=Case("a public https URL", endpoint_input()),
        refused=[
            Case("a loopback address", endpoint_input(url="http://127.0.0.1:8080/hook")),
            Case("a private address", endpoint_input(url="http://10.0.0.8/hook")),
            Case("no events", endpoint_input(events=[])),
            Case("not http", endpoint_input(url="ftp://203.0.113.5/")),
        ],
    ),
    Action(
        name="change a webhook endpoint",
        actor="reseller",
        ui_route="webhook_edit",
        ui_url=lambda w: reverse("ui:webhook_edit", args=[first_endpoint(w)]),
        api_route=("webhook", "partial_update"),
        api_call=lambda w: ("patch", f"/api/v1/webhooks/{first_endpoint(w)}/"),
        job_kind=None,
        accepted=Case(
            "a new URL, events, turned off",
            endpoint_input(events=["vm.deleted", "traffic.limit_reached"], is_active=False),
            setup=an_endpoint,
        ),
        refused=[
            Case("a loopback address", endpoint_input(url="http://127.0.0.1:8080/hook"), setup=an_endpoint),
            Case("no events", endpoint_input(events=[]), setup=an_endpoint),
        ],
    ),
    Action(
        name="send a webhook delivery again",
        actor="reseller",
        ui_route="webhook_resend",
        ui_url=lambda w: reverse("ui:webhook_resend", args=[first_delivery(w)]),
        api_route=("webhookdelivery", "resend"),
        api_call=lambda w: ("post", f"/api/v1/webhook-deliveries/{first_delivery(w)}/resend/"),
        job_kind=None,
        accepted=Case("a delivery", same({}), setup=a_delivery()),
        refused=[Case("an endpoint turned off", same({}), setup=a_delivery(active=False))],
    ),
]


def traffic_limited(w):
    """The World's VM throttled for passing its traffic limit this month."""
    now = timezone.now()
    TrafficPeriod.objects.update_or_create(
        vm=w.vm,
        month=month_of(now),
        defaults={"reached_at": now, "applied_at": now, "action": "throttle", "lifted_at": None},
    )


def traffic_not_lifted(w):
    TrafficPeriod.objects.filter(vm=w.vm).update(lifted_at=None, lifted_by=None)


TRAFFIC = Action(
    name="lift a VM's traffic limit for the month",
    actor="admin",
    ui_route="vm_traffic_lift",
    ui_url=vm_url("ui:vm_traffic_lift"),
    api_route=("vm", "lift_traffic_limit"),
    api_call=api_vm("lift-traffic-limit"),
    job_kind="vm_traffic_unthrottle",
    accepted=Case("a throttled VM", same({}), setup=traffic_limited),
    refused=[Case("a busy VM", same({}), setup=both(traffic_limited, vm_busy))],
    between=traffic_not_lifted,
)


def back_on_the_lost_host(w):
    """Undo the first door's recovery: the VM on its lost host again, the debt forgotten."""
    type(w.vm).objects.filter(pk=w.vm.pk).update(host=w.host)
    OwedCleanup.objects.filter(vm=w.vm).delete()


RECOVER = Action(
    name="recover a VM of a lost host on another host",
    actor="admin",
    ui_route="vm_recover",
    ui_url=vm_url("ui:vm_recover"),
    api_route=("vm", "recover"),
    api_call=api_vm("recover"),
    job_kind="vm_recover",
    accepted=Case(
        "confirmed, with a spare host",
        lambda w: ({"confirm_host_down": "on"}, {"confirm_host_down": True}),
        setup=both(host_lost, spare_host),
    ),
    refused=[
        Case("not confirmed", same({}), setup=both(host_lost, spare_host)),
        Case("a host that is online", lambda w: ({"confirm_host_down": "on"}, {"confirm_host_down": True})),
        Case(
            "no other host with room",
            lambda w: ({"confirm_host_down": "on"}, {"confirm_host_down": True}),
            setup=host_lost,
        ),
        Case(
            "a busy VM",
            lambda w: ({"confirm_host_down": "on"}, {"confirm_host_down": True}),
            setup=both(host_lost, spare_host, vm_busy),
        ),
    ],
    between=back_on_the_lost_host,
)


def vm_stopped(w):
    type(w.vm).objects.filter(pk=w.vm.pk).update(power_state="stopped")


def vm_paused(w):
    type(w.vm).objects.filter(pk=w.vm.pk).update(power_state="paused")


def spare_in_maintenance(w):
    spare_host(w)
    type(w.host).objects.filter(name="spare").update(status="maintenance")


def to_host(which):
    """The form and the body naming a host by id: "spare" or the VM's own ("own")."""

    def inputs(w):
        host = w.host if which == "own" else type(w.host).objects.get(name=which)
        return {"host": str(host.pk)}, {"host": host.pk}

    return inputs


MIGRATE = Action(
    name="migrate a VM to another host",
    actor="admin",
    ui_route="vm_migrate",
    ui_url=vm_url("ui:vm_migrate"),
    api_route=("vm", "migrate"),
    api_call=api_vm("migrate"),
    job_kind="vm_migrate",
    accepted=Case("running (live), to the spare host", to_host("spare"), setup=spare_host),
    refused=[
        Case("a paused VM", to_host("spare"), setup=both(vm_paused, spare_host)),
        Case("to its own host", to_host("own"), setup=both(vm_stopped, spare_host)),
        Case("to a host in maintenance", to_host("spare"), setup=both(vm_stopped, spare_in_maintenance)),
        Case("no other host, placement choosing", same({}), setup=vm_stopped),
        Case("a VM on a lost host", same({}), setup=both(vm_stopped, host_lost, spare_host)),
        Case("a busy VM", to_host("spare"), setup=both(vm_stopped, spare_host, vm_busy)),
        Case("a VM in rescue mode", to_host("spare"), setup=both(spare_host, in_rescue)),
    ],
)


def no_rescue_system(w):
    """The panel has no rescue system: its kernel is not there (tests/conftest.py's rescue_system
    made it for this test)."""
    Path(settings.VMM_RESCUE_KERNEL).unlink()


RESCUE = vm_change(
    "boot a VM into rescue mode",
    "vm_rescue",
    "rescue",
    api_path="rescue",
    accepted=Case("an active VM", same({})),
    refused=[
        Case("a VM in rescue mode already", same({}), setup=in_rescue),
        Case("a suspended VM", same({}), setup=vm_suspended()),
        Case("a failed VM", same({}), setup=vm_status(VmStatus.FAILED)),
        Case("a busy VM", same({}), setup=vm_busy),
        Case("a VM on a lost host", same({}), setup=host_lost),
        Case("a panel without a rescue system", same({}), setup=no_rescue_system),
    ],
)

UNRESCUE = vm_change(
    "take a VM out of rescue mode",
    "vm_unrescue",
    "unrescue",
    api_path="unrescue",
    accepted=Case("a VM in rescue mode", same({}), setup=in_rescue),
    refused=[
        Case("a VM not in rescue mode", same({})),
        Case("a busy VM", same({}), setup=both(in_rescue, vm_busy)),
        Case("a VM on a lost host", same({}), setup=both(in_rescue, host_lost)),
    ],
)

ACTIONS = [
    ORDER,
    *POWER,
    RESIZE,
    REINSTALL,
    PASSWORD,
    MAKE_IMAGE,
    DELETE,
    DELETE_WITH_BACKUPS,
    *BILLING,
    *WEBHOOKS,
    TRAFFIC,
    RECOVER,
    MIGRATE,
    RESCUE,
    UNRESCUE,
]

# Pages of the web UI that change nothing (GET pages, and the session's own plumbing).
UI_READ_ONLY = {
    "dashboard": "the start page",
    "login": "signing in (Django's auth)",
    "login_code": "signing in: the second factor",
    "logout": "signing out",
    "set_language": "the page language, kept in a cookie",
    "host_list": "a list",
    "host_detail": "a page",
    "cluster_list": "a list",
    "cluster_detail": "a page",
    "image_list": "a list",
    "vm_list": "a list",
    "vm_detail": "a page",
    "vm_console": "the console page (its tickets: vm_console_ticket, tests/doors/test_console_parity.py)",
    "vm_jobs": "the VM page's job table",
    "job_list": "a list",
    "job_detail": "a page",
    "user_list": "a list",
    "user_detail": "a page",
    "plan_list": "a list",
    "warm_pool_list": "a list (staff: warm pools and their standbys' counts)",
    "address_list": "a list (and the pools' usage for staff)",
    "webhook_list": "a list",
    "webhook_detail": "a page (an endpoint and its delivery log)",
    "vm_backups": "a list (the VM's backups; its actions: tests/doors/test_backup_parity.py)",
    "backup_repository_list": "a list",
    "kept_backup_list": "a list (backups of deleted VMs; their actions: tests/doors/test_backup_parity.py)",
    "backup_file_list": "a list (the files the user took out of backups)",
    "backup_file_detail": "a page (a file taken out of a backup, its download link)",
    "backup_file_download": "a download (GET /api/v1/backup-files/{id}/download/ in the API)",
}
# Actions one door has and the other has not yet, with the reason.
UI_ONLY = {
    "notice_settings": "the signed-in user's own e-mail language and optional notices; the API sets them with "
    "PATCH /api/v1/users/{id}/ {language, email_notices}",
    "two_factor": "one's own two-factor sign-in is set up in the browser (a QR code for a phone); API tokens never "
    "ask for a second factor",
    "password_change": "the signed-in user's own password, asked with the old one (Django's view); the API "
    "sets it with PATCH /api/v1/users/{id}/",
}
API_ONLY = {
    ("user", "destroy"): "deleting a user (refused while it has VMs, images or customers) is left to the API and "
    "the admin; the pages block a user instead",
    ("plan", "update"): "PUT: the same service call as PATCH with every field given (the plan page's row is PATCH)",
    ("warmpool", "update"): "PUT: the same service call as PATCH (the warm pool page's row is PATCH)",
    ("sshkey", "partial_update"): "renaming or replacing a saved key: on the page one deletes it and adds it again",
}
