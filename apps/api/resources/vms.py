"""/api/v1/vms/: the caller's VMs (tenancy-scoped). Ordering one and every action answer
202 with the job that does the work; nothing here talks to a hypervisor.

Every rule (tenancy, role, quota, state, input validity) is the services' (apps.vms.create,
apps.vms.changes), which the web UI calls too; this module parses shapes and answers."""

from django.db.models import Prefetch
from django.urls import get_script_prefix
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.api.base import ApiViewSet, accepted
from apps.api.idempotency import idempotent
from apps.api.resources import vm_inputs
from apps.api.resources.vm_backups import BackupActions
from apps.api.resources.vm_snapshots import SnapshotActions
from apps.stats.traffic import month_of
from apps.traffic import services as traffic_service
from apps.traffic.models import TrafficPeriod, TrafficState
from apps.vms import addresses, changes, consoles, migration, recovery, rescue, suspension
from apps.vms.create import create_vm
from apps.vms.filtersets import VmFilterSet
from apps.vms.models import VirtualMachine
from apps.vms.selectors import visible_vms, with_cleanup_pending


class TrafficSerializer(serializers.Serializer):
    """A VM's traffic in one billing month (docs/traffic.md)."""

    month = serializers.CharField(help_text="YYYY-MM, the month in the provider's billing time zone.")
    rx_bytes = serializers.IntegerField(help_text="Received by the VM (in).")
    tx_bytes = serializers.IntegerField(help_text="Sent by the VM (out).")
    used_bytes = serializers.IntegerField(help_text="In + out: what the limit counts.")
    limit_bytes = serializers.IntegerField(allow_null=True, help_text="The plan's monthly limit; null: none.")
    state = serializers.ChoiceField(choices=TrafficState.choices)
    action = serializers.CharField(allow_blank=True, help_text="What passing the limit does: throttle or suspend.")
    synced_at = serializers.DateTimeField(allow_null=True, help_text="When the figures were last updated.")


def traffic_data(usage):
    return {**usage.as_dict(), "synced_at": _datetime(usage.synced_at)}


class VmSerializer(serializers.ModelSerializer):
    owner_username = serializers.CharField(source="owner.username", read_only=True)
    host_name = serializers.CharField(source="host.name", read_only=True, allow_null=True, default=None)
    image_name = serializers.CharField(source="image.name", read_only=True, allow_null=True, default=None)
    cleanup_pending = serializers.BooleanField(
        read_only=True, help_text="A failed operation still owes the host a clean-up (done when the host is back)."
    )
    traffic = TrafficSerializer(read_only=True, help_text="This month's traffic (GET .../traffic/ for past months).")
    host_state = serializers.ChoiceField(
        choices=["online", "unreachable", "maintenance"],
        read_only=True,
        allow_null=True,
        help_text="The status of the VM's host (null: not placed). While it is `unreachable` the VM's "
        "`power_state` is only the last one known, and every action but delete is refused.",
    )

    rescue_since = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Since when the VM boots the rescue system, its disk attached (null: its own system; "
        "POST .../rescue/ and .../unrescue/, docs/rescue.md).",
    )

    class Meta:
        model = VirtualMachine
        fields = [
            "id", "uuid", "name", "owner", "owner_username", "host", "host_name", "image", "image_name",
            "vcpus", "memory_mb", "disk_gb", "hostname", "ip_addresses", "power_state", "status",
            "current_job", "state_synced_at", "created_at", "updated_at", "cleanup_pending",
            "suspended_at", "suspension_reason", "plan", "traffic", "host_state", "rescue_since",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, vm):
        """The same fields as declared, built directly: listing VMs is the API's hottest
        call and DRF's per-field machinery costs more than the query (bench/api.py)."""
        return {
            "id": vm.pk,
            "uuid": str(vm.uuid),
            "name": vm.name,
            "owner": vm.owner_id,
            "owner_username": vm.owner.username,
            "host": vm.host_id,
            "host_name": vm.host.name if vm.host_id else None,
            "image": vm.image_id,
            "image_name": vm.image.name if vm.image_id else None,
            "vcpus": vm.vcpus,
            "memory_mb": vm.memory_mb,
            "disk_gb": vm.disk_gb,
            "hostname": vm.hostname,
            "ip_addresses": vm.ip_addresses,
            "power_state": vm.power_state,
            "status": vm.status,
            "current_job": str(vm.current_job_id) if vm.current_job_id else None,
            "state_synced_at": _datetime(vm.state_synced_at),
            "created_at": _datetime(vm.created_at),
            "updated_at": _datetime(vm.updated_at),
            "cleanup_pending": _cleanup_pending(vm),
            "suspended_at": _datetime(vm.suspended_at),
            "suspension_reason": vm.suspension_reason,
            "plan": vm.plan_id,
            "traffic": traffic_data(traffic_service.usage(vm, periods=getattr(vm, "current_traffic", None))),
            "host_state": vm.host.status if vm.host_id else None,
            "rescue_since": _datetime(vm.rescue_since),
        }


