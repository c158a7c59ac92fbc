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


def test_the_services_reasons_are_russian_on_a_russian_form(as_customer, sized_host, ready_image):
    as_customer.post(reverse("ui:set_language"), {"language": "ru"})
    order = {"name": "-bad", "image": ready_image.pk, "vcpus": 1, "memory_mb": 1024, "disk_gb": 1}
    response = as_customer.post(reverse("ui:vm_create"), {**order, "hostname": "web", "password": "short"})

    errors = response.context["form"].errors
    assert errors["name"] == [
        "Используйте от 1 до 64 букв, цифр, точек, дефисов и подчёркиваний; первой должна быть буква или цифра."
    ]
    assert errors["disk_gb"] == ["Диск должен быть не меньше образа (2 ГиБ)."]
    assert errors["password"] == ["Пароль должен содержать не менее 10 символов."]


def test_an_image_file_refusal_is_russian_on_a_russian_form(as_admin, tmp_path, settings):
    settings.VMM_IMAGE_DIR = tmp_path / "store"
    notes = tmp_path / "notes.txt"
    notes.write_text("not a disk\n" * 200_000)
    as_admin.post(reverse("ui:set_language"), {"language": "ru"})
    form = {"name": "x", "os_family": "linux", "guest_config": "customize", "visibility": "public"}

    response = as_admin.post(reverse("ui:image_import"), {**form, "path": str(notes)})

    assert response.context["form"].errors["path"] == [
        "В этом raw-файле нет таблицы разделов (MBR или GPT) и известной файловой системы: это не образ диска."
    ]
