"""CareAlign settings: one module, configured only from environment variables.

Every variable is listed with its default in README.md. With DJANGO_DEBUG off the
app refuses to start on the development secret key or an empty host list.
"""

from __future__ import annotations

import math
import os
import zlib
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-insecure-carealign-key-change-me"  # noqa: S105 - refused when DEBUG is off


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def env_secret(name: str, default: str) -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (for container secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from None
    return os.environ.get(name, default)


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_secret("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")


def weak_secret_key(key: str) -> str | None:
    """Why a secret key is unfit for production, or None (Django's own W009 rules and more)."""
    if key == DEV_SECRET_KEY or key.startswith("django-insecure-"):
        return "is the development default"
    if len(key) < 50:
        return f"has {len(key)} characters; use at least 50"
    counts = Counter(key)
    if len(counts) < 5:
        return f"uses only {len(counts)} distinct characters"
    # Two estimates of the key's information, the lower one counts: letter frequencies
    # (Shannon) and compressed size (repeated patterns such as "abcdef" * 10 compress well).
    # 50 random characters from a 50-letter alphabet hold about 280 bits.
    shannon = -sum(n * math.log2(n / len(key)) for n in counts.values())
    compressed = 8 * max(0, len(zlib.compress(key.encode("utf-8"), 9)) - 11)
    bits = min(shannon, compressed)
    if bits < 128:
        return f"is too predictable (about {bits:.0f} bits of entropy; at least 128 needed)"
    return None


if not DEBUG:
    _weakness = weak_secret_key(SECRET_KEY)
    if _weakness:
        raise ImproperlyConfigured(
            f"DJANGO_DEBUG is off but DJANGO_SECRET_KEY {_weakness}: set DJANGO_SECRET_KEY "
            "(or DJANGO_SECRET_KEY_FILE) to a long random value, e.g. the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG is off but DJANGO_ALLOWED_HOSTS is empty: set it to the host names "
            "this server answers to, comma-separated."
        )

VAR_DIR = Path(env_str("CAREALIGN_VAR_DIR", str(BASE_DIR / "var")))
MEDIA_ROOT = Path(env_str("CAREALIGN_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
# Files (datasets, model cards, exports) go through the Storage API, content-addressed by
# apps/common/filestore.py: local files under MEDIA_ROOT, written read-only, or S3-compatible
# object storage (django-storages) for deployments whose workers do not share a disk.
USE_S3_STORAGE = env_bool("USE_S3_STORAGE", False)
_FILE_STORAGE: dict[str, Any] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"file_permissions_mode": 0o444, "directory_permissions_mode": 0o755},
}
if USE_S3_STORAGE:
    if not env_str("AWS_STORAGE_BUCKET_NAME", ""):
        raise ImproperlyConfigured(
            "USE_S3_STORAGE is on but AWS_STORAGE_BUCKET_NAME is empty: name the bucket."
        )
    _FILE_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", ""),
            "location": env_str("AWS_LOCATION", ""),
            # Empty: AWS itself; otherwise any S3-compatible server (MinIO, Ceph, R2 ...).
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            # Empty: boto3's own chain (instance role, ~/.aws, AWS_* variables).
            "access_key": env_secret("AWS_ACCESS_KEY_ID", "") or None,
            "secret_key": env_secret("AWS_SECRET_ACCESS_KEY", "") or None,
            "default_acl": None,  # the bucket's policy decides; objects are never public
            "querystring_auth": True,
            "file_overwrite": True,  # same name, same bytes: content-addressed
        },
    }
