"""The panel's own SSH key: made once on first need, kept, shown to staff."""

import io
import subprocess
import threading

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.hosts import sshkey


@pytest.fixture
def key_dir(settings, tmp_path):
    settings.VMM_SSH_DIR = tmp_path / "ssh"
    return settings.VMM_SSH_DIR


def test_the_key_is_made_on_first_need_and_then_kept(key_dir):
    assert not key_dir.exists()

    key = sshkey.public_key()

    assert key.startswith("ssh-ed25519 ") and key.count(" ") == 2 and "vmmanager@" in key
    private = key_dir / "id_ed25519"
    assert private.stat().st_mode & 0o777 == 0o600
    # The public key is the private key's own half (ssh can use the pair as shown).
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True, check=True)
    assert derived.stdout.split()[:2] == key.split()[:2]
    assert sshkey.public_key() == key
    assert sshkey.known_hosts_path() == key_dir / "known_hosts"


def test_processes_asking_at_once_get_one_and_the_same_key(key_dir):
    keys = []
    threads = [threading.Thread(target=lambda: keys.append(sshkey.public_key())) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(keys) == 6 and len(set(keys)) == 1
    assert sorted(p.name for p in key_dir.iterdir() if not p.name.startswith(".")) == ["id_ed25519", "id_ed25519.pub"]


def test_an_unusable_key_directory_is_a_clear_error(settings, tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    settings.VMM_SSH_DIR = tmp_path / "a-file" / "ssh"
    with pytest.raises(sshkey.SshKeyError, match="cannot use"):
        sshkey.public_key()


def test_the_host_key_command_prints_the_public_key(key_dir, db):
    out = io.StringIO()
    call_command("host", "key", stdout=out)
    assert out.getvalue().strip() == sshkey.public_key()


def test_the_prepare_command_names_the_hosts_pool_network_and_the_key(key_dir, test_host):
    out = io.StringIO()
    call_command("host", "prepare-command", test_host.name, stdout=out)
    line = out.getvalue().strip()
    assert line.startswith("bash prepare-host.sh --pool default-pool --pool-path /default-pool --network default")
    assert sshkey.public_key() not in line  # a test:/// host is not reached over ssh
    out = io.StringIO()
    call_command("host", "prepare-command", stdout=out)
    assert out.getvalue().strip().endswith(f"'{sshkey.public_key()}'")


def test_the_add_host_page_shows_staff_the_key_and_the_prepare_command(key_dir, client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("ui:host_add")).content.decode()
    key = sshkey.public_key()
    assert page.count(key) == 2  # on its own, and inside the prepare-host command
    assert "bash prepare-host.sh" in page
