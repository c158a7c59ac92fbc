"""A fresh Debian 12 host, set up by scripts/prepare-host.sh and reached by the panel's
container over qemu+ssh:// with the key the panel made: at each stage the host check says
what is still missing, and passes once the host is prepared. Then the same host over
qemu+tls:// with a test CA: refused while the panel has no client files, passing with them
in the data volume. On the way, a VM's graphical console on the qemu+ssh host is reached
through the panel's SSH tunnel.

The host is a privileged podman container of the plain debootstrapped Debian image sharing
this machine's network, with sshd on its own loopback address (like the multi-host test
hosts). Its guest network is an isolated one (no addresses, no DHCP): libvirt's NAT network
`default` would clash with this machine's own."""

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.container.conftest import LABEL, ROOT, free_port, podman, remove_fresh_host

pytestmark = [pytest.mark.container, pytest.mark.slow]

ADDRESS = "127.0.0.21"
NETWORK = "vmmprep"  # also in conftest.remove_fresh_host
BASE_IMAGE = "localhost/vmm-debian:bookworm"


# Run in the panel's container: a diskless domain with a VNC display on the host (QEMU waits at
# its firmware, which is enough for a VNC server), reached the way the console bridge does.
VNC_PROBE = """
import asyncio
from apps.virt.driver import Hypervisor
from apps.virt.types import DomainSpec
from apps.vms.console_route import Tunnel, open_vnc, vnc_route

hv = Hypervisor("URI")
hv.define(DomainSpec(name="vmm-vnc-probe", domain_type="qemu", vcpus=1, memory_mb=64, vnc_password="probe-pw"))
try:
    hv.start("vmm-vnc-probe")
    listen, port = hv.vnc_display("vmm-vnc-probe")

    async def greeting():
        reader, writer, first = await open_vnc("URI", listen, port)
        writer.close()
        return first

    kind = "tunnel" if isinstance(vnc_route("URI", listen, port), Tunnel) else "direct"
    print(kind, asyncio.run(greeting()).decode().strip())
finally:
    hv.destroy("vmm-vnc-probe")
    hv.undefine("vmm-vnc-probe")
"""


def sh(container, script, timeout=120, check=True, input=None):
    return podman("exec", "-i", container, "sh", "-c", script, timeout=timeout, check=check, input=input)


@pytest.fixture
def fresh_host(image):
    """A fresh Debian with nothing but sshd, on a free port of ADDRESS only (this machine may
    run an sshd of its own on every address's port 22). Yields (container name, ssh port)."""
    name = f"vmm-fresh-host-{uuid.uuid4().hex[:6]}"
    ssh_port = free_port(ADDRESS)
    # Packages are kept between runs: a rerun installs without downloading.
    apt_cache = Path(os.environ.get("VMM_CACHE", "/var/cache/vmmanager")) / "prepare-host-apt"
    (apt_cache / "partial").mkdir(parents=True, exist_ok=True)
    podman(
        "run", "-d", "--name", name, "--label", LABEL, "--hostname", "fresh-host", "--uts=private",
        "--add-host", f"fresh-host:{ADDRESS}", "--network=host", "--privileged", "--init", "--pull=never",
        "-v", f"{ROOT / 'scripts/prepare-host.sh'}:/root/prepare-host.sh:ro",
        "-v", f"{apt_cache}:/var/cache/apt/archives",
        BASE_IMAGE, "sleep", "infinity",
    )  # fmt: skip
    try:
        # Nothing may start services while packages install: they would listen on every
        # address of this machine. prepare-host starts what it needs itself.
        sh(name, "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d")
        sh(
            name,
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
            "openssh-server >/dev/null && mkdir -p /run/sshd && "
            f"/usr/sbin/sshd -o ListenAddress={ADDRESS}:{ssh_port} -o PidFile=/run/sshd-test.pid",
            timeout=300,
        )
        yield name, ssh_port
    finally:
        remove_fresh_host(name)


def output(proc):
    return proc.stdout + proc.stderr


def make_tls_files(folder):
    """A CA, a server certificate for ADDRESS and a client certificate (openssl), as PEM text."""

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_extensions = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]
    openssl("req", "-x509", *new_key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test-ca",
            *ca_extensions)  # fmt: skip
    usage = "keyUsage=critical,digitalSignature,keyEncipherment"
    for name, subject, extensions in (
        ("server", ADDRESS, [f"subjectAltName=IP:{ADDRESS}", "extendedKeyUsage=serverAuth", usage]),
        ("client", "vmmanager-panel", ["extendedKeyUsage=clientAuth", usage]),
    ):
        (folder / f"{name}.ext").write_text("\n".join(extensions) + "\n")
        openssl("req", *new_key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={subject}")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")  # fmt: skip
    names = ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")
    return {name: (folder / name).read_text() for name in names}


