import json

from django.urls import reverse


def test_switching_to_russian_translates_the_pages(as_customer, my_vm):
    response = as_customer.post(reverse("ui:set_language"), {"language": "ru", "next": reverse("ui:vm_list")})
    assert response["Location"] == reverse("ui:vm_list")

    page = as_customer.get(reverse("ui:vm_list")).content.decode()

    assert '<html lang="ru">' in page
    assert "Виртуальные машины" in page
    assert "Создать ВМ" in page
    assert "Работает" in page  # the power state of my_vm


def test_the_login_page_offers_both_languages(client, db):
    page = client.get(reverse("ui:login"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Вход" in page
    assert 'value="en"' in page and 'value="ru"' in page


def test_the_live_scripts_get_the_same_translated_labels(as_customer):
    page = as_customer.get(reverse("ui:dashboard"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'id="ui-labels"' in page
    assert json.dumps("Выполнено") in page  # a finished step, as live.js will draw it