STORAGES = {
    "default": _FILE_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Local model folders may only be registered from under these roots (never arbitrary paths).
MODEL_ROOTS = [
    Path(p).resolve()
    for p in env_list("CAREALIGN_MODEL_ROOTS", f"{VAR_DIR / 'models'},{BASE_DIR / 'fixtures'}")
]
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []

# Uploads: refused with 413 once they pass this size, before they are read whole.
UPLOAD_MAX_BYTES = env_int("CAREALIGN_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "apps.common.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "django_htmx",  # htmx served from our own static files, request.htmx in views
    "drf_spectacular_sidecar",  # Swagger UI served from our static files (docs work offline)
    "axes",  # login throttling and lockout
    "django_celery_results",  # the result backend of the embedded default (chords need one)
    "apps.common",
    "apps.accounts",
    "apps.registry",
    "apps.evaluations",
    "apps.audit",
    "apps.reports",
    "apps.signoffs",
    "apps.portal",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.audit.middleware.AuditContextMiddleware",  # request id, client, actor of audit events
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.portal.middleware.IdleSessionMiddleware",  # portal sessions end after inactivity
    "apps.common.security.ContentSecurityPolicyMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into a 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"
ASGI_APPLICATION = "governance.asgi.application"

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
                "apps.portal.context.portal",
            ],
        },
    },
]

if not os.environ.get("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded SQLite default lives here
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'carealign.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default has a worker and the web server writing one file: WAL lets readers
    # go on during a write, IMMEDIATE transactions queue writers instead of failing them.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        init_command="PRAGMA journal_mode=WAL;", transaction_mode="IMMEDIATE", timeout=30
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# The organisation model: apps.common.tenancy names it this way, importing no domain app.
CAREALIGN_TENANT_MODEL = "accounts.Organization"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/signin/"
LOGIN_REDIRECT_URL = "/dashboard/"
# A portal session ends after this many seconds without a page the user asked for (background
# progress polling does not count); the cookie itself ends with the browser.
PORTAL_IDLE_SECONDS = env_int("CAREALIGN_PORTAL_IDLE_SECONDS", 1800)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
AUTHENTICATION_BACKENDS = [
    "apps.accounts.throttling.LoginThrottleBackend",  # first: refuses locked-out sign-ins
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes: a username or a client address with this many failed sign-ins is locked out
# for the cool-off time; a successful sign-in resets the username's count.
AXES_FAILURE_LIMIT = env_int("CAREALIGN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("CAREALIGN_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "apps.accounts.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "apps.accounts.throttling.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # sign-ins are in the audit trail already
AXES_VERBOSE = False
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("CAREALIGN_LOGIN_FAILURE_LIMIT must be >= 1")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HTTPS in production (`manage.py check --deploy` is clean with DJANGO_DEBUG=false). Behind a
# TLS-terminating proxy, set DJANGO_SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
if env_str("DJANGO_SECURE_PROXY_SSL_HEADER", ""):
    SECURE_PROXY_SSL_HEADER = (env_str("DJANGO_SECURE_PROXY_SSL_HEADER", ""), "https")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# Only this origin: no CDN, no inline script. Inline style attributes stay allowed (the admin
# and Swagger UI set some); they cannot run code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# Throttle counts (and anything else cached) live here; Redis when several processes serve.
if env_str("CACHE_URL", ""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("CACHE_URL", ""),
        }
    }

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "carealign@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "apps.common.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # JSON only: a browser's Accept header (text/html, ..., */*) gets JSON, not DRF's
    # browsable pages (a second interface to secure); Accept: text/html alone gets 406.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": [
        "apps.common.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.common.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.common.errors.exception_handler",
    # The client address is REMOTE_ADDR: X-Forwarded-For is trusted only behind this many
    # proxies (a client could otherwise pick its own address for the anonymous rate).
    "NUM_PROXIES": env_int("CAREALIGN_NUM_PROXIES", 0),
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.common.throttling.ApiAnonRateThrottle",
        "apps.common.throttling.ApiUserRateThrottle",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Requests per client: over the rate the API answers 429 with Retry-After.
API_THROTTLE_RATES = {
    "anon": env_str("CAREALIGN_API_RATE_ANON", "300/min"),
    "user": env_str("CAREALIGN_API_RATE_USER", "1200/min"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CareAlign API",
    "DESCRIPTION": "Governance and compliance reporting for healthcare LLMs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.common.schema.add_error_responses",
    ],
    # Two choice sets share the field name "role"; name each one.
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "apps.accounts.models.Role",
        "TrainingDatasetRoleEnum": "apps.registry.models.ModelVersionDataset.Role",
        "ModelCardStatusEnum": "apps.reports.models.ModelCard.Status",
        "RunStatusEnum": "apps.evaluations.models.EvaluationRun.Status",
        "SignOffStageEnum": "apps.signoffs.constants.Stage",
        "RunDisplayStatusEnum": "apps.evaluations.constants.RUN_DISPLAY_STATUSES",
    },
}

# Celery. The embedded default keeps the broker in local files (kombu's filesystem
# transport under VAR_DIR/celery) and results in the database (django-celery-results), so a
# worker started beside the web server (`make demo`) runs the same tasks as production.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = env_str(
    "CELERY_RESULT_BACKEND",
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "django-db",
)
CELERY_RESULT_EXTENDED = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Long GPU tasks (docs/REFERENCE.md C1): ack after the task ran, requeue it when its process
# dies, reserve one message per process. Every task is idempotent (claims, write-once shards).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_SEND_TASK_EVENTS = True  # for flower
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "worker.tasks.run_start": {"queue": "gpu"},
    "worker.tasks.shard_process": {"queue": "gpu"},
    "worker.tasks.reasoning_study": {"queue": "gpu"},
    "worker.tasks.run_finalize": {"queue": "default"},
    "worker.tasks.runs_sweep": {"queue": "default"},
    "worker.tasks.schedule_fire": {"queue": "default"},
    "worker.tasks.model_card_render": {"queue": "default"},
    "worker.tasks.audit_chain_verify": {"queue": "default"},
}
# Time limits per queue: the default queue's are Celery's defaults, the gpu queue's annotate
# its tasks. A shard never outlives the gpu hard limit, so the broker's visibility timeout
# (after which Redis hands an unacknowledged message out again) must be longer still.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CAREALIGN_DEFAULT_SOFT_TIME_LIMIT", 1740)
CELERY_TASK_TIME_LIMIT = env_int("CAREALIGN_DEFAULT_TIME_LIMIT", 1800)
GPU_TASK_SOFT_TIME_LIMIT = env_int("CAREALIGN_GPU_SOFT_TIME_LIMIT", 6900)
GPU_TASK_TIME_LIMIT = env_int("CAREALIGN_GPU_TIME_LIMIT", 7200)
for _soft, _hard, _name in (
    (CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT, "CAREALIGN_DEFAULT"),
    (GPU_TASK_SOFT_TIME_LIMIT, GPU_TASK_TIME_LIMIT, "CAREALIGN_GPU"),
):
    if not 0 < _soft < _hard:
        raise ImproperlyConfigured(
            f"{_name}_SOFT_TIME_LIMIT ({_soft}) must be positive and below {_name}_TIME_LIMIT "
            f"({_hard}): the soft limit lets the task clean up before the hard one kills it."
        )
