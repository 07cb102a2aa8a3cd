"""CareAlign settings: one module, configured only from environment variables.

Every variable is listed with its default in README.md. With DJANGO_DEBUG off the
app refuses to start on the development secret key or an empty host list.
"""

from __future__ import annotations

import os
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

if not DEBUG:
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG is off but DJANGO_SECRET_KEY is the development default or shorter "
            "than 32 characters: set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) to a long "
            "random value."
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
    "apps.common",
    "apps.accounts",
    "apps.registry",
    "apps.evaluations",
    "apps.audit",
    "apps.reports",
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
]

# Appends to an audit chain take its advisory lock; only the race test turns this off.
AUDIT_SERIALIZE = True

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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "carealign@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "apps.common.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.common.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.common.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CareAlign API",
    "DESCRIPTION": "Governance and compliance reporting for healthcare LLMs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
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
    },
}

# Celery: without CELERY_BROKER_URL, tasks run in-process (the embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL or "cache+memory://")
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
CAREALIGN_SHARD_REDISPATCH_AFTER = env_int(
    "CAREALIGN_SHARD_REDISPATCH_AFTER", CELERY_VISIBILITY_TIMEOUT
)
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
}
