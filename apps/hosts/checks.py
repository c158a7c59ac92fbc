"""What a host needs before it takes VMs, and what exactly is missing when it does not.

Used by the `host_refresh` operation (the host check, shown step by step on the job page)
and by `services.refresh_host`, so a host's status always agrees with its last check.
Every function here talks to the host through apps/virt: call them from jobs and
commands, never from a web request.

A `Finding` is one concrete problem with the fix for it; `report()` turns findings into the
text users read, ending with the prepare-host command that sets a fresh Debian host up
(scripts/prepare-host.sh, docs/containers.md).
"""

import re
import shlex
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from apps.hosts import sshkey
from apps.hosts.hypervisor import hypervisor_for
from apps.virt.errors import NotFound, Unreachable, VirtError
from apps.virt.networks import NetworkOps

PREPARE_SCRIPT = "scripts/prepare-host.sh"


@dataclass(frozen=True)
class Finding:
    problem: str
    fix: str


def _where(uri):
    """(scheme, user, hostname, port) of a libvirt URI."""
    parts = urlsplit(uri)
    return parts.scheme, parts.username or "", parts.hostname or "", parts.port


def _pem_path(message):
    match = re.search(r"'([^']+\.pem)'", message)
    return match.group(1) if match else None


def connection_findings(uri, error):
    """What the failed connection to `uri` says is missing (`error` an `Unreachable` or
    other `VirtError`). Always at least one finding."""
    scheme, user, hostname, port = _where(uri)
    text = str(error)
    low = text.lower()
    # Without a user in the URI, ssh signs in with the panel's own user name.
    user = user or "the panel's user"
    if scheme == "qemu+ssh":
        port = port or 22
        if "host key verification failed" in low or "remote host identification has changed" in low:
            return [
                Finding(
                    f"The SSH host key of {hostname} is not the one the panel recorded at its first connection "
                    "(the host was reinstalled, or something is in between).",
                    f"If the host was reinstalled, forget its old key: "
                    f"ssh-keygen -R {hostname} -f {sshkey.known_hosts_path()} and check again.",
                )
            ]
        if "permission denied (publickey" in low or "too many authentication failures" in low:
            return [
                Finding(
                    f"The panel's SSH key is not authorized for {user} on {hostname}.",
                    "Authorize it: the prepare-host command below does, or append the panel's public key "
                    "to that user's ~/.ssh/authorized_keys on the host.",
                )
            ]
    if "nc: not found" in low or "virt-ssh-helper: not found" in low or "command not found" in low:
        return [
            Finding(
                f"libvirt is not installed on {hostname} (neither virt-ssh-helper nor nc is there).",
                "Install libvirt and QEMU: the prepare-host command below does.",
            )
        ]
    if "libvirt-sock" in low or "virtqemud-sock" in low:
        return [
            Finding(
                f"libvirtd is not running on {hostname} (its socket is missing or refuses connections).",
                "Start it (systemctl enable --now libvirtd, or libvirtd -d without systemd): "
                "the prepare-host command below does.",
            )
        ]
    if scheme == "qemu+tls" and (".pem" in low or "certificate" in low):
        path = _pem_path(text)
        if path and ("cannot access" in low or "no such file" in low or "cannot read" in low):
            return [
                Finding(
                    f"The panel has no TLS client file {path} for qemu+tls:// hosts.",
                    "Give the panel cacert.pem (the CA), clientcert.pem and clientkey.pem: libvirt reads them from "
                    "~/.pki/libvirt/ of the panel's user (in the container image: /data/pki/libvirt/), else from "
                    "/etc/pki, or from the folder named by ?pkipath= in the URI (docs/containers.md).",
                )
            ]
        return [
            Finding(
                f"The TLS handshake with {hostname} failed: the certificates do not match.",
                "The host's server certificate and the panel's client certificate must come from the same CA, "
                "and the host's certificate must name the host as it is written in the URI.",
            )
        ]
    if "could not resolve hostname" in low or "name or service not known" in low:
        return [Finding(f"The host name {hostname} does not resolve.", "Use its IP address or fix DNS.")]
    if "connection refused" in low:
        what = f"SSH (port {port or 22})" if scheme == "qemu+ssh" else f"libvirtd on port {port or 'default'}"
        return [
            Finding(
                f"Nothing answers for {what} on {hostname}.",
                "Check that the service runs there and that no firewall is in between.",
            )
        ]
    if any(s in low for s in ("timed out", "no route to host", "network is unreachable")):
        return [Finding(f"{hostname} does not answer on the network.", "Check its address and the firewall.")]
    if isinstance(error, Unreachable) and error.kind == "auth":
        return [Finding(f"{hostname} refused the panel's credentials.", "Check the user in the URI and its key.")]
    if isinstance(error, Unreachable) and error.kind == "permission":
        return [
            Finding(
                f"{user} may not manage libvirt on {hostname}.",
                "Connect as root, or add the user to the libvirt group on the host.",
            )
        ]
    return [
        Finding(
            f"The panel cannot use libvirt on {hostname or uri}.",
            "Check that libvirtd runs there: the prepare-host command below installs and starts it.",
        )
    ]


