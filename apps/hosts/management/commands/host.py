from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.hosts import checks, sshkey
from apps.hosts.models import DomainType, Host
from apps.hosts.services import new_host
from apps.jobs.cli import run_with_output


class Command(BaseCommand):
    help = "List, add and check hypervisor hosts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="list hosts with status and capacity")
        add = sub.add_parser("add", help="register a host and check it")
        add.add_argument("name")
        add.add_argument("uri", help="libvirt URI, e.g. qemu+ssh://root@10.0.0.5/system")
        add.add_argument("--domain-type", choices=DomainType.values, default=DomainType.KVM)
        add.add_argument("--pool", default=None, help="storage pool name")
        add.add_argument("--pool-path", default=None, help="storage pool directory on the host")
        add.add_argument("--network", default=None, help='libvirt network for guests ("" for none)')
        check = sub.add_parser("check", help="connect to a host, check its pool and read its capacity")
        check.add_argument("name")
        sub.add_parser("key", help="print the panel's public SSH key for qemu+ssh:// hosts (made on first use)")
        prepare = sub.add_parser("prepare-command", help="print the prepare-host command line for a new host")
        prepare.add_argument("name", nargs="?", help="an existing host (its pool and network); default: defaults")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action.replace('-', '_')}")(**options)

    def do_list(self, **options):
        for host in Host.objects.all():
            self.stdout.write(
                f"{host.name:16} {host.status:12} {host.domain_type:5} {host.cpus:4} CPU "
                f"{host.memory_mb:8} MiB  {host.uri}" + (f"  ({host.status_reason})" if host.status_reason else "")
            )

    def do_add(self, name, uri, domain_type, pool, pool_path, network, **options):
        given = {"network": network, "storage_pool": pool or None, "storage_path": pool_path or None}
        settings = {k: v for k, v in given.items() if v is not None}
        try:
            host = new_host(name=name, uri=uri, domain_type=domain_type, **settings)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"host": exc.messages}  # a race: name or URI
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())) from exc
        run_with_output(self, "host_refresh", host, {})

    def do_check(self, name, **options):
        host = Host.objects.filter(name=name).first()
        if host is None:
            raise CommandError(f"no host {name!r}")
        run_with_output(self, "host_refresh", host, {})

    def do_key(self, **options):
        try:
            self.stdout.write(sshkey.public_key())
        except sshkey.SshKeyError as exc:
            raise CommandError(str(exc)) from exc

    def do_prepare_command(self, name=None, **options):
        host = None
        if name:
            host = Host.objects.filter(name=name).first()
            if host is None:
                raise CommandError(f"no host {name!r}")
        self.stdout.write(checks.prepare_command(host))
