import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from apps.hosts.models import Host


@pytest.mark.parametrize(
    "uri", ["qemu:///system", "qemu+ssh://root@10.0.0.5/system", "qemu+tls://h1.example.com/system", "test:///default"]
)
def test_libvirt_uris_of_every_transport_are_accepted(db, uri):
    Host(name="h", uri=uri).full_clean()


@pytest.mark.parametrize("uri", ["http://example.com/", "qemu:/system", "system", "qemu:// system"])
def test_other_uris_are_refused_naming_the_field(db, uri):
    with pytest.raises(ValidationError) as error:
        Host(name="h", uri=uri).full_clean()
    assert "uri" in error.value.message_dict


def test_host_names_and_uris_are_unique(test_host):
    with pytest.raises(IntegrityError):
        Host.objects.create(name="test-host", uri="test:///other")


def test_an_unknown_domain_type_cannot_be_stored(db):
    with pytest.raises(IntegrityError):
        Host.objects.create(name="x", uri="test:///x", domain_type="xen")
