"""manage.py network list | setup NAME [--host HOST ...] (docs/addresses.md, "Networks on hosts")."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.ipam.host_networks import OPERATION, check_setup
from apps.ipam.models import Network
from apps.jobs.cli import run_with_output


class Command(BaseCommand):
    help = "List the panel's networks, and make hosts carry them (define, start, autostart the libvirt network)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="list networks with their kind, libvirt network or bridge, and hosts")
        setup = sub.add_parser("setup", help="make each host that carries the network have it running (a job per host)")
        setup.add_argument("name", help="the network's name in the panel")
        setup.add_argument("--host", action="append", default=[], help="only this host (repeat for more)")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_list(self, **options):
        for network in Network.objects.prefetch_related("hosts"):
            source = network.libvirt_network or f"bridge {network.bridge}"
            hosts = ", ".join(h.name for h in network.hosts.all()) or "no hosts"
            self.stdout.write(f"{network.name:16} {network.kind:9} {source:20} {hosts}")

    def do_setup(self, name, host, **options):
        network = Network.objects.filter(name=name).first()
        if network is None:
            raise CommandError(f"no network {name!r}")
        hosts = host or [h.name for h in network.hosts.order_by("name")]
        if not hosts:
            raise CommandError(f"network {name!r} has no hosts: attach them in the admin first")
        checked = []
        for host_name in hosts:
            try:
                checked.append(check_setup(network, host_name)[1])
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
        failed = []
        for target in checked:
            self.stdout.write(f"{network.name} on {target.name}:")
            try:
                run_with_output(self, OPERATION, target, {"network_id": network.pk})
            except CommandError as exc:
                failed.append(f"{target.name}: {exc}")
        if failed:
            raise CommandError("; ".join(failed))
