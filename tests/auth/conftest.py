"""Two-factor and directory sign-in: helpers to read codes the way an authenticator app does."""

import time

import pytest
from django.utils import translation
from django_otp.oath import TOTP


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.activate("en")


def code_for(device, at=None):
    """The 6-digit code an authenticator app with this device's secret shows at `at` (now)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at if at is not None else time.time()
    return str(totp.token()).zfill(device.digits)
