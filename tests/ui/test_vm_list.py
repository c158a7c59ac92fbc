from django.urls import reverse

from apps.vms.models import PowerState
from tests.ui.conftest import make_vm


def names(response):
    return [vm.name for vm in response.context["page"]]


def test_a_customer_lists_only_their_own_vms(as_customer, my_vm, their_vm):
    assert names(as_customer.get(reverse("ui:vm_list"))) == ["mine-1"]


def test_a_reseller_lists_its_customers_vms_with_their_owner(client, reseller, my_vm, their_vm):
    client.force_login(reseller)
    response = client.get(reverse("ui:vm_list"))
    assert names(response) == ["mine-1"]
    assert b"customer-1" in response.content


def test_search_finds_by_name_host_name_and_address(as_customer, my_vm, sized_host):
    make_vm(my_vm.owner, sized_host, name="db-1", hostname="db.example.com")
    assert names(as_customer.get(reverse("ui:vm_list"), {"q": "db.example"})) == ["db-1"]
    assert names(as_customer.get(reverse("ui:vm_list"), {"q": "192.0.2.10"})) == ["mine-1"]
    assert names(as_customer.get(reverse("ui:vm_list"), {"q": str(my_vm.uuid)[:8]})) == ["mine-1"]


def test_filters_by_power_state_host_owner_and_image(as_admin, my_vm, their_vm, sized_host, ready_image):
    make_vm(my_vm.owner, sized_host, name="off-1", power_state=PowerState.STOPPED)
    assert names(as_admin.get(reverse("ui:vm_list"), {"state": "stopped"})) == ["off-1"]
    assert names(as_admin.get(reverse("ui:vm_list"), {"owner": their_vm.owner_id})) == ["theirs-1"]
    assert names(as_admin.get(reverse("ui:vm_list"), {"image": ready_image.pk})) == ["mine-1", "theirs-1"]
    assert names(as_admin.get(reverse("ui:vm_list"), {"host": sized_host.pk, "sort": "-name"})) == [
        "theirs-1",
        "off-1",
        "mine-1",
    ]


def test_sorting_by_size_and_a_bad_sort_key_falls_back_to_name(as_customer, my_vm, sized_host):
    make_vm(my_vm.owner, sized_host, name="big-1", memory_mb=8192)
    assert names(as_customer.get(reverse("ui:vm_list"), {"sort": "-size"})) == ["big-1", "mine-1"]
    assert names(as_customer.get(reverse("ui:vm_list"), {"sort": "'; drop"})) == ["big-1", "mine-1"]


def test_the_list_is_paged(as_customer, customer, sized_host):
    for i in range(30):
        make_vm(customer, sized_host, name=f"vm-{i:02d}")
    first = as_customer.get(reverse("ui:vm_list"))
    second = as_customer.get(reverse("ui:vm_list"), {"page": 2})
    assert len(names(first)) == 25 and names(second) == [f"vm-{i}" for i in range(25, 30)]
    assert b"Page 1 of 2" in first.content


def test_a_long_list_counts_its_rows_only_some_pages_ahead(as_customer, customer, sized_host, monkeypatch):
    """The count stops PAGES_AHEAD pages past the page shown (here 1: 50 rows), so a page of
    a huge list never counts the whole table; the page says "more than" and Next is there."""
    monkeypatch.setattr("apps.ui.paging.PAGES_AHEAD", 1)
    for i in range(53):
        make_vm(customer, sized_host, name=f"vm-{i:02d}")

    first = as_customer.get(reverse("ui:vm_list"))
    third = as_customer.get(reverse("ui:vm_list"), {"page": 3})

    assert b"Page 1 of more than 2" in first.content and b"More than 50 VMs" in first.content
    assert b'rel="next"' in first.content
    assert names(third) == ["vm-50", "vm-51", "vm-52"]
    assert b"Page 3 of 3" in third.content and b"53 VMs" in third.content
    assert b'rel="next"' not in third.content
    as_customer.post(reverse("ui:set_language"), {"language": "ru"})
    russian = as_customer.get(reverse("ui:vm_list")).content.decode()
    assert "Страница 1 из более чем 2" in russian and "Более 50 ВМ" in russian


def test_htmx_asks_for_the_table_alone(as_customer, my_vm):
    response = as_customer.get(reverse("ui:vm_list"), {"q": "mine"}, HTTP_HX_REQUEST="true")
    assert response.content.lstrip().startswith(b'<section class="card card-flush" id="vm-table">')


def test_the_list_uses_the_apis_filters_and_leaves_out_a_value_they_refuse(as_admin, my_vm, their_vm, ready_image):
    """The same FilterSet as /api/v1/vms/: the API answers 400 to these, the page shows
    the list without that filter rather than an error page."""
    url = reverse("ui:vm_list")
    assert names(as_admin.get(url, {"image": "92930459597427915179548542700043108352"})) == ["mine-1", "theirs-1"]
    assert names(as_admin.get(url, {"owner": "0.5", "name": "theirs"})) == ["theirs-1"]
    assert names(as_admin.get(url, {"status": "active", "state": "no-such-state"})) == ["mine-1", "theirs-1"]
    # The toolbar's menus send "" for "any" (the API refuses an empty id or choice).
    empty_menus = {"state": "", "status": "", "host": "", "owner": "", "image": "", "q": "theirs"}
    assert names(as_admin.get(url, empty_menus)) == ["theirs-1"]


def test_the_power_filter_names_the_states_in_the_users_language(client, customer, my_vm):
    client.force_login(customer)
    response = client.get(reverse("ui:vm_list"), HTTP_ACCEPT_LANGUAGE="ru")
    assert '<option value="running">Работает</option>' in response.content.decode()


def test_the_owner_menu_lists_the_resellers_customers_and_keeps_the_choice(client, reseller, customer, my_vm):
    client.force_login(reseller)
    page = client.get(reverse("ui:vm_list"), {"owner": customer.pk}).content.decode()
    assert f'<option value="{customer.pk}" selected>{customer.username}</option>' in page
    assert '<option value="">Any owner</option>' in page and 'name="owner"' in page
