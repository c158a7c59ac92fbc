"""What a guest keeps across reboots when an extra address is added or removed
(apps.vms.guest_persist): the script the guest agent runs, run here with `sh` on a directory
laid out as each kind of guest is (VMM_ROOT), after the live change found the interface."""

import json
import os
import subprocess

import pytest

from apps.vms.address_change import LIVE
from apps.vms.guest_persist import ENI, NETPLAN, PERSIST, UNIT, eni_stanzas, persist_args

MAC = "52:54:00:00:02:0b"
NETWORK = {
    "addresses": ["198.51.100.10/24", "198.51.100.12/24", "2001:db8:0:1::1/64"],
    "gateway": "198.51.100.1",
    "gateway6": "2001:db8::1",
    "dns": ["198.51.100.53"],
    "onlink": ["2001:db8::1"],
}


def guest(root, *paths, text="old\n"):
    for path in paths:
        target = root / path.lstrip("/")
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return root


def persist(root, network=NETWORK, cidr="198.51.100.12/24"):
    """Run the script as the agent does after `ip address` (the interface is ens3)."""
    env = {**os.environ, "VMM_ROOT": str(root), "dev": "ens3"}
    argv = ["sh", "-c", PERSIST, "sh", MAC, cidr, *persist_args(network, MAC)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=10)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def read(root, path):
    return (root / path.lstrip("/")).read_text()


def test_a_plain_image_gets_the_unit_the_deploy_wrote_rewritten(tmp_path):
    root = guest(tmp_path, UNIT)
    assert persist(root) == f"kept in {UNIT}"
    unit = read(root, UNIT)
    assert "Address=198.51.100.10/24\nAddress=198.51.100.12/24\nAddress=2001:db8:0:1::1/64\n" in unit


def test_a_cloud_init_netplan_guest_gets_cloud_inits_file_replaced(tmp_path):
    root = guest(tmp_path, "/etc/cloud/", NETPLAN)
    assert persist(root) == f"kept in {NETPLAN}"
    plan = json.loads(read(root, NETPLAN))  # JSON is YAML
    primary = plan["network"]["ethernets"]["eth0"]
    assert primary["match"] == {"macaddress": MAC} and primary["set-name"] == "eth0"
    assert primary["addresses"] == NETWORK["addresses"]
    assert {"to": "::/0", "via": "2001:db8::1", "on-link": True} in primary["routes"]
    assert (root / NETPLAN.lstrip("/")).stat().st_mode & 0o077 == 0  # netplan warns about readable files
    assert not (root / UNIT.lstrip("/")).exists()


@pytest.mark.parametrize("name", [ENI, ENI + ".cfg"])
def test_a_cloud_init_ifupdown_guest_gets_its_stanzas_for_its_interface(tmp_path, name):
    root = guest(tmp_path, "/etc/cloud/", name)
    assert persist(root) == f"kept in {name}"
    text = read(root, name)
    assert "@DEV@" not in text and "auto ens3\niface ens3 inet static\n    address 198.51.100.10/24\n" in text
    assert "iface ens3 inet static\n    address 198.51.100.12/24\n" in text
    assert "iface ens3 inet6 static\n    address 2001:db8:0:1::1/64\n" in text
    assert "up ip -6 route replace default via 2001:db8::1 dev ens3 onlink" in text


def test_a_cloud_init_networkd_guest_gets_the_panels_unit_which_wins_over_cloud_inits(tmp_path):
    root = guest(tmp_path, "/etc/cloud/", "/etc/systemd/network/10-cloud-init-ens3.network")
    assert persist(root) == f"kept in {UNIT}"
    assert sorted(p.name for p in (root / "etc/systemd/network").iterdir())[0] == "05-vmmanager-static.network"
    assert "Address=198.51.100.12/24" in read(root, UNIT)
    # A later change finds the unit and rewrites it.
    removed = {**NETWORK, "addresses": ["198.51.100.10/24", "2001:db8:0:1::1/64"]}
    assert persist(root, removed) == f"kept in {UNIT}"
    assert "198.51.100.12" not in read(root, UNIT)


def test_a_guest_with_no_config_the_panel_knows_is_left_alone_and_the_job_says_so(tmp_path):
    root = guest(tmp_path, "/etc/")
    assert persist(root).startswith("not kept: ")
    assert [p.name for p in root.rglob("*")] == ["etc"]


def test_the_gateways_go_on_the_first_address_of_their_family():
    text = eni_stanzas({**NETWORK, "onlink": []})
    assert text.count("gateway 198.51.100.1") == 1 and text.count("gateway 2001:db8::1") == 1
    assert text.count("dns-nameservers 198.51.100.53") == 1


def test_the_live_part_stops_before_the_files_when_no_interface_has_the_mac(tmp_path):
    root = guest(tmp_path, UNIT)
    script = LIVE.replace("ACTION", "replace").replace("/sys/class/net/*", str(tmp_path / "none") + "/*") + PERSIST
    done = subprocess.run(
        ["sh", "-c", script, "sh", MAC, "198.51.100.12/24", *persist_args(NETWORK, MAC)],
        capture_output=True,
        text=True,
        env={**os.environ, "VMM_ROOT": str(root)},
        timeout=10,
    )
    assert done.returncode == 3 and f"no interface with MAC {MAC}" in done.stdout
    assert read(root, UNIT) == "old\n"