CELERY_TASK_ANNOTATIONS = {
    name: {"soft_time_limit": GPU_TASK_SOFT_TIME_LIMIT, "time_limit": GPU_TASK_TIME_LIMIT}
    for name, route in CELERY_TASK_ROUTES.items()
    if route["queue"] == "gpu"
}
# One value for the three settings Redis reads it from (Celery's Redis "Caveats"). Workers
# look for messages past it every CELERY_BROKER_RESTORE_INTERVAL seconds (kombu: 10 x 10).
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 10800)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, int | str] = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": env_int("CELERY_BROKER_RESTORE_INTERVAL", 100),
    "unacked_restore_throttle": 1,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery"
    for _folder in ("queue", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        data_folder_in=str(_queue_dir / "queue"),
        data_folder_out=str(_queue_dir / "queue"),
        control_folder=str(_queue_dir / "control"),
        store_processed=0,
    )
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS: dict[str, int | str] = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT
}
# A prefix for every key Celery writes to Redis: several deployments (or test runs) can then
# share one Redis database without taking each other's messages.
if env_str("CELERY_KEY_PREFIX", ""):
    for _options in (CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS):
        _options["global_keyprefix"] = env_str("CELERY_KEY_PREFIX", "")
CELERY_BEAT_SCHEDULE = {
    # Every minute: https://crontab.guru/#*_*_*_*_*
    "carealign-runs-sweep": {
        "task": "worker.tasks.runs_sweep",
        "schedule": crontab(minute="*"),
        "options": {"expires": 55},
    },
}

