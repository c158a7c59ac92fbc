"""Settings come only from environment variables (see docs/configuration.md).

With nothing set the panel runs on its embedded default: SQLite, django-q2's ORM broker
and channels-lite's SQLite channel layer. DATABASE_URL and REDIS_URL switch to
PostgreSQL and Redis.
"""

import os
import re
import secrets
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from vmmanager.env import env_bool, env_choice, env_int, env_list, env_str, env_url
from vmmanager.ldap_settings import ldap_settings
from vmmanager.process_name import application_name

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("VMM_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key():
    key = env_str("SECRET_KEY")
    if key:
        return key
    # Embedded default: one random key per data directory, kept so sessions survive restarts.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_q",
    "apps.core",
    "apps.accounts",
    "apps.hosts",
    "apps.images",
    "apps.ipam",
    "apps.vms",
    "apps.jobs",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "vmmanager.urls"
ASGI_APPLICATION = "vmmanager.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss", "unix"))
EMBEDDED = DATABASE_URL is None

_SQLITE_OPTIONS = {
    # WAL + IMMEDIATE transactions: web, workers and the channel layer share files
    # without "database is locked" (measured in ../shared/docs/STACK.md).
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}

# What PostgreSQL's pg_stat_activity calls this process's connections: `vmmanager web`,
# `vmmanager worker`, ... (vmmanager/process_name.py; VMM_PROCESS names it instead).
APPLICATION_NAME = application_name(sys.argv)

if DATABASE_URL:
    DATABASES = {"default": environ.Env.db_url_config(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        DATABASES["default"]["OPTIONS"] = dict(_SQLITE_OPTIONS)
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 0, minimum=0)
        DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = APPLICATION_NAME
        if env_bool("DB_PREPARED_STATEMENTS", False):
            # Parameters sent apart from the SQL (Django's server-side binding), and psycopg
            # prepares a statement its connection has run 5 times (its default threshold):
            # PostgreSQL then skips parsing it and, once its generic plan is chosen, planning
            # it. Pays with kept connections (DB_CONN_MAX_AGE); not behind PgBouncer in
            # transaction mode (docs/configuration.md, docs/api.md "Performance").
            DATABASES["default"]["OPTIONS"] = {
                **DATABASES["default"].get("OPTIONS", {}),
                "server_side_binding": True,
                "prepare_threshold": 5,
            }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            "OPTIONS": dict(_SQLITE_OPTIONS),
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "ui:login"

# --- Channel layer --------------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's asyncio pool defaults to 100 connections; more sockets than that
                # fail their handshake (../shared/docs/STACK.md).
                "hosts": [{"address": REDIS_URL, "max_connections": 1000}],
                # A web process receives every event of all its sockets on one channel
                # (apps/live/fanout.py). channels-redis drops a group send's message for a
                # channel holding `capacity` (100) already: a process behind by a fraction
                # of a second at a few hundred events a second lost most of them. Its
                # messages still expire after 60 s (`expiry`); a dead process's channel holds
                # at most this many (a few MB) until the groups it was in go quiet.
                "channel_capacity": {"fanout.*": 10000},
            },
        }
    }
else:
    INSTALLED_APPS.append("channels_lite")
    DATABASES["channels"] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "channels.sqlite3",
        "OPTIONS": dict(_SQLITE_OPTIONS),
    }
    DATABASE_ROUTERS = ["channels_lite.router.ChannelsRouter", "apps.core.db_routers.ChannelsDatabaseRouter"]
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_lite.layers.core.SQLiteChannelLayer",
            "CONFIG": {"database": "channels"},
        }
    }

