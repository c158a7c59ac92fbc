"""Bench: keystroke-to-echo latency on a real guest's serial console, through the panel's
websocket (daphne → ConsoleConsumer → console bridge → libvirt stream) and directly on the
libvirt stream (the driver in this process), 200 keys each, in blocks taken in turn on each
path (`--rounds`, default 10) so that both see the same load of a shared machine.

    .venv/bin/python bench/console.py [--keys 200] [--rounds 10]

Boots one TCG guest of the plain demo image (/var/cache/vmmanager/images/debian-12-plain.qcow2,
`make image`) on qemu:///system as `vmm-<uuid>` with an overlay disk, and types at its login
prompt: getty echoes each character ("a") and each erase ("\\b \\b"), so no password is
needed. Loopback only. Uses its own database (`<DATABASE_URL's name>_console_bench`, dropped
at the end). The last line is

    console_echo_p95_ms=<n> direct_echo_p95_ms=<n> ratio=<n>
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import BenchDatabase  # noqa: E402 (bench/ is on the path: scripts run from it)

BENCH_DB = BenchDatabase("_console_bench")
IMAGE = Path(os.environ.get("VMM_CACHE", "/var/cache/vmmanager")) / "images" / "debian-12-plain.qcow2"
DATA_DIR = tempfile.mkdtemp(prefix="vmm-bench-console-")
os.environ.update(
    DATABASE_URL=BENCH_DB.url,
    DJANGO_SETTINGS_MODULE="vmmanager.settings",
    VMM_DATA_DIR=DATA_DIR,
    DEBUG="false",
    LOG_LEVEL="WARNING",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, proc, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"exited: {proc.args}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers on {port}")


class Echoes:
    """Bytes from the console, and a way to wait for what arrives after a mark."""

    def __init__(self):
        self.buf = bytearray()
        self.cond = threading.Condition()

    def add(self, data):
        with self.cond:
            self.buf.extend(data)
            self.cond.notify_all()

    def wait_for(self, text, seconds, poke=None):
        deadline = time.monotonic() + seconds
        with self.cond:
            while text not in self.buf:
                if time.monotonic() > deadline:
                    raise SystemExit(f"no {text!r} on the console: {bytes(self.buf[-300:])!r}")
                if poke:
                    poke()
                self.cond.wait(2)


def keys(count):
    return [b"a" if i % 2 == 0 else b"\x7f" for i in range(count)]


def direct(driver, domain, count):
    """(ms per key) typed straight on the libvirt stream; the stream is closed after."""
    echoes = Echoes()
    console = driver.open_console(domain, echoes.add, lambda reason: None)
    try:
        echoes.wait_for(b"login: ", 300, poke=lambda: console.send(b"\r"))
        times = []
        for key in keys(count):
            with echoes.cond:
                mark = len(echoes.buf)
                start = time.perf_counter()
                console.send(key)
                while len(echoes.buf) == mark:
                    echoes.cond.wait(5)
                times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        console.close()


async def through_socket(port, url_path, count):
    import websockets

    origin = f"http://127.0.0.1:{port}"
    async with websockets.connect(f"ws://127.0.0.1:{port}/{url_path}", origin=origin) as ws:
        await ws.send(b"\r")
        seen = b""
        while b"login: " not in seen:
            seen += await asyncio.wait_for(ws.recv(), 30)
        await asyncio.sleep(0.5)
        while True:  # drain what the prompt still prints
            try:
                await asyncio.wait_for(ws.recv(), 0.3)
            except TimeoutError:
                break
        times = []
        for key in keys(count):
            start = time.perf_counter()
            await ws.send(key)
            await asyncio.wait_for(ws.recv(), 5)
            times.append((time.perf_counter() - start) * 1000)
        return times


def p(values, q):
    return statistics.quantiles(values, n=100)[q - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10, help="blocks of keys on each path, in turn")
    args = parser.parse_args()
    if not IMAGE.exists():
        raise SystemExit(f"{IMAGE} is missing: run `make image`")

    BENCH_DB.create()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.accounts.models import Role, User
    from apps.hosts.hypervisor import hypervisor_for
    from apps.hosts.models import DomainType, Host, HostStatus
    from apps.virt.types import DiskSpec, DomainSpec
    from apps.vms import consoles
    from apps.vms.models import PowerState, VirtualMachine, VmStatus

    user = User.objects.create_user("bench", password="x", role=Role.CUSTOMER)
    host = Host.objects.create(
        name="local", uri="qemu:///system", domain_type=DomainType.QEMU, status=HostStatus.ONLINE, network="vmm-test"
    )
    vm = VirtualMachine.objects.create(
        name="bench-console", owner=user, host=host, status=VmStatus.ACTIVE, power_state=PowerState.RUNNING,
        uuid=uuid.uuid4(), memory_mb=512,
    )  # fmt: skip
    disk = Path(DATA_DIR) / f"{vm.domain_name}.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(IMAGE), str(disk), "4G"], check=True
    )
    os.chmod(DATA_DIR, 0o755)
    driver = hypervisor_for(host)
    spec = DomainSpec(
        name=vm.domain_name, uuid=str(vm.uuid), domain_type="qemu", vcpus=1, memory_mb=512,
        disks=(DiskSpec(path=str(disk), format="qcow2", target="vda", bus="virtio"),),
    )  # fmt: skip
    procs = []
    try:
        driver.define(spec)
        driver.start(vm.domain_name)
        started = time.monotonic()
        direct(driver, vm.domain_name, 0)
        print(f"guest at its login prompt after {time.monotonic() - started:.0f} s", flush=True)

        web_port, bridge_port = free_port(), free_port()
        env = {**os.environ, "VMM_CONSOLE_BRIDGE": f"127.0.0.1:{bridge_port}"}
        log = open(Path(DATA_DIR) / "processes.log", "w")
        for command, port in (
            ([sys.executable, "manage.py", "console_bridge"], bridge_port),
            ([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(web_port), "vmmanager.asgi:application"],
             web_port),
        ):  # fmt: skip
            procs.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            wait_port(port, procs[-1])
        # Blocks of keys in turn on each path, so that both see the same machine load (it
        # drifts over seconds on a shared machine); each block opens its console afresh.
        direct_ms, socket_ms = [], []
        per_round = max(1, args.keys // args.rounds)
        for _ in range(args.rounds):
            direct_ms += direct(driver, vm.domain_name, per_round)
            session, ticket = consoles.open_console(vm, "serial", actor=user, bearer=True)
            socket_ms += asyncio.run(through_socket(web_port, consoles.socket_path(session, ticket), per_round))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        try:
            driver.destroy(vm.domain_name)
        except Exception:  # noqa: BLE001 - not running
            pass
        driver.undefine(vm.domain_name)
        disk.unlink(missing_ok=True)
        BENCH_DB.drop()

    for name, values in (("direct (libvirt stream)", direct_ms), ("websocket (panel)", socket_ms)):
        print(f"{name}: p50 {statistics.median(values):.2f} ms, p95 {p(values, 95):.2f} ms, max {max(values):.2f} ms")
    ws95, direct95 = p(socket_ms, 95), p(direct_ms, 95)
    print(f"console_echo_p95_ms={ws95:.2f} direct_echo_p95_ms={direct95:.2f} ratio={ws95 / direct95:.2f}")


if __name__ == "__main__":
    main()