# The list's columns, read as plain values (`QuerySet.values`): no model instances, which
# were five per VM (with its owner, host, image and plan) and the larger part of a page's
# time (docs/api.md, "Performance"). "pk" is what the cursor's default ordering reads; the
# clean-ups owed (with_cleanup_pending's EXISTS) and this month's traffic row
# (traffic_service.with_current_traffic's LEFT JOIN) come in the same query.
ROW_COLUMNS = (
    "pk", "id", "uuid", "name", "owner", "owner__username", "host", "host__name", "host__status", "image",
    "image__name", "vcpus", "memory_mb", "disk_gb", "hostname", "ip_addresses", "power_state", "status",
    "current_job", "state_synced_at", "created_at", "updated_at", "suspended_at", "suspension_reason", "plan",
    "plan__traffic_limit_gb", "plan__traffic_action", "cleanup_pending", "rescue_since",
    *traffic_service.CURRENT_COLUMNS,
)  # fmt: skip


def listed_vms(user, month):
    """The VMs `user` sees, ready to be read as ROW_COLUMNS: one query for a whole page."""
    return traffic_service.with_current_traffic(with_cleanup_pending(visible_vms(user)), month)


def vm_rows(rows, month):
    """The list's answer for a page of `rows` (dicts of ROW_COLUMNS, read from listed_vms
    with the same `month`): the same fields as VmSerializer's, with no further query. Two
    small queries for the page's traffic and clean-ups were measured dearer than the bigger
    page query once it was read as values (docs/api.md, "Performance")."""
    stamp = _stamper()
    return [
        {
            "id": row["id"],
            "uuid": str(row["uuid"]),
            "name": row["name"],
            "owner": row["owner"],
            "owner_username": row["owner__username"],
            "host": row["host"],
            "host_name": row["host__name"],
            "image": row["image"],
            "image_name": row["image__name"],
            "vcpus": row["vcpus"],
            "memory_mb": row["memory_mb"],
            "disk_gb": row["disk_gb"],
            "hostname": row["hostname"],
            "ip_addresses": row["ip_addresses"],
            "power_state": row["power_state"],
            "status": row["status"],
            "current_job": str(row["current_job"]) if row["current_job"] else None,
            "state_synced_at": stamp(row["state_synced_at"]),
            "created_at": stamp(row["created_at"]),
            "updated_at": stamp(row["updated_at"]),
            "cleanup_pending": row["cleanup_pending"],
            "suspended_at": stamp(row["suspended_at"]),
            "suspension_reason": row["suspension_reason"],
            "plan": row["plan"],
            "traffic": _traffic(traffic_service.usage_of_row(row, month), stamp),
            "host_state": row["host__status"],
            "rescue_since": stamp(row["rescue_since"]),
        }
        for row in rows
    ]


def _traffic(usage, stamp):
    return {
        "month": usage.month.strftime("%Y-%m"),
        "rx_bytes": usage.rx_bytes,
        "tx_bytes": usage.tx_bytes,
        "used_bytes": usage.used_bytes,
        "limit_bytes": usage.limit_bytes,
        "state": usage.state,
        "action": usage.action,
        "synced_at": stamp(usage.synced_at),
    }


