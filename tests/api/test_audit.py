"""The audit log records who changed what under which request id; staff search it."""

import pytest
from auditlog.models import LogEntry

from apps.vms.models import VirtualMachine
from tests.api.conftest import order

pytestmark = pytest.mark.django_db


def test_an_order_through_the_api_is_logged_with_its_actor_and_request_id(api, customer, host, ready_image):
    response = api(customer).post("/api/v1/vms/", order(ready_image), HTTP_X_REQUEST_ID="req-audit-0001")
    assert response.status_code == 202
    vm = VirtualMachine.objects.get()
    entry = LogEntry.objects.get_for_object(vm).get(action=LogEntry.Action.CREATE)
    assert (entry.actor, entry.cid) == (customer, "req-audit-0001")


def test_staff_search_the_audit_log_by_request_id_and_model(api, admin_user, customer, host, ready_image):
    api(customer).post("/api/v1/vms/", order(ready_image), HTTP_X_REQUEST_ID="req-audit-0002")
    client = api(admin_user)
    found = client.get("/api/v1/audit/?request_id=req-audit-0002&model=vms.virtualmachine").json()["results"]
    assert [(e["action"], e["object_repr"], e["actor"]) for e in found] == [("create", "web-1", customer.pk)]
    assert client.get("/api/v1/audit/?search=web-1").json()["results"]


def test_the_audit_log_is_for_staff_only(api, reseller):
    assert api(reseller).get("/api/v1/audit/").status_code == 403


def test_secrets_never_reach_the_audit_log(api, admin_user):
    api(admin_user).post("/api/v1/users/", {"username": "new-1", "password": "a-L0ng-passw0rd"})
    changes = str(LogEntry.objects.filter(object_repr="new-1").values_list("changes", flat=True).first())
    assert "password" not in changes


def test_staff_search_the_audit_log_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/auditlog/logentry/?q=web").status_code == 200
