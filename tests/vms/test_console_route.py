"""How the console bridge reaches a VM's VNC server, from the host's libvirt URI and the
address the VNC server listens on (apps/vms/console_route.py, docs/console.md)."""

import asyncio

import pytest

from apps.vms.console_route import Direct, Tunnel, VncConnectFailed, VncUnreachable, open_vnc, vnc_route


@pytest.mark.parametrize(
    ("uri", "listen", "expected"),
    [
        ("qemu:///system", "127.0.0.1", Direct("127.0.0.1", 5900)),  # this machine
        ("qemu:///system", "0.0.0.0", Direct("127.0.0.1", 5900)),
        ("qemu+tcp://127.0.0.11/system", "127.0.0.1", Direct("127.0.0.1", 5900)),  # a host on this machine
        ("qemu+tcp://203.0.113.5/system", "198.51.100.5", Direct("198.51.100.5", 5900)),  # its private address
        ("qemu+tls://203.0.113.5/system", "0.0.0.0", Direct("203.0.113.5", 5900)),  # every address: the URI's
        ("qemu+ssh://root@203.0.113.5/system", "198.51.100.5", Direct("198.51.100.5", 5900)),
    ],
)
def test_a_vnc_server_the_panel_can_reach_is_connected_to_directly(uri, listen, expected):
    assert vnc_route(uri, listen, 5900) == expected


def test_a_vnc_server_on_the_loopback_of_an_ssh_host_is_reached_through_ssh_as_libvirt_logs_in():
    route = vnc_route("qemu+ssh://admin@203.0.113.5:2222/system", "127.0.0.1", 5901)
    assert route == Tunnel(
        ("ssh", "-W", "127.0.0.1:5901", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", "2222", "-l", "admin",
         "--", "203.0.113.5")
    )  # fmt: skip
    # The URI's own key and known_hosts parameters, as libvirt's ssh transport uses them.
    route = vnc_route(
        "qemu+ssh://root@host.example/system?keyfile=/data/ssh/other&known_hosts=/data/kh&no_verify=1", "::1", 5902
    )
    argv = route.argv
    assert argv[:3] == ("ssh", "-W", "[::1]:5902")
    assert argv[argv.index("-i") + 1] == "/data/ssh/other"
    assert "UserKnownHostsFile=/data/kh" in argv and "StrictHostKeyChecking=no" in argv
    assert argv[-2:] == ("--", "host.example")  # a host name cannot pass for an option


def test_a_vnc_server_on_the_loopback_of_a_remote_tcp_or_tls_host_is_refused_saying_what_to_set():
    for uri in ("qemu+tcp://203.0.113.5/system", "qemu+tls://hv1.example/system"):
        with pytest.raises(VncUnreachable, match="Set the host's VNC listen address"):
            vnc_route(uri, "127.0.0.1", 5900)


def test_only_a_vnc_server_is_taken_for_one():
    """open_vnc reads the server's greeting first: a port where nothing listens, or where
    something else answers, is a failed connection (the page retries), not an open console."""

    async def scenario():
        async def not_vnc(reader, writer):
            writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
            await writer.drain()
            writer.close()

        async def vnc(reader, writer):
            writer.write(b"RFB 003.008\n")
            await writer.drain()
            await reader.read(1)
            writer.close()

        other = await asyncio.start_server(not_vnc, "127.0.0.1", 0)
        server = await asyncio.start_server(vnc, "127.0.0.1", 0)
        free = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        free_port = free.sockets[0].getsockname()[1]
        free.close()
        await free.wait_closed()
        async with other, server:
            with pytest.raises(VncConnectFailed, match="not a VNC server"):
                await open_vnc("qemu:///system", "127.0.0.1", other.sockets[0].getsockname()[1])
            with pytest.raises(VncConnectFailed, match="cannot connect"):
                await open_vnc("qemu:///system", "127.0.0.1", free_port)
            _, writer, greeting = await open_vnc("qemu:///system", "127.0.0.1", server.sockets[0].getsockname()[1])
            writer.close()
            return greeting

    assert asyncio.run(scenario()) == b"RFB 003.008\n"


def test_a_vm_follows_its_hosts_new_vnc_listen_address_at_its_next_start(
    customer, test_host, django_capture_on_commit_callbacks
):
    from apps.hosts.hypervisor import hypervisor_for
    from apps.virt.types import DomainSpec
    from apps.vms.consoles import vnc_password
    from apps.vms.models import VirtualMachine, VmStatus
    from apps.vms.services import vm_operation

    vm = VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host, status=VmStatus.ACTIVE)
    driver = hypervisor_for(test_host)
    spec = DomainSpec(name=vm.domain_name, domain_type="qemu", vcpus=1, memory_mb=512, vnc_password=vnc_password(vm))
    driver.define(spec)  # as deployed while the host's consoles listened on loopback
    test_host.vnc_listen = "198.51.100.4"
    test_host.save(update_fields=["vnc_listen"])

    with django_capture_on_commit_callbacks(execute=True):
        vm_operation(vm, "vm_start", actor=customer)

    persistent = driver.domain_xml(vm.domain_name, inactive=True)
    assert 'listen="198.51.100.4"' in persistent.replace("'", '"')
    assert f'passwd="{vnc_password(vm)}"' in persistent.replace("'", '"')  # the password kept
    assert driver.get_domain(vm.domain_name).state == "running"
