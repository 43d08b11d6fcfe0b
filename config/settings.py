"""The one settings module. Every deploy-specific value comes from the environment; the
defaults are the embedded development setup (SQLite, django-q2's ORM broker, local files,
the provider emulator) and are not fit for production (DEBUG on, a development SECRET_KEY)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import tempfile
from decimal import Decimal
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set SECRET_KEY: the development default is not allowed with DEBUG off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Production (DEBUG off) is served over HTTPS only, behind a proxy that terminates TLS and sets
# X-Forwarded-Proto (deploy/nginx.conf): secure cookies, HTTP redirected to HTTPS, a year of HSTS for
# the domain and its subdomains, preload-ready. Each is switchable for an operator whose setup
# differs (a proxy that redirects itself: SECURE_SSL_REDIRECT=0; a proxy with another header:
# SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_SSL,on). `manage.py check --deploy` passes with the
# defaults (tests/ops/test_deploy_settings.py).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Health checks and the metrics scrape come from inside the network, over plain HTTP, by address:
# ops.middleware.ProbeMiddleware answers them before the Host check and this redirect.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("BEHIND_TLS_PROXY", default=not DEBUG):
    _proxy_header = env.list("SECURE_PROXY_SSL_HEADER", default=["HTTP_X_FORWARDED_PROTO", "https"])
    SECURE_PROXY_SSL_HEADER = (_proxy_header[0], _proxy_header[1])
# Content-Security-Policy (config/security_headers.py): scripts, styles and media from this site
# only; no inline script or style anywhere (the dashboard's behaviours are in static/js/parley.js).
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
PORT = env.int("PORT", default=8000)
# The absolute address at which providers can fetch our signed URLs and call our webhooks.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "drf_spectacular_sidecar",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "django_q",
    "allauth",
    "allauth.account",
    "accounts",
    "providers",
    "jobs",
    "billing",
    "idempotency",
    "webhooks",
    "console",
    "ops",
    "django_prometheus",
]

MIDDLEWARE = [
    "config.request_id.RequestIdMiddleware",  # outermost: its header is on every answer, errors included
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "ops.middleware.ProbeMiddleware",  # /healthz, /readyz, /metrics: before the Host check and the HTTPS redirect
    "django.middleware.security.SecurityMiddleware",
    "config.security_headers.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.ActiveTenantMiddleware",
    "accounts.time_zone.TimeZoneMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

if not DEBUG:  # static files in production (in development runserver serves them itself)
    MIDDLEWARE.insert(MIDDLEWARE.index("config.security_headers.ContentSecurityPolicyMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")

# Database sessions whose cookie is checked before it is looked up (config/sessions.py).
SESSION_ENGINE = "config.sessions"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'parley.sqlite3'}")}
# Persistent connections (seconds; 0 closes each after its request or poll): the poller, the workers
# and gunicorn reuse one connection per thread instead of paying a PostgreSQL connect (~7 ms) each time.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the workers share one file: WAL, IMMEDIATE transactions and a busy
    # timeout so that concurrent writers wait instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
    )
    # Tests use a file too, so that worker subprocesses can share it; one per test process, so
    # that two test runs on one machine never share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"parley-test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and task broker ------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Test workers (pytest-xdist) each get their own queue so that their tasks never mix.
# The run's id is in the name too, so a task left in Redis by an interrupted run is never picked up.
_XDIST = os.environ.get("PYTEST_XDIST_WORKER", "")
_XDIST_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:12]
Q_CLUSTER_NAME = env.str("Q_CLUSTER_NAME", default=f"parley-test-{_XDIST_RUN}-{_XDIST}" if _XDIST else "parley")
Q_CLUSTER = {
    "name": Q_CLUSTER_NAME,
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=900),  # a long local render may take minutes
    "retry": env.int("Q_RETRY", default=960),
    "max_attempts": 1,  # retries are job state (next_attempt_at), not broker redeliveries
    "ack_failures": True,
    "save_limit": 500,
    "queue_limit": 50,
    "label": "Task queue",
    "catch_up": False,
    "poll": 0.5,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    Q_CLUSTER["orm"] = "default"
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth and accounts (django-allauth) ----------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
ACCOUNT_LOGOUT_ON_GET = False
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Parley <no-reply@parley.localhost>")
# SMTP, used when EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend (production).
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# How long a team invitation's link works (accounts.invitations).
INVITATION_MAX_AGE_S = env.int("INVITATION_MAX_AGE_S", default=7 * 24 * 3600)
# How long the link that shows a new API key's secret once may be followed (accounts.key_reveal).
API_KEY_REVEAL_MAX_AGE_S = env.int("API_KEY_REVEAL_MAX_AGE_S", default=120)

# --- Limits on guessing: API keys and sign-in ---------------------------------------------
# Failed API-key authentications per client IP and per key prefix, counted in the cache (shared by
# the web processes when REDIS_URL is set); past a limit the API answers 429 with Retry-After.
API_KEY_FAILURE_WINDOW_S = env.int("API_KEY_FAILURE_WINDOW_S", default=60)
API_KEY_FAILURES_PER_IP = env.int("API_KEY_FAILURES_PER_IP", default=20)
API_KEY_FAILURES_PER_PREFIX = env.int("API_KEY_FAILURES_PER_PREFIX", default=100)
# Request rates of the API (accounts/rate_limits.py), in fixed windows of API_RATE_WINDOW_S seconds,
# per API key and per tenant (the operator may override both per tenant, in the admin); counted in
# Redis when REDIS_URL is set, so every web process shares them.
API_RATE_WINDOW_S = env.int("API_RATE_WINDOW_S", default=60)
API_RATE_LIMIT_PER_KEY = env.int("API_RATE_LIMIT_PER_KEY", default=1200)
API_RATE_LIMIT_PER_TENANT = env.int("API_RATE_LIMIT_PER_TENANT", default=3000)
# allauth's sign-in lockout (its defaults, the lockout named): 10 failures a minute per IP, 5 per
# address per SIGN_IN_LOCKOUT_S; our adapter answers it with a 429 page.
SIGN_IN_LOCKOUT_S = env.int("SIGN_IN_LOCKOUT_S", default=300)
ACCOUNT_RATE_LIMITS = {"login_failed": f"10/m/ip,5/{SIGN_IN_LOCKOUT_S}s/key"}
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"

# --- Internationalisation, static and media -----------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static", ("samples", BASE_DIR / "samples")]  # the getting-started page links samples/
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))  # where collectstatic writes
# Until collectstatic has run, WhiteNoise serves the source folders and the pages link them
# (config/static_files.py), instead of every page failing; a deploy runs collectstatic first.
WHITENOISE_USE_FINDERS = DEBUG or not (STATIC_ROOT / "staticfiles.json").is_file()
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")  # "local" or "s3"
if STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "config.static_files.CollectedOrSourceStaticFilesStorage"
    },
}

# Upload limits (bytes) per asset kind; a request body may be as large as the largest.
ASSET_MAX_BYTES = {
    "image": env.int("ASSET_MAX_IMAGE_BYTES", default=20 * 1024 * 1024),
    "audio": env.int("ASSET_MAX_AUDIO_BYTES", default=100 * 1024 * 1024),
    "video": env.int("ASSET_MAX_VIDEO_BYTES", default=100 * 1024 * 1024),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Bounds of probing one upload in the web request (providers.media.ProbeLimits): wall-clock
# seconds, and packets demuxed (no model takes more than 10 minutes of sound: under 30,000 packets
# in any common codec). Frame sizes and WAV chunks are capped in providers.media itself.
MEDIA_PROBE_TIME_BUDGET_S = env.float("MEDIA_PROBE_TIME_BUDGET_S", default=10.0)
MEDIA_PROBE_MAX_PACKETS = env.int("MEDIA_PROBE_MAX_PACKETS", default=50_000)
SIGNED_URL_TTL_S = env.int("SIGNED_URL_TTL_S", default=3600)

# --- Outbound URLs (outbound/policy.py) ----------------------------------------------------
# Every URL someone else gave us (provider outputs, URL inputs, webhooks) is fetched from public
# addresses only. An operator may allow private hosts or networks: comma-separated CIDRs
# ("10.1.0.0/16", "127.0.0.1/32") and host names ("models.internal").
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])
# URL inputs are fetched in the web request: each network wait is capped (OUTBOUND_FETCH_TIMEOUT_S),
# and so is the whole of a request's fetches (OUTBOUND_FETCH_TOTAL_S, within nginx's 60 s).
OUTBOUND_FETCH_TIMEOUT_S = env.float("OUTBOUND_FETCH_TIMEOUT_S", default=10.0)
OUTBOUND_FETCH_TOTAL_S = env.float("OUTBOUND_FETCH_TOTAL_S", default=30.0)
# A data: URI input is decoded in the request: its decoded size is capped (bytes).
DATA_URI_MAX_BYTES = env.int("DATA_URI_MAX_BYTES", default=5 * 1024 * 1024)

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.Pagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "config.exception_handler.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.openapi.ApiAutoSchema",
    "UNAUTHENTICATED_USER": None,
}
# Idempotency-Key on creating POSTs (idempotency/api.py): a key is kept this long; a repeat arriving
# while the first request runs waits up to IDEMPOTENCY_WAIT_S for its answer (then 409); a key whose
# request died unanswered may be taken over after IDEMPOTENCY_LOCK_TIMEOUT_S.
IDEMPOTENCY_KEY_TTL_S = env.int("IDEMPOTENCY_KEY_TTL_S", default=24 * 3600)
IDEMPOTENCY_WAIT_S = env.float("IDEMPOTENCY_WAIT_S", default=10.0)
IDEMPOTENCY_LOCK_TIMEOUT_S = env.int("IDEMPOTENCY_LOCK_TIMEOUT_S", default=60)
SPECTACULAR_SETTINGS = {
    "TITLE": "Parley API",
    "DESCRIPTION": (
        "Talking and singing videos from a still image and speech. Send your API key as "
        "`Authorization: Bearer <key>`; upload files as assets, create a job with a catalogue model and its "
        "input, follow it, download its MP4. Lists are cursor pages `{next, previous, results}`; every error is "
        "`{\"error\": {\"code\", \"message\", \"fields\"?}}`. The interactive reference is at /api/v1/docs."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files are served from this site (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "jobs.models.JobStatus.choices",
        "RoleEnum": "accounts.models.Role.choices",
        "ApiKeyCreateRoleEnum": ["admin", "member", "viewer"],
        "JobObjectEnum": ["job"],  # a job and a list's job summary say the same `object`
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "providers.openapi.add_model_input_components",
    ],
}

# --- Providers -----------------------------------------------------------------------------
# A provider whose key is set is called for real; one whose key is unset is served by the
# provider emulator at PROVIDER_EMULATOR_URL (started by `make run`).
PROVIDER_EMULATOR_URL = env.str("PROVIDER_EMULATOR_URL", default="http://127.0.0.1:8700").rstrip("/")
PROVIDER_EMULATOR_KEY = env.str("PROVIDER_EMULATOR_KEY", default="emulator-key")
# Derived from SECRET_KEY unless set: the emulator (started with these settings) and the platform
# share it, and nobody else can sign an "emulated" webhook.
PROVIDER_EMULATOR_WEBHOOK_SECRET = env.str(
    "PROVIDER_EMULATOR_WEBHOOK_SECRET",
    default="whsec_" + base64.b64encode(
        hmac.new(SECRET_KEY.encode(), b"parley provider emulator webhooks", hashlib.sha256).digest()
    ).decode(),
)
WAVESPEED_BASE_URL = env.str("WAVESPEED_BASE_URL", default="https://api.wavespeed.ai").rstrip("/")
WAVESPEED_API_KEY = env.str("WAVESPEED_API_KEY", default="")
WAVESPEED_WEBHOOK_SECRET = env.str("WAVESPEED_WEBHOOK_SECRET", default="")
WAVESPEED_PRICING_PATH = env.str("WAVESPEED_PRICING_PATH", default="/api/v3/model/pricing")
# How far a provider's reported output length may be from our probe before reconciliation lists it.
PROVIDER_DURATION_TOLERANCE_S = env.str("PROVIDER_DURATION_TOLERANCE_S", default="0.1")
# ... and how far a provider's own price for a delivered job (WaveSpeed's price endpoint) may be from ours.
PROVIDER_PRICE_TOLERANCE = env.str("PROVIDER_PRICE_TOLERANCE", default="0.005")
FAL_QUEUE_BASE_URL = env.str("FAL_QUEUE_BASE_URL", default="https://queue.fal.run").rstrip("/")
FAL_KEY = env.str("FAL_KEY", default="")
FAL_JWKS_URL = env.str("FAL_JWKS_URL", default="https://rest.fal.ai/.well-known/jwks.json")
DASHSCOPE_BASE_URL = env.str("DASHSCOPE_BASE_URL", default="https://dashscope-intl.aliyuncs.com/api/v1").rstrip("/")
DASHSCOPE_API_KEY = env.str("DASHSCOPE_API_KEY", default="")
PROVIDER_CONNECT_TIMEOUT_S = env.float("PROVIDER_CONNECT_TIMEOUT_S", default=5.0)
PROVIDER_READ_TIMEOUT_S = env.float("PROVIDER_READ_TIMEOUT_S", default=30.0)
PROVIDER_MAX_RETRIES = env.int("PROVIDER_MAX_RETRIES", default=3)
# Connections each process keeps per provider account (one long-lived pool; see providers/registry.py).
PROVIDER_POOL_CONNECTIONS = env.int("PROVIDER_POOL_CONNECTIONS", default=64)
# Wall-clock cap (seconds) on downloading one provider output (up to 4 GB), each wait aside.
OUTPUT_DOWNLOAD_TOTAL_S = env.float("OUTPUT_DOWNLOAD_TOTAL_S", default=1800.0)
# Concurrency caps per provider account (tasks in flight); the job layer holds the rest queued.
PROVIDER_CONCURRENCY = {
    "local": env.int("LOCAL_CONCURRENCY", default=2),
    "wavespeed": env.int("WAVESPEED_CONCURRENCY", default=2),
    "fal": env.int("FAL_CONCURRENCY", default=10),
    "dashscope": env.int("DASHSCOPE_CONCURRENCY", default=5),
}

# --- Jobs ----------------------------------------------------------------------------------
JOB_POLL_INTERVAL_S = env.float("JOB_POLL_INTERVAL_S", default=2.0)  # first poll; then backoff
JOB_POLL_MAX_INTERVAL_S = env.float("JOB_POLL_MAX_INTERVAL_S", default=30.0)
# Providers without webhooks (DashScope) are polled every JOB_POLL_NEAR_INTERVAL_S from
# JOB_POLL_NEAR_FRACTION of the model's median render time (jobs/pipeline/render_times.py) on.
JOB_POLL_NEAR_INTERVAL_S = env.float("JOB_POLL_NEAR_INTERVAL_S", default=2.0)
JOB_POLL_NEAR_FRACTION = env.float("JOB_POLL_NEAR_FRACTION", default=0.7)
JOB_RENDER_HISTORY = env.int("JOB_RENDER_HISTORY", default=50)  # succeeded jobs the median is taken over
JOB_RENDER_HISTORY_TTL_S = env.float("JOB_RENDER_HISTORY_TTL_S", default=300.0)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=8)  # transient failures before giving up
JOB_RETRY_BASE_S = env.float("JOB_RETRY_BASE_S", default=2.0)  # first retry delay; doubles, capped at 5 min
# Delivering a finished video (download, store, meter) is retried longer: the provider has billed
# us and its output URL lives for hours (DashScope's for 24 h). 30 attempts is about 2 hours.
JOB_FINALIZE_MAX_ATTEMPTS = env.int("JOB_FINALIZE_MAX_ATTEMPTS", default=30)
JOB_QUEUED_TIMEOUT_S = env.int("JOB_QUEUED_TIMEOUT_S", default=24 * 3600)  # a job waiting longer fails
JOB_RUNNING_TIMEOUT_S = env.int("JOB_RUNNING_TIMEOUT_S", default=6 * 3600)
# A worker's hold on a job while it submits or delivers it. The worker renews it every third of
# its length while it is alive (a heartbeat); a dead worker's job is reclaimed by the poller once it
# lapses, so a crash costs about this long, not a task timeout. See docs/architecture.md.
JOB_LEASE_S = env.float("JOB_LEASE_S", default=30.0)
# After a submit whose answer was lost (a read timeout, or its worker died while sending), how long
# to wait for the provider's webhook to report the task it may have accepted before sending the job
# again. Long enough for most renders to end, since webhooks arrive when the task ends.
JOB_SUBMIT_REPORT_WAIT_S = env.float("JOB_SUBMIT_REPORT_WAIT_S", default=600.0)
# A job's deadline (cancel_after on POST /api/v1/jobs): the shortest and the longest a job may ask
# for; the longest is also the deadline of a job that asks for none. Past it an unfinished job is
# canceled (the provider told) and never charged.
JOB_CANCEL_AFTER_MIN_S = env.int("JOB_CANCEL_AFTER_MIN_S", default=1)
JOB_CANCEL_AFTER_MAX_S = env.int("JOB_CANCEL_AFTER_MAX_S", default=24 * 3600)
# How many of a tenant's jobs may be in flight (submitting or running, live and test together) at once;
# the rest wait queued, never failing for it (jobs/pipeline/capacity.py). The operator may override
# it per tenant in the admin.
TENANT_MAX_RUNNING_JOBS = env.int("TENANT_MAX_RUNNING_JOBS", default=10)
POLLER_BATCH_SIZE = env.int("POLLER_BATCH_SIZE", default=50)
POLLER_CONCURRENCY = env.int("POLLER_CONCURRENCY", default=32)  # provider calls in flight per poller
# A poller holds the running jobs it claimed and polls them on its own in-memory schedule; its hold
# on them (their next_attempt_at) lasts POLLER_HOLD_S and is renewed in batches. A poller that dies
# gives its jobs up when the hold lapses. POLLER_MAX_HELD bounds its memory.
POLLER_HOLD_S = env.float("POLLER_HOLD_S", default=90.0)
POLLER_MAX_HELD = env.int("POLLER_MAX_HELD", default=20_000)
# How long a poller's claim on a due job holds other pollers off: longer than one step takes to
# dispatch (a poll's HTTP call), and what a job waits after its poller is killed mid-claim.
POLLER_CLAIM_S = env.float("POLLER_CLAIM_S", default=60.0)

# --- Billing -------------------------------------------------------------------------------
# Credit every new tenant gets once, when it is created (live mode; "0" for none).
FREE_ALLOWANCE_USD = Decimal(env.str("FREE_ALLOWANCE_USD", default="5.00"))

# --- Logs, health and metrics (ops/, config/log_*.py, config/request_id.py) ----------------
# One line per record on stderr: JSON objects in production (LOG_FORMAT=json, the default with
# DEBUG off), readable text in development; both carry the request, tenant and job ids.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.log_context.LogContextFilter"}},
    "formatters": {
        "plain": {"()": "config.log_format.PlainFormatter"},
        "json": {"()": "config.log_format.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},  # a line per provider poll; ops.provider_metrics counts them instead
        # config.request_id logs every request (with its id); runserver's own line would repeat it.
        "django.server": {"level": "WARNING"},
    },
}
# /metrics answers clients in these networks (comma-separated CIDRs) or bearing METRICS_TOKEN, and
# 404s anyone else. Empty in production: behind the proxy every client looks like 127.0.0.1.
METRICS_ALLOWED_NETWORKS = env.list(
    "METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"] if DEBUG else []
)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Each readiness check (database, broker, storage) gives up after this many seconds.
READYZ_TIMEOUT_S = env.float("READYZ_TIMEOUT_S", default=2.0)

# --- Stripe --------------------------------------------------------------------------------
# With STRIPE_SECRET_KEY unset the platform talks to the local Stripe stand-in
# (`python manage.py stripe_standin`, started by `make run`); set the real key (and the webhook
# secret Stripe shows for the endpoint /webhooks/stripe) to reach Stripe, nothing else.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_STANDIN = not STRIPE_SECRET_KEY
STRIPE_STANDIN_PORT = env.int("STRIPE_STANDIN_PORT", default=12111)
STRIPE_API_BASE = env.str(
    "STRIPE_API_BASE",
    default=f"http://127.0.0.1:{STRIPE_STANDIN_PORT}" if STRIPE_STANDIN else "https://api.stripe.com",
).rstrip("/")
STRIPE_API_KEY = STRIPE_SECRET_KEY or "sk_test_parley_standin"
# Derived from SECRET_KEY unless set, as the emulator's: the stand-in started with these settings
# signs with it, and nobody else can.
STRIPE_WEBHOOK_SECRET = env.str(
    "STRIPE_WEBHOOK_SECRET",
    default="whsec_" + base64.b64encode(
        hmac.new(SECRET_KEY.encode(), b"parley stripe stand-in webhooks", hashlib.sha256).digest()
    ).decode(),
)
STRIPE_TIMEOUT_S = env.float("STRIPE_TIMEOUT_S", default=20.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# What `stripe_setup` creates and the platform finds again by name / lookup key.
STRIPE_METER_EVENT_NAME = env.str("STRIPE_METER_EVENT_NAME", default="parley_usage_cents")
STRIPE_PRODUCT_ID = env.str("STRIPE_PRODUCT_ID", default="parley_usage")
STRIPE_PRICE_LOOKUP_KEY = env.str("STRIPE_PRICE_LOOKUP_KEY", default="parley_usage_per_cent")
STRIPE_OUTBOX_BATCH = env.int("STRIPE_OUTBOX_BATCH", default=100)

# --- Outgoing webhooks to tenants (webhooks/; README "Webhooks") ------------------------------------
# The key that encrypts stored signing secrets (Fernet); derived from SECRET_KEY when empty.
WEBHOOK_SECRET_KEY = env.str("WEBHOOK_SECRET_KEY", default="")
# https only in production; http receivers are allowed while DEBUG is on, or with this.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_TIMEOUT_S = env.float("WEBHOOK_TIMEOUT_S", default=15.0)
# Retries: exponential from WEBHOOK_RETRY_BASE_S, capped at WEBHOOK_RETRY_MAX_DELAY_S, until an attempt
# at least WEBHOOK_RETRY_FOR_S after the event has failed.
WEBHOOK_RETRY_BASE_S = env.float("WEBHOOK_RETRY_BASE_S", default=30.0)
WEBHOOK_RETRY_MAX_DELAY_S = env.float("WEBHOOK_RETRY_MAX_DELAY_S", default=7200.0)
WEBHOOK_RETRY_FOR_S = env.int("WEBHOOK_RETRY_FOR_S", default=24 * 3600)
# An endpoint is disabled (its owners emailed) when every attempt failed for this long, and at
# least this many in a row.
WEBHOOK_DISABLE_AFTER_S = env.int("WEBHOOK_DISABLE_AFTER_S", default=24 * 3600)
WEBHOOK_DISABLE_MIN_FAILURES = env.int("WEBHOOK_DISABLE_MIN_FAILURES", default=10)
WEBHOOK_ROTATION_OVERLAP_S = env.int("WEBHOOK_ROTATION_OVERLAP_S", default=24 * 3600)
WEBHOOK_ROTATION_MAX_OVERLAP_S = env.int("WEBHOOK_ROTATION_MAX_OVERLAP_S", default=7 * 24 * 3600)
WEBHOOK_MAX_ENDPOINTS = env.int("WEBHOOK_MAX_ENDPOINTS", default=16)
WEBHOOK_DUE_BATCH = env.int("WEBHOOK_DUE_BATCH", default=500)
# Delivered and given-up messages, with their delivery log, are kept this long.
WEBHOOK_LOG_RETENTION_DAYS = env.int("WEBHOOK_LOG_RETENTION_DAYS", default=30)
# A sender's lease on an outbox row: a sender that dies (kill -9) lets go of its rows after this.
STRIPE_OUTBOX_CLAIM_S = env.float("STRIPE_OUTBOX_CLAIM_S", default=120.0)