# --- Jobs (django-q2) -----------------------------------------------------------------
JOB_TIMEOUT = env_int("VMM_JOB_TIMEOUT", 1800, minimum=10)
# A worker beats (its row in the jobs' Worker table, by the database's clock) before it takes a
# job and every VMM_WORKER_HEARTBEAT_SECONDS while it runs one; a job whose worker (on another
# machine) has been silent for VMM_WORKER_SILENT_SECONDS is settled by the next reconciliation
# (every minute, up to 30 s late): 30 + 90 s, within two minutes of the worker's death
# (docs/architecture.md).
VMM_WORKER_HEARTBEAT_SECONDS = env_int("VMM_WORKER_HEARTBEAT_SECONDS", 10, minimum=1, maximum=300)
VMM_WORKER_SILENT_SECONDS = env_int("VMM_WORKER_SILENT_SECONDS", 30, minimum=2, maximum=3600)
if VMM_WORKER_SILENT_SECONDS <= 2 * VMM_WORKER_HEARTBEAT_SECONDS:
    # A worker alive but a beat or two late (a busy database) must not lose its job.
    raise ImproperlyConfigured(
        "VMM_WORKER_SILENT_SECONDS must be more than twice VMM_WORKER_HEARTBEAT_SECONDS"
        f" ({VMM_WORKER_SILENT_SECONDS} <= 2 x {VMM_WORKER_HEARTBEAT_SECONDS})"
    )
