"""Password hashing, login throttling and the production settings check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 10 + "A9b8C7d6E5f4G3h2I1j0-production-secret-key-for-the-check",
    "ALLOWED_HOSTS": "panel.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://panel.example.com",
    "VMM_HTTPS": "true",
}


def manage(*args, extra_env):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vmmanager.settings", **extra_env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_production_passwords_are_hashed_with_argon2():
    from vmmanager import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", extra_env={**PRODUCTION, "VMM_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_complains_without_https_settings(tmp_path):
    env = {**PRODUCTION, "VMM_HTTPS": "false", "VMM_DATA_DIR": str(tmp_path)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", extra_env=env)
    assert result.returncode != 0 and "security.W004" in result.stderr + result.stdout


def test_a_malformed_security_setting_stops_the_panel(tmp_path):
    result = manage("check", extra_env={**PRODUCTION, "SECURE_HSTS_SECONDS": "a year", "VMM_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0 and "SECURE_HSTS_SECONDS" in result.stderr


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account_out(client, customer):
    url = reverse("ui:login")  # the one sign-in page (the admin's leads to it)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "customer-1", "password": "wrong"})
    response = client.post(url, {"username": "customer-1", "password": "pw-customer-1"})
    assert response.status_code == 429
