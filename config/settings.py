"""Fieldstock settings, read from the environment.

DATABASE_URL   PostgreSQL database (default: the embedded cluster in .pgdata/, scripts/devdb.py)
DATABASE_WORK_MEM  PostgreSQL work_mem per connection (default 16MB; "" keeps the server's)
SECRET_KEY     required when DEBUG is off
DEBUG          "1"/"true" to turn on debug mode (off by default)
ALLOWED_HOSTS  comma-separated host names
CSRF_TRUSTED_ORIGINS  comma-separated origins (https://example.com)
EMAIL_HOST     SMTP server; unset: mail is printed to the console
EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, DEFAULT_FROM_EMAIL
LEDGER_KEY     secret for the ledger's HMAC chain (default: derived from SECRET_KEY)
SESSION_IDLE_MINUTES, SESSION_MAX_HOURS, LOGIN_FAILURE_LIMIT, LOGIN_ADDRESS_FAILURE_LIMIT,
LOGIN_COOLOFF_MINUTES, TRUSTED_PROXY_COUNT
REQUEST_MAX_BYTES, ADMIN_SEARCH_MAX_TERMS, PO_DECOMPRESSED_MAX_BYTES, PO_DECOMPRESSION_RATIO_MAX
SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS, SECURE_PROXY_SSL_HEADER   HTTPS (on by default)
DOCUMENT_STORAGE  "filesystem" (MEDIA_ROOT, the default) or "database" (PostgreSQL, shared)
TASKS_BACKEND  "database" (a worker process runs them, the default) or "immediate"
DEV_TOOLS      "1" installs the development app (benchmarks, seed_scale) with DEBUG off
DATABASE_REPLICA_URL  a streaming replica for reports, exports and API lists (core.replica);
REPLICA_LAG_MAX_SECONDS, REPLICA_CHECK_SECONDS, READ_YOUR_WRITES_SECONDS
DATABASE_POOLER  "pgbouncer": the database URLs name pgbouncer in transaction mode
CONN_MAX_AGE, CONN_HEALTH_CHECKS, DATABASE_CONNECT_TIMEOUT   connections
TASK_QUEUE_AGE_MAX_SECONDS, DATABASE_CHECK_TIMEOUT_MS  /readyz; METRICS_TOKEN  /metrics
LOG_FORMAT     "json" (default with DEBUG off) or "text"
README.md's configuration table lists every variable.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(or DEBUG=1 for local development)."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "accounts.apps.FieldstockAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # contracts: exclusion constraints over date ranges
    "django_htmx",
    "django_filters",
    "django_tables2",
    "django_tasks_db",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "axes",
    "accounts",
    "ops",
    "inventory",
    "consignment",
    "contracts",
    "events",
    "commissions",
    "billing",
    "recalls",
    "reporting",
    "api",
    "demo",
]
# Development tooling (bench_pages, bench_pdf, seed_scale): never in production. Installed when
# DEBUG is on, or with DEV_TOOLS=1 (scripts/bench times the pages with DEBUG off).
DEV_TOOLS = DEBUG or env_bool("DEV_TOOLS", False)
if DEV_TOOLS:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    # First: the request id (logs, X-Request-ID) and the latency metric cover every answer.
    "ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The security headers come before every middleware that may answer early (the 413 of an
    # oversized body, the 400 of refused input), so every response carries them.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "accounts.middleware.SecurityHeadersMiddleware",
    "accounts.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The filter bars' option lists are kept per organisation version (core.options).
    "accounts.middleware.OptionsReaderMiddleware",
    # After a write, this client's reads stay on the primary for a moment (core.replica).
    "core.replica.ReadYourWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionIdleTimeoutMiddleware",
    "accounts.middleware.HostileInputMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.currency",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# PostgreSQL only. Without DATABASE_URL: the embedded cluster that `make run` and `make test`
# start (scripts/devdb.py), on its unix socket in .pgdata/ (nothing connects at import time, so
# `check --deploy`, `makemigrations --check` and `collectstatic` need no running server).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL")
        or f"postgres://postgres@{quote(str(BASE_DIR / '.pgdata'), safe='')}/fieldstock",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://…).")
# The services own their transactions; no lock is held while a template renders.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# PostgreSQL's memory per sort or hash of a query (DATABASE_WORK_MEM, default 16MB; "" keeps the
# server's, 4MB out of the box): the reports' grouping of a year of event lines otherwise
# spills its sorts to disk. A few connections per app instance, so a few times this at most.
# Behind pgbouncer (DATABASE_POOLER=pgbouncer, transaction mode) a startup "options" parameter
# is refused: pgbouncer's connect_query sets work_mem instead (scripts/serve-prod).
DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "").strip().lower()
if DATABASE_POOLER not in {"", "pgbouncer"}:
    raise ImproperlyConfigured("DATABASE_POOLER must be empty or 'pgbouncer'.")
if os.environ.get("DATABASE_WORK_MEM", "16MB") and not DATABASE_POOLER:
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c work_mem={os.environ.get('DATABASE_WORK_MEM', '16MB')}")
# A connection found broken (the server restarted) is replaced at the next request instead of
# failing it; a server that does not answer fails within DATABASE_CONNECT_TIMEOUT seconds.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("CONN_HEALTH_CHECKS", True)
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
    os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
if DATABASE_POOLER == "pgbouncer":
    # Transaction pooling hands each transaction any server connection: a server-side cursor
    # (a named cursor outliving its transaction: QuerySet.iterator(), the CSV exports) or a
    # prepared statement would be looked for on another connection. Django's iterator() then
    # fetches in chunks from a client-side cursor; psycopg prepares nothing.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None

# A streaming replica (PostgreSQL hot standby) for reads that tolerate a second of lag: reports,
# the dashboard, CSV exports, API lists (core.replica: ReplicaRouter, replica_reads).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {
        **DATABASES["default"],
        **dj_database_url.parse(os.environ["DATABASE_REPLICA_URL"],
                                conn_max_age=DATABASES["default"]["CONN_MAX_AGE"]),
        "OPTIONS": dict(DATABASES["default"]["OPTIONS"]),
        # Behind pgbouncer in transaction mode the replica's reads (the CSV exports' iterator())
        # need client-side cursors too; dj_database_url's parse would turn them back on.
        "DISABLE_SERVER_SIDE_CURSORS": DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS",
                                                                False),
        "ATOMIC_REQUESTS": False,
        # The test database of the replica is the default's, seen through the router.
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
# Reads fall back to the primary when the replica lags past this, or is down (checked at most
# every REPLICA_CHECK_SECONDS); a user's reads stay on the primary READ_YOUR_WRITES_SECONDS after
# their own write.
REPLICA_LAG_MAX_SECONDS = float(os.environ.get("REPLICA_LAG_MAX_SECONDS", "1"))
REPLICA_CHECK_SECONDS = float(os.environ.get("REPLICA_CHECK_SECONDS", "1"))
READ_YOUR_WRITES_SECONDS = float(os.environ.get("READ_YOUR_WRITES_SECONDS", "5"))

# /readyz answers 503 when the primary does not answer a query within DATABASE_CHECK_TIMEOUT_MS,
# or a task ready to run has waited more than TASK_QUEUE_AGE_MAX_SECONDS (the worker is down).
DATABASE_CHECK_TIMEOUT_MS = int(os.environ.get("DATABASE_CHECK_TIMEOUT_MS", "2000"))
TASK_QUEUE_AGE_MAX_SECONDS = float(os.environ.get("TASK_QUEUE_AGE_MAX_SECONDS", "300"))
# A task RUNNING longer than this was left by a dead worker: `manage.py requeue_stale_tasks`
# puts it back in the queue.
TASK_RUNNING_TIMEOUT = float(os.environ.get("TASK_RUNNING_TIMEOUT", "600"))
# A document render whose file the storage refused (a full disk) is tried again after
# DOCUMENT_RETRY_SECONDS, doubling up to DOCUMENT_RETRY_MAX_SECONDS (billing.tasks).
DOCUMENT_RETRY_SECONDS = float(os.environ.get("DOCUMENT_RETRY_SECONDS", "30"))
DOCUMENT_RETRY_MAX_SECONDS = float(os.environ.get("DOCUMENT_RETRY_MAX_SECONDS", "900"))
# /metrics (Prometheus): with METRICS_TOKEN, for "Authorization: Bearer <token>"; without it, only
# for a client on this machine that did not come through nginx.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes refuses a locked-out username or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, the signed-in user read with their organisation (one query). A session
    # started under "django.contrib.auth.backends.ModelBackend" (before this backend) is signed
    # out once: Django keeps the backend's path in the session.
    "accounts.backends.OrganizationModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Generated documents and PO uploads. "filesystem": MEDIA_ROOT, for one machine (the embedded
# default). "database": rows of PostgreSQL (core.StoredFile), which every app instance sees.
DOCUMENT_STORAGE = os.environ.get("DOCUMENT_STORAGE", "filesystem").strip().lower()
if DOCUMENT_STORAGE not in {"filesystem", "database"}:
    raise ImproperlyConfigured("DOCUMENT_STORAGE must be 'filesystem' or 'database'.")
STORAGES = {
    "default": (
        {"BACKEND": "core.storage.DatabaseStorage"}
        if DOCUMENT_STORAGE == "database"
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": os.environ.get("MEDIA_ROOT", str(BASE_DIR / "private"))},
        }
    ),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
# Uploaded and generated files are private: never served from a public URL, only through views
# that check the organisation. (No URL is routed under this prefix.)
MEDIA_URL = "/private-files-are-not-served/"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Uploaded purchase orders: PDF only, at most this many bytes.
PO_UPLOAD_MAX_BYTES = int(os.environ.get("PO_UPLOAD_MAX_BYTES", str(5 * 1024 * 1024)))
# How long a facility's recall acknowledgement link (signed, no login) stays valid.
RECALL_ACK_LINK_DAYS = int(os.environ.get("RECALL_ACK_LINK_DAYS", "30"))
# Pending PO reminders (manage.py send_po_reminders): a rep hears about their events waiting for
# a PO more than this many days after the case.
PENDING_PO_REMINDER_DAYS = int(os.environ.get("PENDING_PO_REMINDER_DAYS", "14"))
# Its streams may expand to at most this many bytes, and this many times the file's size (a
# compression bomb is refused; billing.po_checks decompresses with these caps).
PO_DECOMPRESSED_MAX_BYTES = int(os.environ.get("PO_DECOMPRESSED_MAX_BYTES",
                                               str(64 * 1024 * 1024)))
PO_DECOMPRESSION_RATIO_MAX = int(os.environ.get("PO_DECOMPRESSION_RATIO_MAX", "100"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Any request body larger than this is refused with 413 before it is read
# (accounts.middleware.RequestSizeLimitMiddleware), as nginx's client_max_body_size 12m does.
REQUEST_MAX_BYTES = int(os.environ.get("REQUEST_MAX_BYTES", str(12 * 1024 * 1024)))

# The Django admin's search box: at most this many words are searched (accounts.admin_base).
# Mark Used flags a unit expiring within this many days (a badge on each search result).
MARK_USED_EXPIRY_WARNING_DAYS = int(os.environ.get("MARK_USED_EXPIRY_WARNING_DAYS", "30"))
ADMIN_SEARCH_MAX_TERMS = int(os.environ.get("ADMIN_SEARCH_MAX_TERMS", "5"))

# Content Security Policy: our own static files, and nonces; no inline scripts.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HTTPS by default in production: redirect plain HTTP and send HSTS (one year). A plain-HTTP run
# on localhost sets SECURE_SSL_REDIRECT=0 (and SECURE_COOKIES=0); behind a TLS-terminating proxy,
# SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https" tells Django which requests were HTTPS.
SECURE_SSL_REDIRECT = not DEBUG and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# "preload" only marks the header as eligible; the domain joins browsers' lists only when submitted.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    header, _, value = os.environ["SECURE_PROXY_SSL_HEADER"].partition(",")
    if not header.strip() or not value.strip():
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must look like 'HTTP_X_FORWARDED_PROTO,https'."
        )
    SECURE_PROXY_SSL_HEADER = (header.strip(), value.strip())

# Background work (rendering documents, sending mail) runs as tasks of Django's tasks framework.
# "database": django-tasks-db stores them in the database and `manage.py db_worker` runs them.
# "immediate": run in the process that enqueues them (the tests, a single dev server).
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
}
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "database").strip().lower()
if TASKS_BACKEND not in TASK_BACKENDS:
    raise ImproperlyConfigured("TASKS_BACKEND must be 'database' or 'immediate'.")
TASKS = {"default": {"BACKEND": TASK_BACKENDS[TASKS_BACKEND], "QUEUES": ["default"]}}

# Sent on every response by accounts.middleware.SecurityHeadersMiddleware.
PERMISSIONS_POLICY = (
    "camera=(self), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "interest-cohort=()"
)

# Sessions end after SESSION_IDLE_MINUTES without a request (accounts.middleware), and at the
# latest SESSION_MAX_HOURS after login.
SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
SESSION_MAX_HOURS = int(os.environ.get("SESSION_MAX_HOURS", "12"))
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600

# Login lockout (django-axes, policy in accounts.lockout): after LOGIN_FAILURE_LIMIT wrong
# passwords for one username from one address, that username is refused from that address for
# LOGIN_COOLOFF_MINUTES, even with the right password; an address alone is locked only after
# LOGIN_ADDRESS_FAILURE_LIMIT wrong passwords across usernames. Admins unlock in Admin → Users →
# Login locks, or with `manage.py unlock_login USERNAME` (works when every admin is locked out).
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "50"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "accounts.lockout.FieldstockAxesHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "accounts.security.client_ip"
# How many reverse proxies (nginx) stand in front of the app and append to X-Forwarded-For; 0 uses
# the connection's address.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

# The ledger's HMAC chain key: kept outside the database. Without LEDGER_KEY it is derived from
# SECRET_KEY with its own salt (rotating SECRET_KEY then needs a re-keyed chain: set LEDGER_KEY
# to the old derived value first; see README "Security").
LEDGER_KEY = os.environ.get("LEDGER_KEY", "")

# Email (Django 6.1 MAILERS). Without EMAIL_HOST, mail is printed to the console.
if os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["EMAIL_HOST"],
                "port": int(os.environ.get("EMAIL_PORT", "587")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "fieldstock@localhost")

# The REST API (api/): tokens or a signed-in session; JSON only; keyset pages; a rate per token.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ApiAccess"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.IdCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fieldstock API",
    "DESCRIPTION": "Devices, events, billing documents, transfers, kits and loans of your "
                   "organisation. "
                   "Writes follow the same rules as the pages. See README \"API\".",
    "VERSION": "1",
    "SERVE_PERMISSIONS": ["api.permissions.ApiAccess"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "DeviceStatusEnum": "inventory.models.DeviceStatus",
        "EventStatusEnum": "events.models.EventStatus",
        "EventTypeEnum": "events.models.EventType",
        "TransferStatusEnum": "inventory.models.TransferStatus",
        "KitStatusEnum": "inventory.kit_models.KitStatus",
    },
}
# Requests per token (or per signed-in user) per second/min/hour/day.
API_THROTTLE_RATE = os.environ.get("API_THROTTLE_RATE", "600/min")
# Webhooks may reach only public addresses unless this is on (local runs and the tests).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
# An endpoint failing this many attempts in a row is disabled.
WEBHOOK_DISABLE_AFTER = int(os.environ.get("WEBHOOK_DISABLE_AFTER", "15"))

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"

# Every record carries the request id (ops.logs.RequestIdFilter); LOG_FORMAT=json writes one JSON
# object a line (the default in production), text a readable line.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "no_4xx_traceback": {"()": "config.logfilters.ClientErrorWithoutTraceback"},
        "request_id": {"()": "ops.logs.RequestIdFilter"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}",
            "style": "{",
        },
        "json": {"()": "ops.logs.JsonFormatter"},
        "text": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                    "formatter": "json" if LOG_FORMAT == "json" else "text"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Each line once: Django's own loggers print through root only (its default "django"
        # handler would print them a second time); runserver's access log keeps its format.
        "django": {"handlers": [], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.request": {"filters": ["no_4xx_traceback"]},
        # WeasyPrint reports every rendering step at INFO.
        "weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"},
    },
}
