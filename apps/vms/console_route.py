"""How the console bridge reaches a VM's VNC server on its host (docs/console.md, "Remote
hosts"). The address comes from the running domain's live XML, the way from the host's
libvirt URI:

- a VNC server listening on a non-loopback address (the host's `vnc_listen`, a private
  address of the host) is reached directly;
- one on loopback is reached directly when the host is this machine (`qemu:///system`, or a
  URI whose host is a loopback address), and through SSH when the host is a `qemu+ssh://`
  one: `ssh -W` to the host's loopback, with the same user, port and key as libvirt's own
  connection (the URI's `keyfile`, `known_hosts` and `no_verify` parameters, else the ssh
  configuration, which in the container names the panel's key);
- one on loopback of a remote `qemu+tcp://`/`qemu+tls://` host cannot be reached: the host's
  VNC listen address must be set to an address the panel can reach (VncUnreachable says so).

`open_vnc` connects the chosen way and reads the VNC server's greeting, so a route that does
not lead to a VNC server is an error before the page is told the console is open.
"""

import asyncio
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

GREETING = re.compile(rb"^RFB \d{3}\.\d{3}\n$")
GREETING_SECONDS = 15


class VncUnreachable(Exception):
    """The VM's VNC server cannot be reached from the panel the way its host is set up (the
    message says why): a setting for staff to change, not worth retrying."""


class VncConnectFailed(Exception):
    """Connecting to the VM's VNC server failed this time (the message says why)."""


@dataclass(frozen=True)
class Direct:
    address: str
    port: int


@dataclass(frozen=True)
class Tunnel:
    argv: tuple[str, ...]


def _loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def vnc_route(uri, listen, port):
    """Direct or Tunnel to the VNC server listening on `listen`:`port` of the host of
    libvirt URI `uri`. Raises VncUnreachable."""
    parts = urlsplit(uri)
    transport = parts.scheme.partition("+")[2]
    host = parts.hostname
    if listen in ("", "0.0.0.0", "::"):
        listen = host or "127.0.0.1"  # every address of the host: its own name is one
    if not _loopback(listen):
        return Direct(listen, port)
    if transport == "ssh" and host:
        return Tunnel(ssh_argv(parts, listen, port))
    if host is None or _loopback(host):
        return Direct(listen, port)
    raise VncUnreachable(
        f"The VM's graphical console listens on {listen} of {host}, which the panel cannot reach over "
        f"{parts.scheme}://. Set the host's VNC listen address to an address of the host the panel reaches."
    )


def ssh_argv(parts, listen, port):
    """`ssh -W listen:port` to the host of a qemu+ssh:// URI, as libvirt's own ssh connection
    would log in (never prompting)."""
    params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    target = f"[{listen}]:{port}" if ":" in listen else f"{listen}:{port}"
    argv = ["ssh", "-W", target, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
    if parts.port:
        argv += ["-p", str(parts.port)]
    if parts.username:
        argv += ["-l", parts.username]
    if params.get("keyfile"):
        argv += ["-i", params["keyfile"]]
    if params.get("known_hosts"):
        argv += ["-o", f"UserKnownHostsFile={params['known_hosts']}"]
    if params.get("no_verify") == "1":
        argv += ["-o", "StrictHostKeyChecking=no"]
    return (*argv, "--", parts.hostname)


class _ProcessWriter:
    """The stdin of a tunnel process, with what the bridge asks of a stream writer."""

    def __init__(self, process):
        self.process = process

    def write(self, data):
        self.process.stdin.write(data)

    async def drain(self):
        await self.process.stdin.drain()

    def close(self):
        if self.process.returncode is None:
            self.process.kill()


async def open_vnc(uri, listen, port):
    """(reader, writer, greeting) of a connection to the VNC server. The greeting (the
    server's first 12 bytes) is read here and must be passed on to the client. Raises
    VncUnreachable (no route) or VncConnectFailed."""
    route = vnc_route(uri, listen, port)
    try:
        if isinstance(route, Direct):
            reader, writer = await asyncio.open_connection(route.address, route.port)
        else:
            process = await asyncio.create_subprocess_exec(
                *route.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            reader, writer = process.stdout, _ProcessWriter(process)
    except OSError as exc:
        raise VncConnectFailed(f"cannot connect to the VNC server at {listen}:{port}: {exc}") from exc
    try:
        greeting = await asyncio.wait_for(reader.readexactly(12), GREETING_SECONDS)
    except (TimeoutError, asyncio.IncompleteReadError, OSError) as exc:
        writer.close()
        detail = ""
        if isinstance(route, Tunnel):
            detail = (await _stderr(route, writer)) or ""
        raise VncConnectFailed(f"no VNC server answered at {listen}:{port} {detail}".strip()) from exc
    if not GREETING.match(greeting):
        writer.close()
        raise VncConnectFailed(f"what answers at {listen}:{port} is not a VNC server")
    return reader, writer, greeting


async def _stderr(route, writer):
    process = writer.process
    try:
        err = await asyncio.wait_for(process.stderr.read(2000), 2)
    except (TimeoutError, OSError):
        return ""
    return f"(ssh: {err.decode(errors='replace').strip()})" if err else ""
