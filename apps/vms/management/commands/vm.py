import uuid

from django.core.management.base import BaseCommand, CommandError

from apps.jobs.cli import run_with_output
from apps.vms.models import VirtualMachine


def find_vm(ref):
    """A VM by UUID, numeric id, or name (a name must be unambiguous)."""
    try:
        return VirtualMachine.objects.get(uuid=uuid.UUID(ref))
    except (ValueError, VirtualMachine.DoesNotExist):
        pass
    if ref.isdigit() and VirtualMachine.objects.filter(pk=int(ref)).exists():
        return VirtualMachine.objects.get(pk=int(ref))
    matches = list(VirtualMachine.objects.filter(name=ref)[:2])
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CommandError(f"several VMs are named {ref!r}: use the UUID")
    raise CommandError(f"no VM {ref!r}")


def parse_params(pairs):
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise CommandError(f"--param takes key=value, not {pair!r}")
        params[key] = value
    return params


class Command(BaseCommand):
    help = "Run an operation (vm_start, vm_stop, ...) on a VM in this process, with live step output."

    def add_arguments(self, parser):
        parser.add_argument("operation", help="operation name, e.g. vm_stop")
        parser.add_argument("vm", help="VM UUID, id or name")
        parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")

    def handle(self, *args, operation, vm, param, **options):
        target = find_vm(vm)
        run_with_output(self, operation, target, parse_params(param))
