"""First-run set-up for `make run`: the first admin, this machine as the first host and
the demo image. Idempotent: what exists is left as it is.

It lives in apps.vms, the highest domain app, because it uses accounts, hosts, images and
jobs, all below it (apps.core, at the bottom, imports no app: docs/architecture.md)."""

import json
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_q.models import Schedule

from apps.accounts.models import Role
from apps.hosts.models import DomainType, Host, HostStatus
from apps.hosts.services import refresh_host
from apps.images.models import GuestConfig, Image
from apps.images.services import import_image_file
from vmmanager.env import env_choice, env_str

DEFAULT_DEMO_IMAGE = "/var/cache/vmmanager/images/debian-12-plain.qcow2"


class Command(BaseCommand):
    help = "Create the first admin, register this machine as a host and import the demo image."

    def add_arguments(self, parser):
        parser.add_argument(
            "--panel-only",
            action="store_true",
            help="only the admin and the schedules (the container's web role: it manages remote hosts)",
        )

    def handle(self, *args, panel_only=False, **options):
        self.ensure_admin()
        self.ensure_schedules()
        if panel_only:
            return
        self.ensure_local_host()
        self.ensure_demo_image()

    def ensure_schedules(self):
        # A worker that dies while the cluster keeps running is noticed within a minute.
        Schedule.objects.update_or_create(
            name="reconcile jobs",
            defaults={"func": "apps.jobs.reconcile.reconcile", "schedule_type": Schedule.MINUTES, "minutes": 1},
        )
        # Warm pools are topped up (and standbys of deleted pools removed) every minute.
        Schedule.objects.update_or_create(
            name="top up warm pools",
            defaults={"func": "apps.vms.warm_pool.top_up_all", "schedule_type": Schedule.MINUTES, "minutes": 1},
        )

    def ensure_admin(self):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("admin: exists")
            return
        username = env_str("VMM_ADMIN_USER", "admin")
        password = env_str("VMM_ADMIN_PASSWORD")
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser(
            username=username, email=env_str("VMM_ADMIN_EMAIL", ""), password=password, role=Role.ADMIN
        )
        if generated:
            self.stdout.write(self.style.WARNING(f"admin: created {username!r} with password {password!r}"))
            self.stdout.write("       (shown once; set VMM_ADMIN_PASSWORD to choose it)")
        else:
            self.stdout.write(f"admin: created {username!r} with the password from VMM_ADMIN_PASSWORD")

    def ensure_local_host(self):
        uri = env_str("VMM_LOCAL_HOST_URI", "qemu:///system")
        host = Host.objects.filter(uri=uri).first()
        if host is None:
            # Software emulation unless told otherwise: a KVM device can be advertised and
            # still hang guests (docs/hypervisor.md), so the type is never guessed.
            domain_type = env_choice("VMM_LOCAL_DOMAIN_TYPE", DomainType.values, DomainType.QEMU)
            host = Host(name=env_str("VMM_LOCAL_HOST_NAME", "local"), uri=uri, domain_type=domain_type)
            try:
                host.full_clean()
            except ValidationError as exc:
                raise CommandError(f"cannot register the local host: {exc}") from exc
            host.save()
            self.stdout.write(f"host: registered {host.name} ({uri}, domain type {domain_type})")
        host = refresh_host(host)
        if host.status == HostStatus.UNREACHABLE:
            self.stdout.write(self.style.ERROR(f"host: {host.name} is unreachable: {host.status_reason}"))
        else:
            self.stdout.write(f"host: {host.name} {host.status}, {host.cpus} CPUs, {host.memory_mb} MiB")

    def ensure_demo_image(self):
        path = Path(env_str("VMM_DEMO_IMAGE", DEFAULT_DEMO_IMAGE))
        meta_path = path.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        name = meta.get("name") or path.stem
        if Image.objects.filter(owner=None, name=name).exists():
            self.stdout.write(f"image: {name} exists")
            return
        if not path.exists():
            self.stdout.write(self.style.WARNING(f"image: {path} not found (build it with `make image`)"))
            return
        try:
            image = import_image_file(
                path,
                name=name,
                os_family=meta.get("os_family", "debian"),
                os_version=str(meta.get("os_version", "")),
                guest_config=GuestConfig.CLOUD_INIT if meta.get("cloud_init") else GuestConfig.CUSTOMIZE,
            )
        except ValidationError as exc:
            raise CommandError(f"cannot import {path}: {'; '.join(exc.messages)}") from exc
        if meta.get("sha256") and meta["sha256"] != image.checksum_sha256:
            raise CommandError(f"{path} does not match the checksum in {meta_path}")
        self.stdout.write(f"image: imported {name} ({image.virtual_size_gb} GiB virtual)")
