"""A failed host check says concretely what is missing, with the fix and the prepare-host
command; the host's status agrees with the check. These use real libvirt clients against
addresses where nothing listens (no host needed); tests/container/test_prepare_host.py
checks a real fresh host over SSH."""

import html

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.hosts.models import DomainType, Host, HostStatus
from apps.hosts.services import refresh_host
from apps.jobs import runner
from apps.jobs.models import JobStatus, StepStatus


@pytest.fixture(autouse=True)
def key_dir(settings, tmp_path):
    settings.VMM_SSH_DIR = tmp_path / "ssh"


def check(host):
    """Run the host check job in this process; the failed step's text (or None)."""
    job = runner.run_inline("host_refresh", host)
    failed = job.steps.filter(status=StepStatus.FAILED).first()
    return job, (failed.detail if failed else None)


def add_host(uri, **fields):
    return Host.objects.create(name="h1", uri=uri, domain_type=DomainType.QEMU, **fields)


def test_nothing_listening_for_ssh_is_named_with_the_prepare_host_command(db):
    host = add_host("qemu+ssh://root@127.0.0.1:1/system")

    job, detail = check(host)

    assert job.status == JobStatus.FAILED
    assert "Missing or wrong on h1" in detail
    assert "Nothing answers for SSH (port 1) on 127.0.0.1." in detail
    assert "bash prepare-host.sh --pool vmmanager --pool-path /var/lib/vmmanager/pool --network default" in detail
    assert "ssh-ed25519 " in detail  # the panel's key is part of the command for ssh hosts
    host.refresh_from_db()
    assert host.status == HostStatus.UNREACHABLE
    assert host.status_reason.startswith("Nothing answers for SSH (port 1) on 127.0.0.1.")


def test_a_host_never_reached_is_told_at_once_and_one_seen_before_is_waited_for(db, settings):
    """A mistyped address is a setup problem, not an outage: the check does not wait out the
    window. A host seen online before is waited for (tests/multihost/test_outages.py waits
    out a real restart) and says so when the window has passed."""
    settings.VMM_HOST_OUTAGE_WINDOW = 1
    new = add_host("qemu+tcp://127.0.0.1:1/system")
    job, detail = check(new)
    assert job.status == JobStatus.FAILED
    assert "Nothing answers" in detail or "refused" in detail.lower(), detail
    assert "unreachable for" not in detail + job.error  # no waiting

    seen = Host.objects.create(
        name="h2", uri="qemu+tcp://127.0.0.1:2/system", domain_type=DomainType.QEMU, last_seen_at=timezone.now()
    )
    job, detail = check(seen)
    assert job.status == JobStatus.FAILED
    assert "host h2 unreachable for 1 s" in detail + job.error, (detail, job.error)


def test_a_missing_tls_client_certificate_names_the_file(db, tmp_path):
    host = add_host(f"qemu+tls://127.0.0.1:1/system?pkipath={tmp_path}")

    _job, detail = check(host)

    assert f"The panel has no TLS client file {tmp_path}/cacert.pem for qemu+tls:// hosts." in detail
    assert "clientcert.pem and clientkey.pem" in detail


def test_a_missing_network_is_named_and_keeps_the_host_out_of_placement(test_host):
    Host.objects.filter(pk=test_host.pk).update(network="guests", status=HostStatus.ONLINE)
    test_host.refresh_from_db()

    job, detail = check(test_host)

    assert job.status == JobStatus.FAILED
    assert "The libvirt network 'guests' is missing on the host." in detail
    assert "--network guests" in detail
    test_host.refresh_from_db()
    assert test_host.status == HostStatus.UNREACHABLE and not test_host.accepts_vms
    assert "network 'guests' is missing" in test_host.status_reason
    assert test_host.cpus > 0  # reachable: its capacity was still read


def test_a_pool_that_cannot_be_used_is_named(test_host):
    Host.objects.filter(pk=test_host.pk).update(storage_path="/elsewhere")
    test_host.refresh_from_db()

    _job, detail = check(test_host)

    assert "The storage pool 'default-pool' at /elsewhere cannot be used" in detail
    assert "already exists at /default-pool" in detail


def test_a_host_with_everything_passes_and_is_online(test_host):
    Host.objects.filter(pk=test_host.pk).update(status=HostStatus.UNREACHABLE, status_reason="old")
    test_host.refresh_from_db()

    job, detail = check(test_host)

    assert job.status == JobStatus.SUCCEEDED and detail is None
    test_host.refresh_from_db()
    assert test_host.status == HostStatus.ONLINE and test_host.status_reason == ""


def test_refresh_host_reports_the_same_finding_as_the_check(db):
    host = add_host("qemu+tcp://127.0.0.1:1/system")
    refresh_host(host)
    assert host.status == HostStatus.UNREACHABLE
    assert host.status_reason.startswith("Nothing answers for libvirtd on port 1 on 127.0.0.1.")
    assert "(libvirt: " in host.status_reason


def test_staff_read_what_is_missing_on_the_job_page_and_the_fix_on_the_host_page(test_host, client, admin_user):
    Host.objects.filter(pk=test_host.pk).update(network="guests")
    test_host.refresh_from_db()
    job, _detail = check(test_host)
    client.force_login(admin_user)

    job_page = html.unescape(client.get(reverse("ui:job_detail", args=[job.pk])).content.decode())
    host_page = html.unescape(client.get(reverse("ui:host_detail", args=[test_host.pk])).content.decode())

    assert "The libvirt network 'guests' is missing on the host." in job_page
    assert "Fix: Create it (the prepare-host command below does)" in job_page
    assert "network 'guests' is missing" in host_page  # the status reason
    assert "bash prepare-host.sh --pool default-pool --pool-path /default-pool --network guests" in host_page
