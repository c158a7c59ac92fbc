import pytest
from django.urls import reverse

from apps.hosts.models import Host
from apps.jobs.models import Job


@pytest.mark.parametrize("name", ["ui:host_list", "ui:host_add"])
def test_customers_do_not_find_the_host_pages(as_customer, test_host, name):
    assert as_customer.get(reverse(name)).status_code == 404
    assert as_customer.get(reverse("ui:host_detail", args=[test_host.pk])).status_code == 404


def test_staff_see_a_hosts_health_capacity_and_vms(as_admin, sized_host, my_vm):
    Host.objects.filter(pk=sized_host.pk).update(status="unreachable", status_reason="Connection refused by 10.0.0.9")

    page = as_admin.get(reverse("ui:host_detail", args=[sized_host.pk])).content.decode()

    assert "Unreachable" in page and "Connection refused by 10.0.0.9" in page
    assert "mine-1" in page
    assert "1 / 16" in page  # vCPUs: one allocated of 4 CPUs times the overcommit of 4


def test_adding_a_host_starts_its_check_and_opens_the_live_job(as_admin, admin_user):
    response = as_admin.post(
        reverse("ui:host_add"),
        {
            "name": "kvm-2",
            "uri": "qemu+ssh://root@203.0.113.7/system",
            "domain_type": "kvm",
            "storage_pool": "vmmanager",
            "storage_path": "/var/lib/vmmanager/pool",
            "network": "default",
        },
        HTTP_X_REQUEST_ID="ui-host-add-0001",
    )

    host = Host.objects.get(name="kvm-2")
    job = Job.objects.get(kind="host_refresh", target_id=host.pk)
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])
    assert job.actor == admin_user and job.request_id == "ui-host-add-0001"
    assert job.status == "queued"  # the request only queued it: a worker connects


def test_a_malformed_uri_is_shown_on_its_field_and_nothing_is_created(as_admin):
    response = as_admin.post(
        reverse("ui:host_add"),
        {"name": "bad", "uri": "http://example.com", "domain_type": "kvm", "storage_pool": "p", "storage_path": "/p"},
    )
    assert response.status_code == 200
    assert "uri" in response.context["form"].errors
    assert not Host.objects.filter(name="bad").exists()


def test_check_now_queues_another_check(as_admin, sized_host):
    response = as_admin.post(reverse("ui:host_refresh", args=[sized_host.pk]))
    job = Job.objects.get(kind="host_refresh")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])


def test_staff_change_a_hosts_settings_on_its_edit_page(as_admin, sized_host):
    page = as_admin.get(reverse("ui:host_detail", args=[sized_host.pk])).content.decode()
    assert reverse("ui:host_edit", args=[sized_host.pk]) in page
    form = as_admin.get(reverse("ui:host_edit", args=[sized_host.pk])).context["form"]
    data = {**form.initial, "storage_pool": "fast"}

    response = as_admin.post(reverse("ui:host_edit", args=[sized_host.pk]), data)

    assert response["Location"] == reverse("ui:host_detail", args=[sized_host.pk])
    sized_host.refresh_from_db()
    assert sized_host.storage_pool == "fast" and sized_host.name == "test-host"


def test_a_uri_another_host_has_is_refused_on_its_field(as_admin, sized_host):
    other = Host.objects.create(name="kvm-2", uri="qemu+ssh://root@203.0.113.7/system")
    data = {"name": "kvm-2", "uri": sized_host.uri, "domain_type": "kvm", "storage_pool": "p", "storage_path": "/p"}

    response = as_admin.post(reverse("ui:host_edit", args=[other.pk]), data)

    assert list(response.context["form"].errors) == ["uri"]
    other.refresh_from_db()
    assert other.uri == "qemu+ssh://root@203.0.113.7/system"


def test_customers_do_not_find_the_host_edit_page(as_customer, test_host):
    assert as_customer.get(reverse("ui:host_edit", args=[test_host.pk])).status_code == 404