# Evaluation runs: shard size in work units, how long a silent shard holder is presumed
# alive, how often progress and heartbeats are written, and the scorer's batch size.
CAREALIGN_SHARD_SIZE = env_int("CAREALIGN_SHARD_SIZE", 256)
CAREALIGN_SHARD_HEARTBEAT_TIMEOUT = env_int("CAREALIGN_SHARD_HEARTBEAT_TIMEOUT", 300)
CAREALIGN_SHARD_MAX_ATTEMPTS = env_int("CAREALIGN_SHARD_MAX_ATTEMPTS", 3)
# A message still unanswered this long, with the queue empty, was lost: it is sent again.
CAREALIGN_SHARD_REDISPATCH_AFTER = env_int("CAREALIGN_SHARD_REDISPATCH_AFTER", 120)
CAREALIGN_RUN_STALLED_AFTER = env_int("CAREALIGN_RUN_STALLED_AFTER", 300)
CAREALIGN_PROGRESS_INTERVAL = env_int("CAREALIGN_PROGRESS_INTERVAL", 5)
CAREALIGN_SCORING_BATCH_SIZE = env_str("CAREALIGN_SCORING_BATCH_SIZE", "auto")
# Import torch and transformers in a worker's main process, so pool children start at once.
CAREALIGN_WORKER_PRELOAD = env_bool("CAREALIGN_WORKER_PRELOAD", True)
if CAREALIGN_SHARD_SIZE < 1 or CAREALIGN_SHARD_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("CAREALIGN_SHARD_SIZE and CAREALIGN_SHARD_MAX_ATTEMPTS must be >= 1")
if CAREALIGN_SHARD_HEARTBEAT_TIMEOUT <= 2 * CAREALIGN_PROGRESS_INTERVAL:
    raise ImproperlyConfigured(
        "CAREALIGN_SHARD_HEARTBEAT_TIMEOUT must be more than twice CAREALIGN_PROGRESS_INTERVAL: "
        "a live worker writes its heartbeat at that interval."
    )
if CAREALIGN_SCORING_BATCH_SIZE != "auto" and not (
    CAREALIGN_SCORING_BATCH_SIZE.isdigit() and int(CAREALIGN_SCORING_BATCH_SIZE) > 0
):
    raise ImproperlyConfigured("CAREALIGN_SCORING_BATCH_SIZE must be 'auto' or a positive integer")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CAREALIGN_LOG_LEVEL", "INFO")},
    # django-axes logs every sign-in at INFO; the audit trail records them already.
    "loggers": {"axes": {"level": "WARNING"}},
}

# Model cards: prices for the payer summary's cost per 1,000 uses (a model's documentation
# may set its own), and where each organisation's card-signing key and certificate live.
try:
    CAREALIGN_GPU_HOUR_PRICE_USD = float(env_str("CAREALIGN_GPU_HOUR_PRICE_USD", "2.50"))
    CAREALIGN_CPU_HOUR_PRICE_USD = float(env_str("CAREALIGN_CPU_HOUR_PRICE_USD", "0.05"))
except ValueError as exc:
    raise ImproperlyConfigured("CAREALIGN_*_HOUR_PRICE_USD must be numbers") from exc
CAREALIGN_SIGNING_KEY_DIR = Path(env_str("CAREALIGN_SIGNING_KEY_DIR", str(VAR_DIR / "keys")))