def test_a_fresh_host_is_told_what_is_missing_then_prepared_and_passes_over_ssh_and_tls(web, fresh_host, tmp_path):
    fresh_host, ssh_port = fresh_host
    key = web.manage("host", "key").stdout.strip()
    assert key.startswith("ssh-ed25519 ")
    uri = f"qemu+ssh://root@{ADDRESS}:{ssh_port}/system"

    # Only sshd, and the panel's key is not authorized there yet.
    added = web.manage("host", "add", "fresh", uri, "--domain-type", "qemu", "--network", NETWORK, check=False)
    assert added.returncode != 0
    assert f"The panel's SSH key is not authorized for root on {ADDRESS}." in added.stdout, output(added)
    assert f"bash prepare-host.sh --pool vmmanager --pool-path /var/lib/vmmanager/pool --network {NETWORK}" in (
        added.stdout
    )

    # The key authorized by hand, but no libvirt on the host.
    sh(fresh_host, "mkdir -p -m 700 /root/.ssh && cat >> /root/.ssh/authorized_keys", input=key + "\n")
    checked = web.manage("host", "check", "fresh", check=False)
    assert checked.returncode != 0
    assert f"libvirt is not installed on {ADDRESS}" in checked.stdout, output(checked)

    # prepare-host as printed (run as root on the host); then the check passes.
    prepared = podman(
        "exec", fresh_host, "bash", "/root/prepare-host.sh", "--network", NETWORK, key, timeout=900, check=False
    )
    assert prepared.returncode == 0, output(prepared)[-4000:]
    checked = web.manage("host", "check", "fresh", check=False)
    assert checked.returncode == 0, output(checked)
    assert "[ok] 1. Connect to the hypervisor" in checked.stdout and "[ok] 2. Check the storage pool" in checked.stdout
    listing = web.manage("host", "list").stdout
    assert any(line.split()[:2] == ["fresh", "online"] for line in listing.splitlines()), listing

    # A VM's graphical console on this host listens on the host's loopback: the panel's
    # container reaches it through SSH with its own key, and what answers is the VNC server.
    probe = web.manage("shell", "-c", VNC_PROBE.replace("URI", uri), check=False, timeout=120)
    assert probe.stdout.strip().splitlines()[-1:] == ["tunnel RFB 003.008"], output(probe)

    # libvirtd gone: the check says so; prepare-host again starts it and changes nothing else.
    sh(fresh_host, 'kill "$(cat /run/libvirtd.pid)"; while [ -e /run/libvirtd.pid ]; do sleep 0.1; done', timeout=60)
    checked = web.manage("host", "check", "fresh", check=False)
    assert f"libvirtd is not running on {ADDRESS}" in checked.stdout, output(checked)
    again = podman("exec", fresh_host, "bash", "/root/prepare-host.sh", "--network", NETWORK, key, timeout=300)
    assert "installing" not in again.stderr  # nothing left to install
    assert web.manage("host", "check", "fresh", check=False).returncode == 0
    authorized = sh(fresh_host, "cat /root/.ssh/authorized_keys").stdout
    assert authorized.splitlines().count(key) == 1

    # The same host over qemu+tls://: first without the panel's client files, then with them.
    tls = make_tls_files(tmp_path)
    tls_port = free_port(ADDRESS)
    for path, text in (
        ("/etc/pki/CA/cacert.pem", tls["ca.pem"]),
        ("/etc/pki/libvirt/servercert.pem", tls["server.pem"]),
        ("/etc/pki/libvirt/private/serverkey.pem", tls["server.key"]),
    ):
        sh(fresh_host, f"mkdir -p $(dirname {path}) && cat > {path}", input=text)
    sh(
        fresh_host,
        f'printf \'listen_tls = 1\\nlisten_tcp = 0\\nlisten_addr = "{ADDRESS}"\\ntls_port = "{tls_port}"\\n\''
        " >> /etc/libvirt/libvirtd.conf"
        ' && kill "$(cat /run/libvirtd.pid)"; while [ -e /run/libvirtd.pid ]; do sleep 0.1; done; libvirtd -d --listen',
        timeout=60,
    )
    tls_uri = f"qemu+tls://{ADDRESS}:{tls_port}/system"
    added = web.manage("host", "add", "fresh-tls", tls_uri, "--domain-type", "qemu", "--network", NETWORK, check=False)
    assert added.returncode != 0
    # libvirt falls back to the system-wide path when the user's own file is missing.
    assert "The panel has no TLS client file /etc/pki/CA/cacert.pem" in added.stdout, output(added)
    assert "(in the container image: /data/pki/libvirt/)" in added.stdout
    for name, text in (("cacert.pem", tls["ca.pem"]), ("clientcert.pem", tls["client.pem"]),
                       ("clientkey.pem", tls["client.key"])):  # fmt: skip
        sh(web.name, f"mkdir -p /data/pki/libvirt && cat > /data/pki/libvirt/{name}", input=text)
    checked = web.manage("host", "check", "fresh-tls", check=False)
    assert checked.returncode == 0, output(checked)
