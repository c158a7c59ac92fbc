"""Sharing an image (apps.images.sharing.share_image): its owner or staff choose private,
shared with users they see, or (staff only) public; anyone else is refused."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.images.models import Image, ImageStatus, Visibility
from apps.images.sharing import share_candidates, share_image


@pytest.fixture
def golden(reseller):
    return Image.objects.create(
        name="golden", owner=reseller, status=ImageStatus.READY, virtual_size_bytes=2**30, checksum_sha256="2" * 64
    )


def test_the_owner_shares_its_image_with_a_customer_it_sees(golden, reseller, customer):
    share_image(reseller, golden, visibility=Visibility.SHARED, shared_with=[customer.pk])

    golden.refresh_from_db()
    assert golden.visibility == Visibility.SHARED and list(golden.shared_with.all()) == [customer]


def test_only_staff_make_an_image_public(golden, reseller, admin_user):
    with pytest.raises(ValidationError) as refused:
        share_image(reseller, golden, visibility=Visibility.PUBLIC)
    assert [(e.code, e.message) for e in refused.value.error_dict["visibility"]] == [
        ("forbidden", "Only staff can make an image public.")
    ]

    share_image(admin_user, golden, visibility=Visibility.PUBLIC)
    golden.refresh_from_db()
    assert golden.visibility == Visibility.PUBLIC


def test_an_image_is_not_shared_with_a_user_the_owner_does_not_see(golden, reseller, customer, other_customer):
    with pytest.raises(ValidationError) as refused:
        share_image(reseller, golden, visibility=Visibility.SHARED, shared_with=[customer.pk, other_customer.pk])

    assert refused.value.message_dict == {"shared_with": [f"No such user: {other_customer.pk}."]}
    golden.refresh_from_db()
    assert golden.visibility == Visibility.PRIVATE and not golden.shared_with.exists()  # nothing half-saved


def test_someone_who_only_sees_an_image_may_not_change_it(golden, customer, ready_image):
    with pytest.raises(PermissionDenied, match="Only the image's owner"):
        share_image(customer, ready_image, visibility=Visibility.PRIVATE)  # public, the provider's
    with pytest.raises(PermissionDenied):
        share_image(customer, golden, shared_with=[customer.pk])  # its reseller's


def test_the_owner_is_offered_everyone_it_sees_but_itself(golden, reseller, customer):
    assert list(share_candidates(reseller, golden)) == [customer]
    share_image(reseller, golden, shared_with=[reseller.pk, customer.pk])
    assert list(golden.shared_with.all()) == [customer]  # the owner sees its image anyway
