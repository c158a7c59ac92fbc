"""Who sees which addresses (API, web UI), search by address, the pools' usage for staff,
and the reverse DNS zone fragment."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from apps.ipam.models import Address
from apps.vms.create import create_vm
from tests.api.conftest import client_for

ORDER = {"vcpus": 1, "memory_mb": 512, "disk_gb": 4, "password": "Correct-Horse-7"}


@pytest.fixture
def two_vms(customer, other_customer, ready_image, v4_pool, v6_pool):
    mine, _job = create_vm(customer, image=ready_image, name="mine", **ORDER)
    theirs, _job = create_vm(other_customer, image=ready_image, name="theirs", **ORDER)
    return mine, theirs


def listed(user, query=""):
    response = client_for(user).get(f"/api/v1/addresses/?page_size=200{query}")
    assert response.status_code == 200
    return sorted(row["address"] for row in response.json()["results"])


def test_a_customer_sees_only_its_vms_addresses_and_no_pool(customer, reseller, admin_user, two_vms):
    assert listed(customer) == ["198.51.100.10", "2001:db8::1"]
    assert listed(reseller) == ["198.51.100.10", "2001:db8::1"]  # its customer's
    assert len(listed(admin_user, "&search=198.51.100.")) == 5  # every row, free ones too
    theirs = Address.objects.get(address="198.51.100.11")
    assert client_for(customer).get(f"/api/v1/addresses/{theirs.pk}/").status_code == 404
    assert client_for(customer).get("/api/v1/pools/").status_code == 403
    pools = client_for(admin_user).get("/api/v1/pools/").json()["results"]
    assert {p["name"]: p["usage"]["used"] for p in pools} == {"v4": 2, "v6": 2}


def test_search_by_address(admin_user, two_vms):
    assert listed(admin_user, "&search=198.51.100.1") == [f"198.51.100.{i}" for i in range(10, 15)]
    assert listed(admin_user, f"&vm={two_vms[1].pk}") == ["198.51.100.11", "2001:db8:0:1::1"]


def test_the_web_pages_show_the_same_scope(customer, admin_user, two_vms):
    mine, theirs = two_vms
    page = Client()
    page.force_login(customer)
    text = page.get(reverse("ui:address_list")).content.decode()
    assert "198.51.100.10" in text and "198.51.100.11" not in text and "data-pool" not in text
    assert "198.51.100.10/24" in page.get(reverse("ui:vm_detail", args=[mine.pk])).content.decode()
    theirs_row = Address.objects.get(address="198.51.100.11")
    assert page.get(reverse("ui:address_reverse", args=[theirs_row.pk])).status_code == 404
    page.force_login(admin_user)
    text = page.get(reverse("ui:address_list") + "?q=198.51.100.11").content.decode()
    assert 'data-pool="v4"' in text and "198.51.100.11/24" in text and "198.51.100.12/24" not in text
    assert '<span class="usage-num" data-usage="used">2 / 5</span>' in text


def test_the_zone_fragment_has_a_ptr_per_named_address(customer, two_vms, tmp_path):
    Address.objects.filter(address="198.51.100.10").update(reverse_name="mail.example.com.")
    Address.objects.filter(address="2001:db8::1").update(reverse_name="mail.example.com.")
    out = io.StringIO()
    call_command("export_reverse_zone", "--pool", "v4", "--ttl", "600", stdout=out)
    assert out.getvalue().splitlines()[1:] == ["10.100.51.198.in-addr.arpa. 600 IN PTR mail.example.com."]
    target = tmp_path / "ptr.zone"
    call_command("export_reverse_zone", "--output", str(target), stdout=io.StringIO())
    lines = target.read_text().splitlines()
    assert lines[2].startswith("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 3600 IN PTR")
    with pytest.raises(CommandError):
        call_command("export_reverse_zone", "--pool", "nope")
