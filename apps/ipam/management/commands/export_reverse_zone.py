"""Write the reverse DNS names of assigned public addresses as a zone fragment (PTR
records with absolute names), for the provider's DNS server to include:

    manage.py export_reverse_zone [--pool NAME ...] [--ttl 3600] [--output FILE]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.ipam.models import Address, Pool
from apps.ipam.reverse_dns import zone_lines


class Command(BaseCommand):
    help = "Write the PTR records of assigned public addresses (a zone fragment)."

    def add_arguments(self, parser):
        parser.add_argument("--pool", action="append", default=[], help="only this pool (repeatable)")
        parser.add_argument("--ttl", type=int, default=3600)
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, pool, ttl, output, **options):
        rows = Address.objects.filter(vm__isnull=False).exclude(reverse_name="").order_by("pool__name", "position")
        if pool:
            missing = set(pool) - set(Pool.objects.filter(name__in=pool).values_list("name", flat=True))
            if missing:
                raise CommandError(f"no such pool: {', '.join(sorted(missing))}")
            rows = rows.filter(pool__name__in=pool)
        if ttl < 0:
            raise CommandError("--ttl must not be negative")
        text = "; PTR records exported by vmmanager (manage.py export_reverse_zone)\n"
        text += "".join(line + "\n" for line in zone_lines(rows, ttl))
        if output:
            Path(output).write_text(text)
            self.stdout.write(f"{len(text.splitlines()) - 1} record(s) written to {output}")
        else:
            self.stdout.write(text, ending="")