def _stamper():
    """_datetime with the request's time zone looked up once (not once per value)."""
    zone = timezone.get_current_timezone()

    def stamp(value):
        if value is None:
            return None
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return stamp


def _cleanup_pending(vm):
    """From the queryset's annotation (with_cleanup_pending: no query per VM), else asked."""
    pending = getattr(vm, "cleanup_pending", None)
    return vm.has_pending_cleanup() if pending is None else pending


def _datetime(value):
    """What DRF's DateTimeField renders (ISO 8601 in the current zone, UTC as Z), faster."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


JobAccepted = inline_serializer("JobAccepted", {"job": serializers.DictField()})
VmAccepted = inline_serializer("VmAccepted", {"vm": VmSerializer(), "job": serializers.DictField()})
VmSuspension = inline_serializer("VmSuspension", {"vm": VmSerializer(), "job": serializers.DictField(allow_null=True)})
POWER = extend_schema(request=None, responses={202: JobAccepted})


class VmViewSet(SnapshotActions, BackupActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """VMs: list (filters state/status/host/owner/image, `search` by name), order, act."""

    serializer_class = VmSerializer
    filterset_class = VmFilterSet
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "id"]

    queryset = VirtualMachine.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        this_month = TrafficPeriod.objects.filter(month=month_of(timezone.now()))
        return (
            with_cleanup_pending(visible_vms(self.request.user))
            .select_related("owner", "host", "image", "plan")
            .prefetch_related(Prefetch("traffic_periods", queryset=this_month, to_attr="current_traffic"))
        )

    def list(self, request):
        """A page of VMs read as plain values (vm_rows), not as model instances through the
        serializer (bench/api.py, docs/api.md "Performance")."""
        month = month_of(timezone.now())
        vms = self.filter_queryset(listed_vms(request.user, month)).values(*ROW_COLUMNS)
        return self.get_paginated_response(vm_rows(self.paginate_queryset(vms), month))

    def _power(self, request, action):
        job = changes.power_vm(self.get_object(), action, actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(request=vm_inputs.VmOrderSerializer, responses={202: VmAccepted})
    @idempotent
    def create(self, request):
        """Order a VM: 202 with the VM (status creating) and its deploy job."""
        order = self._valid(vm_inputs.VmOrderSerializer)
        vm, job = create_vm(**order, actor=request.user, request_id=self.request_id)
        vm = self.get_queryset().get(pk=vm.pk)
        return accepted(request, job, vm=VmSerializer(vm, context=self.get_serializer_context()).data)

    @POWER
    @action(detail=True, methods=["post"])
    @idempotent
    def start(self, request, pk=None):
        return self._power(request, "start")

    @POWER
    @action(detail=True, methods=["post"])
    @idempotent
    def stop(self, request, pk=None):
        return self._power(request, "stop")

    @POWER
    @action(detail=True, methods=["post"])
    @idempotent
    def reboot(self, request, pk=None):
        return self._power(request, "reboot")

    @POWER
    @action(detail=True, methods=["post"], url_path="power-off")
    @idempotent
    def power_off(self, request, pk=None):
        return self._power(request, "power-off")

    @POWER
    @action(detail=True, methods=["post"])
    @idempotent
    def suspend(self, request, pk=None):
        return self._power(request, "suspend")

    @POWER
    @action(detail=True, methods=["post"])
    @idempotent
    def resume(self, request, pk=None):
        return self._power(request, "resume")

    @POWER
    @action(detail=True, methods=["post"])
    @idempotent
    def rescue(self, request, pk=None):
        """Boot the VM into the rescue system, its disk attached as /dev/vda (docs/rescue.md)."""
        job = rescue.enter_rescue(self.get_object(), actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @POWER
    @action(detail=True, methods=["post"])
    @idempotent
    def unrescue(self, request, pk=None):
        """Leave rescue mode: the rescue system shut down, the VM's own system booted."""
        job = rescue.leave_rescue(self.get_object(), actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(
        request=None,
        responses={202: JobAccepted, 204: None},
        parameters=[
            OpenApiParameter(
                "keep_backups",
                bool,
                required=False,
                description="true (the default): the VM's backups stay its owner's, listed as backups of deleted "
                "VMs (GET /api/v1/kept-backups/); false: the delete job forgets them in their repositories.",
            )
        ],
    )
    @idempotent
    def destroy(self, request, pk=None):
        """Delete the VM and its disk: 202 with the vm_delete job (204 for a VM never placed)."""
        vm = self.get_object()
        query = vm_inputs.DeleteQuerySerializer(data=request.query_params.dict())  # "" is refused too
        query.is_valid(raise_exception=True)
        keep = query.validated_data["keep_backups"] == "true"
        job = changes.delete_vm(vm, keep_backups=keep, actor=request.user, request_id=self.request_id)
        return accepted(request, job) if job else Response(status=204)

    @extend_schema(request=vm_inputs.ReinstallSerializer, responses={202: JobAccepted})
    @action(detail=True, methods=["post"])
    @idempotent
    def reinstall(self, request, pk=None):
        vm = self.get_object()  # 404 before the body is judged: existence does not leak
        data = self._valid(vm_inputs.ReinstallSerializer)
        job = changes.reinstall_vm(vm, **data, actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(request=vm_inputs.PasswordSerializer, responses={202: JobAccepted})
    @action(detail=True, methods=["post"], url_path="reset-password")
    @idempotent
    def reset_password(self, request, pk=None):
        vm = self.get_object()
        data = self._valid(vm_inputs.PasswordSerializer)
        job = changes.reset_password(vm, data["password"], actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(request=vm_inputs.ResizeSerializer, responses={202: JobAccepted})
    @action(detail=True, methods=["post"])
    @idempotent
    def resize(self, request, pk=None):
        vm = self.get_object()
        data = self._valid(vm_inputs.ResizeSerializer)
        job = changes.resize_vm(vm, **data, actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(request=vm_inputs.MakeImageSerializer, responses={202: JobAccepted})
    @action(detail=True, methods=["post"], url_path="make-image")
    @idempotent
    def make_image(self, request, pk=None):
        vm = self.get_object()
        data = self._valid(vm_inputs.MakeImageSerializer)
        job = changes.make_image(
            vm, data["name"], visibility=data["visibility"], actor=request.user, request_id=self.request_id
        )
        return accepted(request, job)

    @extend_schema(request=vm_inputs.RecoverSerializer, responses={202: JobAccepted})
    @action(detail=True, methods=["post"])
    @idempotent
    def recover(self, request, pk=None):
        """Re-create the VM from its image on another host while its host is lost (staff,
        after confirming the host is really down): 202 with the vm_recover job
        (docs/outages.md, "Recovery of a lost host's VMs")."""
        vm = self.get_object()
        data = self._valid(vm_inputs.RecoverSerializer)
        job = recovery.recover_vm(vm, **data, actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(request=vm_inputs.MigrateSerializer, responses={202: JobAccepted})
    @action(detail=True, methods=["post"])
    @idempotent
    def migrate(self, request, pk=None):
        """Move the stopped VM to another host (staff): to `host`, or where placement
        chooses. 202 with the vm_migrate job (docs/migration.md)."""
        vm = self.get_object()
        data = self._valid(vm_inputs.MigrateSerializer)
        job = migration.migrate_vm(vm, host=data["host"], actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(request=vm_inputs.AddAddressSerializer, responses={202: JobAccepted})
    @action(detail=True, methods=["post"], url_path="addresses")
    @idempotent
    def add_address(self, request, pk=None):
        """One more public address from a pool of the VM's network (staff, or the owner's
        reseller): 202 with the vm_address_add job (docs/addresses.md, "Extra addresses")."""
        vm = self.get_object()
        data = self._valid(vm_inputs.AddAddressSerializer)
        job = addresses.add_address(vm, pool=data["pool"] or None, actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(request=None, responses={202: JobAccepted})
    @action(detail=True, methods=["delete"], url_path=r"addresses/(?P<address_id>[0-9]{1,12})")
    @idempotent
    def remove_address(self, request, pk=None, address_id=None):
        """Take a public address from the VM: 202 with the vm_address_remove job."""
        vm = self.get_object()
        job = addresses.remove_address(vm, int(address_id), actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(request=vm_inputs.SuspendSerializer, responses={200: VmSuspension, 202: VmSuspension})
    @action(detail=True, methods=["post"], url_path="billing-suspend")
    @idempotent
    def billing_suspend(self, request, pk=None):
        """Suspend the VM for non-payment (staff, or its owner's reseller): 202 with the job
        that takes it down; 200 without a job if it already is suspended (docs/billing.md)."""
        vm = self.get_object()
        data = self._valid(vm_inputs.SuspendSerializer)
        job = suspension.suspend_vm(vm, **data, actor=request.user, request_id=self.request_id)
        return self._suspension(request, vm.pk, job)

    @extend_schema(request=None, responses={200: VmSuspension, 202: VmSuspension})
    @action(detail=True, methods=["post"], url_path="billing-unsuspend")
    @idempotent
    def billing_unsuspend(self, request, pk=None):
        """Lift the VM's suspension: 202 with the job that brings back its power state; 200
        without a job if it is not suspended."""
        job = suspension.unsuspend_vm(self.get_object(), actor=request.user, request_id=self.request_id)
        return self._suspension(request, pk, job)

    @extend_schema(
        request=None,
        responses={200: inline_serializer("VmTrafficHistory", {"months": TrafficSerializer(many=True)})},
    )
    @action(detail=True, methods=["get"])
    def traffic(self, request, pk=None):
        """The VM's traffic by month, this month first (docs/traffic.md)."""
        return Response({"months": [traffic_data(u) for u in traffic_service.history(self.get_object())]})

    @extend_schema(request=None, responses={200: VmSuspension, 202: VmSuspension})
    @action(detail=True, methods=["post"], url_path="lift-traffic-limit")
    @idempotent
    def lift_traffic_limit(self, request, pk=None):
        """Lift the VM's traffic limit for this month (staff): 202 with the job that undoes
        the limit's action; 200 without a job when there was nothing to undo."""
        job = traffic_service.lift_traffic_limit(self.get_object(), actor=request.user, request_id=self.request_id)
        return self._suspension(request, pk, job)

    def _suspension(self, request, pk, job):
        vm = self.get_queryset().get(pk=pk)
        data = VmSerializer(vm, context=self.get_serializer_context()).data
        return accepted(request, job, vm=data) if job else Response({"vm": data, "job": None})

    @extend_schema(
        request=vm_inputs.ConsoleSerializer,
        responses={
            201: inline_serializer(
                "ConsoleTicket",
                {
                    "kind": serializers.CharField(),
                    "ticket": serializers.CharField(),
                    "url": serializers.CharField(help_text="The websocket to open with it (ws:// or wss://)."),
                    "expires_at": serializers.DateTimeField(),
                    "vnc_password": serializers.CharField(required=False),
                },
            )
        },
    )
    @action(detail=True, methods=["post"])
    def console(self, request, pk=None):
        """A one-time ticket (valid for seconds) and the websocket URL of the VM's console:
        raw serial bytes both ways, or VNC (RFB) for `kind` "vnc" (docs/console.md)."""
        vm = self.get_object()
        data = self._valid(vm_inputs.ConsoleSerializer)
        session, ticket = consoles.open_console(
            vm, data["kind"], actor=request.user, address=request.META.get("REMOTE_ADDR"), bearer=True
        )
        scheme = "wss" if request.is_secure() else "ws"
        url = f"{scheme}://{request.get_host()}{get_script_prefix()}{consoles.socket_path(session, ticket)}"
        body = {"kind": session.kind, "ticket": ticket, "url": url, "expires_at": session.expires_at}
        if session.kind == "vnc":
            body["vnc_password"] = consoles.vnc_password(vm)
        return Response(body, status=201)

    def _vm_body(self, vm):
        """The VM as the API shows it (a new VM from a backup, apps/api/resources/vm_backups.py)."""
        vm = self.get_queryset().get(pk=vm.pk)
        return VmSerializer(vm, context=self.get_serializer_context()).data

    def _valid(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        if hasattr(serializer, "to_order"):
            return serializer.to_order()
        return dict(serializer.validated_data)