def hypervisor_findings(host, info):
    """Problems visible once connected: guest type and network (`info` is a HostInfo)."""
    findings = []
    if not info.domain_types:
        findings.append(
            Finding(
                "QEMU is not installed on the host (libvirt offers no guest types).",
                "Install qemu-system-x86: the prepare-host command below does.",
            )
        )
    # libvirt's test driver ("test") accepts domains of any type.
    elif host.domain_type not in info.domain_types and "test" not in info.domain_types:
        findings.append(
            Finding(
                f"The host cannot run '{host.domain_type}' guests (it offers: {', '.join(info.domain_types)}).",
                "For KVM, enable virtualization in the firmware and load the kvm module; "
                "or set the host's virtualization to QEMU (software emulation, slow).",
            )
        )
    if host.network:
        findings += network_findings(
            host, host.network, "Create it (the prepare-host command below does), or change the host's network."
        )
    for source in _network_sources:
        for name in source(host):
            if name and name != host.network:
                findings += network_findings(
                    host,
                    name,
                    "Have the panel make it: Set up on host in the host page's Networks card "
                    "(or manage.py network setup); or take the host out of that network (docs/addresses.md).",
                )
    for source in _bridge_sources:
        for network, bridge in source(host):
            findings += bridge_findings(host, network, bridge)
    return findings


# Functions host -> names of further libvirt networks the host must run, and host -> (network,
# bridge) pairs of host bridges it must have (apps.ipam registers the managed networks it
# carries from its AppConfig.ready(): hosts does not import it).
_network_sources = []
_bridge_sources = []


def register_network_source(source):
    if source not in _network_sources:
        _network_sources.append(source)


def register_bridge_source(source):
    if source not in _bridge_sources:
        _bridge_sources.append(source)


def bridge_findings(host, network, bridge):
    """A missing host bridge guests of `network` are put on (nothing when the host's libvirt
    cannot tell: no interface driver)."""
    try:
        exists = NetworkOps(host.uri).interface_exists(bridge)
    except VirtError as exc:
        return [Finding(f"The bridge '{bridge}' cannot be read: {exc}", "See libvirtd's log.")]
    if exists is False:
        return [
            Finding(
                f"The host bridge '{bridge}' of network {network} is missing on the host.",
                "Make the bridge in the host's own network configuration (the panel does not make bridges), "
                "or take the host out of that network (docs/addresses.md).",
            )
        ]
    return []


def network_findings(host, name, create_hint):
    try:
        active = NetworkOps(host.uri).network_active(name)
    except NotFound:
        return [
            Finding(
                f"The libvirt network '{name}' is missing on the host.",
                create_hint,
            )
        ]
    except VirtError as exc:
        return [Finding(f"The network '{name}' cannot be read: {exc}", "See libvirtd's log.")]
    if not active:
        return [
            Finding(
                f"The libvirt network '{name}' exists but is not running.",
                f"virsh net-start {name} && virsh net-autostart {name} (the prepare-host command below does it too).",
            )
        ]
    return []


def pool_findings(host, error):
    return [
        Finding(
            f"The storage pool '{host.storage_pool}' at {host.storage_path} cannot be used: {error}",
            "Create the directory and the pool: the prepare-host command below does.",
        )
    ]


def prepare_command(host=None):
    """The command line that sets a fresh Debian host up for this panel (run as root)."""
    args = ["bash", "prepare-host.sh"]
    if host is not None:
        args += ["--pool", host.storage_pool, "--pool-path", host.storage_path]
        args += ["--network", host.network or "none"]
    try:
        key = sshkey.public_key()
    except sshkey.SshKeyError:
        key = None
    if key and (host is None or host.uri.startswith("qemu+ssh://")):
        args.append(key)
    return shlex.join(args)


def report(host, findings, error=None):
    """The text of a failed check: each problem with its fix, then the prepare-host command."""
    lines = [f"Missing or wrong on {host.name} ({host.uri}):"]
    for finding in findings:
        lines += [f"- {finding.problem}", f"  Fix: {finding.fix}"]
    if error is not None:
        lines.append(f"libvirt said: {error}")
    lines += [
        f"To set up a fresh Debian 12 host, copy {PREPARE_SCRIPT} there (in the panel's image: "
        f"/app/{PREPARE_SCRIPT}) and run as root:",
        f"  {prepare_command(host)}",
    ]
    return "\n".join(lines)


def summary(findings):
    """One line for the host's status reason."""
    return " ".join(f.problem for f in findings)


def ensure_ssh_key(host):
    """Make the panel's key exist before an ssh connection needs it (None or a Finding)."""
    if not host.uri.startswith("qemu+ssh://"):
        return None
    try:
        sshkey.public_key()
    except sshkey.SshKeyError as exc:
        return Finding(f"The panel has no SSH key: {exc}", "Check that VMM_SSH_DIR is writable.")
    return None


@dataclass
class CheckResult:
    """What `check_host` found: `info` (HostInfo) and `pool` (PoolInfo) when it got that far,
    `findings` (empty: the host is usable) and the driver `error` behind them, if any."""

    info: object = None
    pool: object = None
    cpu: str | None = None  # the CPU it offers guests of its type ("" cannot tell; None: not read)
    findings: list = field(default_factory=list)
    error: Exception | None = None


def check_host(host):
    """The whole check in one go (for refresh_host): connect, guest type and network, the
    CPU it offers guests (for its cluster's baseline), pool (created if missing). Never
    raises for the host's own trouble."""
    result = CheckResult()
    missing_key = ensure_ssh_key(host)
    if missing_key:
        result.findings.append(missing_key)
        return result
    driver = hypervisor_for(host)
    try:
        result.info = driver.host_info()
    except VirtError as exc:
        result.error = exc
        result.findings = connection_findings(host.uri, exc)
        return result
    result.findings = hypervisor_findings(host, result.info)
    try:
        result.cpu = driver.host_cpu(host.domain_type) or ""
    except VirtError:
        pass  # not a reason to refuse VMs; the cluster's baseline just keeps what it knew
    try:
        result.pool = driver.ensure_pool(host.storage_pool, host.storage_path)
    except VirtError as exc:
        result.error = exc
        result.findings += pool_findings(host, exc)
    return result
