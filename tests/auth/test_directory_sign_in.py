"""LDAP for staff against a real slapd: the staff group decides the role at every sign-in,
and a directory that does not answer leaves local accounts working."""

import pytest
from django.urls import reverse

from apps.accounts.models import Role, User
from tests.auth.slapd import PEOPLE, STAFF_GROUP, Slapd
from vmmanager.ldap_settings import ldap_settings


@pytest.fixture
def slapd(tmp_path):
    server = Slapd(tmp_path / "slapd").start()
    server.seed({"alice": "alice-dir-pw", "bob": "bob-dir-pw"}, staff=["alice"])
    yield server
    server.stop()


@pytest.fixture
def directory(slapd, settings, db):
    """The panel pointed at the throw-away directory (as VMM_LDAP_* would)."""
    values = ldap_settings(
        uri=slapd.uri,
        bind_dn="",
        bind_password="",
        user_base=PEOPLE,
        user_filter="(uid=%(user)s)",
        staff_group=STAFF_GROUP,
        start_tls=False,
        timeout=3,
    )
    for name, value in values.items():
        setattr(settings, name, value)
    return slapd


def sign_in(client, username, password):
    return client.post(reverse("ui:login"), {"username": username, "password": password})


def test_a_member_of_the_staff_group_signs_in_as_staff(client, directory):
    response = sign_in(client, "alice", "alice-dir-pw")

    assert response.status_code == 302 and response["Location"] == reverse("ui:dashboard")
    alice = User.objects.get(username="alice")
    assert alice.role == Role.ADMIN and alice.email == "alice@example.com"
    assert not alice.has_usable_password()  # the directory keeps the password
    assert alice.directory_account.dn == "uid=alice," + PEOPLE
    assert client.get(reverse("ui:host_list")).status_code == 200


def test_a_wrong_directory_password_is_refused(client, directory):
    response = sign_in(client, "alice", "wrong")
    assert response.status_code == 200 and b"correct username and password" in response.content


def test_a_directory_user_outside_the_group_gets_no_account(client, directory):
    response = sign_in(client, "bob", "bob-dir-pw")
    assert response.status_code == 200 and b"staff group" in response.content
    assert not User.objects.filter(username="bob").exists()


def test_removed_from_the_group_loses_staff_pages_at_the_next_sign_in(client, directory):
    sign_in(client, "alice", "alice-dir-pw")
    client.post(reverse("ui:logout"))
    directory.remove_from_staff("alice")

    response = sign_in(client, "alice", "alice-dir-pw")

    assert response.status_code == 200 and b"staff group" in response.content
    assert User.objects.get(username="alice").role == Role.CUSTOMER
    client.force_login(User.objects.get(username="alice"))
    assert client.get(reverse("ui:host_list")).status_code == 404

    directory.add_to_staff("alice")  # back in the group: staff again at the next sign-in
    client.post(reverse("ui:logout"))
    assert sign_in(client, "alice", "alice-dir-pw")["Location"] == reverse("ui:dashboard")
    assert User.objects.get(username="alice").role == Role.ADMIN


@pytest.mark.parametrize("password", ["alice-local-pw", None])
def test_an_account_the_panel_made_is_never_taken_over_by_the_directory(client, directory, password):
    User.objects.create_user("alice", password=password, role=Role.CUSTOMER)  # None: cannot sign in yet
    assert sign_in(client, "alice", "alice-dir-pw").status_code == 200
    assert User.objects.get(username="alice").role == Role.CUSTOMER
    assert "_auth_user_id" not in client.session


def test_with_the_directory_down_a_local_admin_signs_in_and_a_directory_user_is_told(client, admin_user, directory):
    sign_in(client, "alice", "alice-dir-pw")
    client.post(reverse("ui:logout"))
    directory.stop()

    response = sign_in(client, "alice", "alice-dir-pw")
    assert response.status_code == 200 and b"directory does not answer" in response.content

    response = sign_in(client, "root-admin", "pw-admin-1")
    assert response.status_code == 302 and response["Location"] == reverse("ui:dashboard")
    assert client.get(reverse("ui:host_list")).status_code == 200