# A worker busy with a job also looks this often for jobs of dead workers and settles them
# (a thread beside its heartbeat): the scheduled reconciliation is a queued task, which waits
# while every worker runs a long job.
VMM_BUSY_RECONCILE_SECONDS = env_int("VMM_BUSY_RECONCILE_SECONDS", 60, minimum=1, maximum=3600)
Q_CLUSTER = {
    "name": "vmmanager",
    "workers": env_int("VMM_WORKERS", 2, minimum=1, maximum=64),
    "timeout": JOB_TIMEOUT,
    # retry must exceed timeout, and a job is never re-run by the broker: a job that
    # died with its worker is found and settled by the reconciler instead.
    "retry": JOB_TIMEOUT + 60,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Job queue",
    "sync": env_bool("VMM_JOBS_SYNC", False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.2

# --- The panel's own settings ---------------------------------------------------------
# An admin may replace any operation by a module of the same name in this directory.
VMM_OPERATIONS_DIR = env_str("VMM_OPERATIONS_DIR", str(DATA_DIR / "operations"))
# Where imported OS images are kept before they are copied to hosts.
VMM_IMAGE_DIR = Path(env_str("VMM_IMAGE_DIR", str(DATA_DIR / "images")))
# Seconds a graceful stop waits for the guest before powering it off.
VMM_STOP_TIMEOUT = env_int("VMM_STOP_TIMEOUT", 60, minimum=0, maximum=3600)
# The rescue system a VM can boot into (docs/rescue.md): a kernel and an initramfs on this
# machine, copied to the VM's host when it enters rescue mode. scripts/rescue-system.sh builds
# them into VMM_CACHE/rescue (`make run` and `make test` do).
_RESCUE_DIR = Path(os.environ.get("VMM_CACHE", "/var/cache/vmmanager")) / "rescue"
VMM_RESCUE_KERNEL = env_str("VMM_RESCUE_KERNEL", str(_RESCUE_DIR / "vmlinuz"))
VMM_RESCUE_INITRD = env_str("VMM_RESCUE_INITRD", str(_RESCUE_DIR / "initrd.img"))
# Suspension for non-payment (docs/billing.md): how VMs are taken down when the customer's
# reseller has not chosen, how long a customer's job waits for a busy VM, and the grace
# period between asking to terminate a suspended customer and deleting its VMs.
VMM_SUSPEND_MODE = env_choice("VMM_SUSPEND_MODE", ("stop", "pause"), "stop")
VMM_SUSPEND_CLAIM_WAIT = env_int("VMM_SUSPEND_CLAIM_WAIT", 300, minimum=0, maximum=86400)
VMM_TERMINATE_GRACE_HOURS = env_int("VMM_TERMINATE_GRACE_HOURS", 72, minimum=0, maximum=24 * 365)
# Placement: "spread" (most free memory first) or "fill" (one host full before the next).
VMM_PLACEMENT = env_choice("VMM_PLACEMENT", ("spread", "fill"), "spread")
VMM_CPU_OVERCOMMIT = env_int("VMM_CPU_OVERCOMMIT", 4, minimum=1, maximum=64)
VMM_MEMORY_OVERCOMMIT = 1
VMM_DISK_OVERCOMMIT = env_int("VMM_DISK_OVERCOMMIT", 1, minimum=1, maximum=20)
# Seconds a deploy waits for the new guest to come up and report an address.
VMM_BOOT_TIMEOUT = env_int("VMM_BOOT_TIMEOUT", 180, minimum=5, maximum=3600)
# A warm pool's standby VM runs with this much memory while it waits (docs/warm-pool.md).
VMM_WARM_POOL_STANDBY_MEMORY_MB = env_int("VMM_WARM_POOL_STANDBY_MEMORY_MB", 512, minimum=128, maximum=65536)
# Seconds a live migration may take before it is aborted (the VM keeps running on its host).
VMM_MIGRATE_TIMEOUT = env_int("VMM_MIGRATE_TIMEOUT", 600, minimum=10, maximum=86400)
# Where workers keep per-job scratch files (disk overlays being customized, seeds).
VMM_WORK_DIR = Path(env_str("VMM_WORK_DIR", str(DATA_DIR / "work")))
VMM_DEFAULT_POOL = env_str("VMM_DEFAULT_POOL", "vmmanager")
VMM_DEFAULT_POOL_PATH = env_str("VMM_DEFAULT_POOL_PATH", "/var/lib/vmmanager/pool")
# Host watcher (manage.py watch_hosts, docs/health.md): seconds between full state
# reconciliations per host, between reconnect attempts to a lost host, and the leader lease.
VMM_RECONCILE_INTERVAL = env_int("VMM_RECONCILE_INTERVAL", 60, minimum=5, maximum=3600)
VMM_HOST_RETRY_INTERVAL = env_int("VMM_HOST_RETRY_INTERVAL", 5, minimum=1, maximum=300)
# How long a job waits out a lost host (driver calls reconnect, a queued deploy waits for
# its host) before its step fails (docs/outages.md); 0 fails at once.
VMM_HOST_OUTAGE_WINDOW = env_int("VMM_HOST_OUTAGE_WINDOW", 60, minimum=0, maximum=3600)
# How long an API Idempotency-Key is remembered (docs/api.md#idempotency), as Stripe does.
VMM_IDEMPOTENCY_KEY_HOURS = env_int("VMM_IDEMPOTENCY_KEY_HOURS", 24, minimum=1, maximum=24 * 30)
# Public addresses (apps/ipam, docs/addresses.md): seconds a released address waits before
# it is handed out again, so a deleted VM's address does not go to the next customer at once.
VMM_ADDRESS_COOLDOWN = env_int("VMM_ADDRESS_COOLDOWN", 86400, minimum=0, maximum=90 * 86400)
VMM_WATCHER_LEASE = env_int("VMM_WATCHER_LEASE", 30, minimum=3, maximum=600)
# Web consoles (docs/console.md): where the console bridge (manage.py console_bridge) listens,
# and how many seconds a console ticket stays valid before its websocket uses it.
VMM_CONSOLE_BRIDGE = env_str("VMM_CONSOLE_BRIDGE", "127.0.0.1:8017")
VMM_CONSOLE_TICKET_SECONDS = env_int("VMM_CONSOLE_TICKET_SECONDS", 30, minimum=2, maximum=600)
# The panel's own SSH key for qemu+ssh:// hosts and the host keys it has seen (apps/hosts/sshkey.py).
VMM_SSH_DIR = Path(env_str("VMM_SSH_DIR", str(DATA_DIR / "ssh")))

# --- i18n, static ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# Served under a path prefix behind a reverse proxy (docs/containers.md#behind-nginx-under-a-path-prefix):
# the proxy passes the full path, prefix included; every URL the panel makes, its cookies and
# the websockets (vmmanager/asgi.py) carry it.
VMM_URL_PREFIX = env_str("VMM_URL_PREFIX", "").strip().rstrip("/")
if VMM_URL_PREFIX:
    if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", VMM_URL_PREFIX):
        raise ImproperlyConfigured("VMM_URL_PREFIX must look like /panel (letters, digits, . _ ~ - between slashes)")
    FORCE_SCRIPT_NAME = VMM_URL_PREFIX
    SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = LANGUAGE_COOKIE_PATH = VMM_URL_PREFIX + "/"
STATIC_URL = f"{VMM_URL_PREFIX}/static/"
# The container image collects static files into the image, apart from the data volume.
STATIC_ROOT = Path(env_str("VMM_STATIC_ROOT", str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Logging: every line carries the request id ----------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOGGING = {
    "version": 1,
    # daphne hides consumer tracebacks if existing loggers are disabled.
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "vmmanager": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django_q": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# --- Reseller REST API (apps/api, docs/api.md) ------------------------------------------
INSTALLED_APPS += [
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditlog",
    "axes",
    "apps.api",
]
# Appended after the auth middleware: the audit log needs the user, axes the request.
MIDDLEWARE += [
    "apps.core.audit.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",
]
# Axes first (login throttling; it skips calls without a request, e.g. console and test
# logins), then the model backend that refuses blocked users (and customers of blocked resellers).
AUTHENTICATION_BACKENDS = [
    "apps.api.auth.AxesRequestBackend",
    "apps.api.auth.ActiveUserBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.auth.BearerTokenAuthentication",
        "apps.api.auth.BlockAwareSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "apps.api.permissions.ReadOnlyTokenPermission",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "apps.api.filtering.FilterBackend",
        "apps.api.search.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.api.pagination.Cursor",
    "DEFAULT_SCHEMA_CLASS": "apps.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("VMM_API_RATE_ANON", "120/min"),
        "user": env_str("VMM_API_RATE_USER", "6000/min"),
    },
    "EXCEPTION_HANDLER": "apps.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "vmmanager reseller API",
    "DESCRIPTION": "Hosts, images, VMs and their jobs, users, quotas. See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "VisibilityEnum": "apps.images.models.Visibility",
        "BackupScheduleFrequencyEnum": "apps.backups.models.ScheduleFrequency",
        "BackupStateEnum": "apps.backups.models.BackupState",
        "BackupKindEnum": "apps.backups.models.BackupKind",
    },
}
# Audit log: the request id is the correlation id of every entry (also in workers).
AUDITLOG_CID_GETTER = "apps.core.audit.current_request_id"
AUDITLOG_INCLUDE_TRACKING_MODELS = ()
# Login throttling: lock a user name + address after this many failures for this long.
AXES_FAILURE_LIMIT = env_int("VMM_LOGIN_FAILURE_LIMIT", 10, minimum=1, maximum=1000)
AXES_COOLOFF_TIME = env_int("VMM_LOGIN_COOLOFF_MINUTES", 15, minimum=1, maximum=10080) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("VMM_LOGIN_THROTTLING", True)

# --- HTTPS hardening: VMM_HTTPS=true turns all of it on; each variable can override -----
VMM_HTTPS = env_bool("VMM_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", VMM_HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if VMM_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", VMM_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", VMM_HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", VMM_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", VMM_HTTPS)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (only then: it is trusted).
if env_bool("VMM_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Web UI and live updates (apps/ui, apps/live, docs/ui.md) -------------------------
INSTALLED_APPS += ["apps.ui", "apps.live"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TEMPLATES[0]["OPTIONS"]["context_processors"].append("apps.ui.context_processors.ui")
if REDIS_URL:
    # channels-redis waits for messages with a 5 s BZPOPMIN and redis-py 8 stops reading after
    # 5 s by default: every websocket idle for 5 s died with 1011 (measured, docs/ui.md).
    # Reads must outlast the poll. (UI engineer's fix: the lead may move it into CHANNEL_LAYERS.)
    for _host in CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]:
        _host.setdefault("socket_timeout", 15)

# --- Statistics (apps/stats, docs/stats.md) -----------------------------------------------
INSTALLED_APPS += ["apps.stats"]

# --- E-mail notices (apps/notices, docs/notices.md) ---------------------------------------
INSTALLED_APPS += ["apps.notices"]
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1, maximum=600)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "vmmanager@localhost")
# Off: no notices are sent at all (e.g. no mail server yet).
VMM_EMAIL_NOTICES = env_bool("VMM_EMAIL_NOTICES", True)

# --- Webhooks (apps/webhooks, docs/webhooks.md) -----------------------------------------------
INSTALLED_APPS += ["apps.webhooks"]
# Monthly traffic and its limits (apps/traffic, docs/traffic.md); VMM_BILLING_TIME_ZONE below.
INSTALLED_APPS += ["apps.traffic"]
# Backups into restic repositories (apps/backups, docs/backups.md); restic's cache of
# repository metadata lives here (safe to delete: restic reads it back).
INSTALLED_APPS += ["apps.backups"]
VMM_RESTIC_CACHE_DIR = Path(env_str("VMM_RESTIC_CACHE_DIR", str(DATA_DIR / "restic-cache")))
# A single file taken out of a backup (docs/backups.md): kept for its owner to download in
# this private directory, at most VMM_BACKUP_FILE_MAX_MB large, for VMM_BACKUP_FILE_TTL_HOURS;
# a user holds at most VMM_BACKUP_FILES_PER_USER of them (being taken out or downloadable).
VMM_BACKUP_FILES_DIR = Path(env_str("VMM_BACKUP_FILES_DIR", str(DATA_DIR / "backup-files")))
VMM_BACKUP_FILE_MAX_MB = env_int("VMM_BACKUP_FILE_MAX_MB", 512, minimum=1, maximum=1024 * 1024)
VMM_BACKUP_FILE_TTL_HOURS = env_int("VMM_BACKUP_FILE_TTL_HOURS", 24, minimum=1, maximum=24 * 30)
VMM_BACKUP_FILES_PER_USER = env_int("VMM_BACKUP_FILES_PER_USER", 5, minimum=1, maximum=1000)
# Networks webhooks may be sent to besides public addresses (SSRF: private, loopback and
# link-local addresses are refused unless listed here), e.g. "10.1.2.0/24,127.0.0.1/32".
VMM_WEBHOOK_ALLOWED_NETWORKS = env_list("VMM_WEBHOOK_ALLOWED_NETWORKS")
for _net in VMM_WEBHOOK_ALLOWED_NETWORKS:
    try:
        __import__("ipaddress").ip_network(_net, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"VMM_WEBHOOK_ALLOWED_NETWORKS: {_net!r} is not a network ({_exc})") from None
VMM_WEBHOOK_ALLOW_PUBLIC = env_bool("VMM_WEBHOOK_ALLOW_PUBLIC", True)
VMM_WEBHOOK_TIMEOUT = env_int("VMM_WEBHOOK_TIMEOUT", 10, minimum=1, maximum=120)
VMM_WEBHOOK_BACKOFF = env_int("VMM_WEBHOOK_BACKOFF", 30, minimum=1, maximum=3600)
VMM_WEBHOOK_RETRY_HOURS = env_int("VMM_WEBHOOK_RETRY_HOURS", 24, minimum=1, maximum=24 * 7)
VMM_STATS_INTERVAL = env_int("VMM_STATS_INTERVAL", 10, minimum=1, maximum=3600)
VMM_STATS_RAW_HOURS = env_int("VMM_STATS_RAW_HOURS", 24, minimum=1, maximum=24 * 90)
VMM_STATS_MINUTE_DAYS = env_int("VMM_STATS_MINUTE_DAYS", 7, minimum=1, maximum=365)
VMM_STATS_HOUR_DAYS = env_int("VMM_STATS_HOUR_DAYS", 90, minimum=1, maximum=3650)
VMM_STATS_DAY_DAYS = env_int("VMM_STATS_DAY_DAYS", 730, minimum=1, maximum=36500)
VMM_STATS_NICE = env_int("VMM_STATS_NICE", 10, minimum=0, maximum=19)
# Monthly traffic (docs/traffic.md): months begin at midnight on the 1st in this zone.
VMM_BILLING_TIME_ZONE = env_str("VMM_BILLING_TIME_ZONE", TIME_ZONE)
try:
    __import__("zoneinfo").ZoneInfo(VMM_BILLING_TIME_ZONE)
except (ValueError, LookupError) as _exc:
    raise ImproperlyConfigured(f"VMM_BILLING_TIME_ZONE: {VMM_BILLING_TIME_ZONE!r} is not a time zone") from None
# Bearer token Prometheus sends to /metrics; unset: /metrics answers 404 (off).
VMM_METRICS_TOKEN = env_str("VMM_METRICS_TOKEN")
STATS_DATABASE_URL = env_url("STATS_DATABASE_URL", ("postgres", "postgresql", "sqlite"))
if STATS_DATABASE_URL:
    DATABASES["stats"] = environ.Env.db_url_config(STATS_DATABASE_URL)
    if DATABASES["stats"]["ENGINE"].endswith("sqlite3"):
        DATABASES["stats"]["OPTIONS"] = dict(_SQLITE_OPTIONS)
    else:
        DATABASES["stats"].setdefault("OPTIONS", {})["application_name"] = APPLICATION_NAME
# Appended to whatever routers are set above (the embedded channel layer's, or none).
DATABASE_ROUTERS = [*globals().get("DATABASE_ROUTERS", []), "apps.stats.router.StatsRouter"]

# --- Content-Security-Policy (django-csp; docs/ui.md#content-security-policy) ---------------
# Enforced on every response: scripts, styles, images and fonts from the panel itself only,
# no inline script or style anywhere. The middleware adds ws:// and wss:// of the host the
# page was asked from to connect-src (live updates), since 'self' alone does not cover
# websockets in every browser.
INSTALLED_APPS += ["csp"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "apps.core.csp.PanelCSPMiddleware"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Two-factor sign-in (django-otp; docs/ui.md#two-factor-sign-in) ------------------------
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
    "apps.ui.two_factor.EnrolmentRequiredMiddleware",
)
# Staff without a confirmed TOTP device are sent to enrol before anything else.
VMM_REQUIRE_2FA_FOR_STAFF = env_bool("VMM_REQUIRE_2FA_FOR_STAFF", False)
OTP_TOTP_ISSUER = env_str("VMM_2FA_ISSUER", "vmmanager")
# Seconds a password-checked sign-in waits for its second factor.
VMM_2FA_PENDING_SECONDS = 300

# --- LDAP for staff (django-auth-ldap; docs/configuration.md#ldap-for-staff) ---------------
# Always listed after the local accounts (a local admin signs in whether the directory
# answers or not); it does nothing while VMM_LDAP_URI is unset.
AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "apps.accounts.directory.StaffDirectoryBackend"]
globals().update(
    ldap_settings(
        uri=env_str("VMM_LDAP_URI"),
        bind_dn=env_str("VMM_LDAP_BIND_DN", ""),
        bind_password=env_str("VMM_LDAP_BIND_PASSWORD", ""),
        user_base=env_str("VMM_LDAP_USER_BASE"),
        user_filter=env_str("VMM_LDAP_USER_FILTER", "(uid=%(user)s)"),
        staff_group=env_str("VMM_LDAP_STAFF_GROUP"),
        start_tls=env_bool("VMM_LDAP_START_TLS", False),
        timeout=env_int("VMM_LDAP_TIMEOUT", 5, minimum=1, maximum=120),
    )
)
