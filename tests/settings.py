"""Settings for the test suite: the real settings, with the test services as defaults.

The environment still wins; `make test` points DATABASE_URL and REDIS_URL at the local
PostgreSQL and Redis."""

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vmmanager")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("VMM_DATA_DIR", tempfile.mkdtemp(prefix="vmm-test-data-"))
# Jobs fail at once on a lost host, as before the outage window existed: the tests about
# outages (tests/outages, tests/multihost/test_outages.py) set their own window.
os.environ.setdefault("VMM_HOST_OUTAGE_WINDOW", "0")
# Several lanes' guests boot at once on two cores (scripts/test-lanes.sh): the deploys wait
# longer for a guest than the 180 s a panel's own host gives it.
os.environ.setdefault("VMM_BOOT_TIMEOUT", "400")

from vmmanager.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
