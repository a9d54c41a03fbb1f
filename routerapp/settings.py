"""Settings, read from the environment so one build runs on a laptop and in production.

SQLite, the local-memory cache and django-q2's ORM broker by default; PostgreSQL when DATABASE_URL
says so, Redis (cache and task broker) when REDIS_URL is set. Several server processes only share
cooldowns and rate limits when they share a cache, which is what REDIS_URL is for.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def secret(env_name: str, local_name: str) -> str:
    """The environment's value if set (even empty), else the one `make run` generated for this
    checkout (.local/<local_name>, mode 0600), else ''."""
    if env_name in os.environ:
        return os.environ[env_name]
    path = BASE_DIR / ".local" / local_name
    return path.read_text().strip() if path.is_file() else ""


DEBUG = env_bool("DEBUG", False)
# Public, so only for development and tests: `serve` refuses to start on it unless DEBUG is on
# (routerapp/production.py). `make run` generates a real one for the checkout in .local/.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
SECRET_KEY = secret("SECRET_KEY", "secret_key") or DEV_SECRET_KEY
# Fernet key(s) that encrypt provider secrets at rest, comma-separated, the first one current
# (routerapp/encryption.py); rotate with `manage.py reencrypt`.
ROUTER_ENCRYPTION_KEY = secret("ROUTER_ENCRYPTION_KEY", "encryption_key")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Production behind TLS (README, "Running in production"): all off by default, for plain-HTTP development.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Orchestrators probe a process directly over plain HTTP (a Kubernetes httpGet, say): a redirect
# to HTTPS would read as a failed probe.
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that sets X-Forwarded-Proto itself and strips the client's.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "routerapp",
    "dashboard",
]

# Every middleware here is async-capable, so async views (the /v1 hot path) never hop to a thread.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's, the dashboard's) with caching headers, async under ASGI.
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.csp.ContentSecurityPolicy",
]

ROOT_URLCONF = "routerapp.urls"
ASGI_APPLICATION = "routerapp.asgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Off by default: under ASGI Django runs sync code (admin, dashboard, the history writer,
        # config reloads) in many threads, each of which would keep its own connection open
        # (Django's docs advise against persistent connections under ASGI). Put a pooler such as
        # PgBouncer in front of PostgreSQL if connection setup ever shows up in a profile.
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # One test database per test process, so several test runs can share one PostgreSQL server.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the server, the history writer and the task workers read while one writes;
    # IMMEDIATE transactions avoid "database is locked" on lock upgrades.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so the live-server thread and the history writer share it with the tests;
    # in the temp folder, so WAL side files of killed runs do not litter the project.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"router-test-{os.getpid()}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "routerapp.sharedcache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "router"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "routerapp.sharedcache.LocalMemoryCache",
            "LOCATION": "router",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

Q_CLUSTER: dict[str, Any] = {
    "name": "router",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    # timeout and retry are set below from ROUTER's batch slice and request deadline.
    "max_attempts": 2,
    "queue_limit": 50,
    "bulk": 10,
    "catch_up": False,
    "label": "Tasks",
    "save_limit": 500,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if env_bool("Q_SYNC", False):
    Q_CLUSTER["sync"] = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LOGIN_URL = "/admin/login/"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# Served from the apps' static folders, found once at startup: no collectstatic step to forget.
SERVESTATIC_USE_FINDERS = True
SERVESTATIC_AUTOREFRESH = DEBUG

# The router reads the body itself and answers 413 in OpenAI's shape (see ROUTER_MAX_BODY_BYTES).
DATA_UPLOAD_MAX_MEMORY_SIZE = None

# Router behaviour. All of these can be set from the environment.
ROUTER: dict[str, Any] = {
    # Largest accepted request body on /v1; bigger requests get 413.
    "MAX_BODY_BYTES": int(os.environ.get("ROUTER_MAX_BODY_BYTES", str(4 * 1024 * 1024))),
    # Limits on one chat request (each exceeded is a 400 naming the param; routerapp/validation.py).
    "MAX_MESSAGES": int(os.environ.get("ROUTER_MAX_MESSAGES", "2048")),
    "MAX_MESSAGE_CHARS": int(os.environ.get("ROUTER_MAX_MESSAGE_CHARS", "1000000")),
    "MAX_OUTPUT_TOKENS": int(os.environ.get("ROUTER_MAX_OUTPUT_TOKENS", "1000000")),
    # How often (seconds) a server process checks whether the routing config changed.
    "CONFIG_CHECK_S": env_float("ROUTER_CONFIG_CHECK_S", 1.0),
    # History group commit: flush every FLUSH_S seconds or FLUSH_ROWS rows, whichever first.
    "HISTORY_FLUSH_S": env_float("ROUTER_HISTORY_FLUSH_S", 0.25),
    "HISTORY_FLUSH_ROWS": int(os.environ.get("ROUTER_HISTORY_FLUSH_ROWS", "200")),
    # off | truncated | full: whether QueryRecord keeps request and response bodies.
    "STORE_BODIES": os.environ.get("ROUTER_STORE_BODIES", "truncated"),
    "BODY_TRUNCATE_CHARS": int(os.environ.get("ROUTER_BODY_TRUNCATE_CHARS", "2000")),
    # Default retry/backoff and breaker settings; per-model config overrides them.
    "NUM_RETRIES": int(os.environ.get("ROUTER_NUM_RETRIES", "2")),
    "BACKOFF_BASE_S": env_float("ROUTER_BACKOFF_BASE_S", 0.05),
    "BACKOFF_MAX_S": env_float("ROUTER_BACKOFF_MAX_S", 2.0),
    "ALLOWED_FAILS": int(os.environ.get("ROUTER_ALLOWED_FAILS", "3")),
    # ... and, once a deployment had MIN_REQUESTS attempts in the minute, a failure rate this high.
    "ALLOWED_FAIL_RATE": env_float("ROUTER_ALLOWED_FAIL_RATE", 0.5),
    "MIN_REQUESTS": int(os.environ.get("ROUTER_MIN_REQUESTS", "10")),
    "COOLDOWN_S": env_float("ROUTER_COOLDOWN_S", 5.0),
    # One deadline for a whole request, retries, backoff and fallbacks included (a client's
    # `timeout` replaces it); when it passes the client gets a 504.
    "REQUEST_DEADLINE_S": env_float("ROUTER_REQUEST_DEADLINE_S", 120.0),
    "CONNECT_TIMEOUT_S": env_float("ROUTER_CONNECT_TIMEOUT_S", 5.0),
    # A deployment failing its health check is skipped for this long (then probed again as usual).
    "HEALTH_COOLDOWN_S": env_float("ROUTER_HEALTH_COOLDOWN_S", 30.0),
    # The scheduled prune task deletes history older than this.
    "HISTORY_RETENTION_DAYS": int(os.environ.get("ROUTER_HISTORY_RETENTION_DAYS", "30")),
    # The daily statistics task drops hourly rollups and error groups older than this.
    "STATS_RETENTION_DAYS": int(os.environ.get("ROUTER_STATS_RETENTION_DAYS", "400")),
    # Record a trace (spans of authenticate, select, each attempt, stream) with every request.
    "TRACING": env_bool("ROUTER_TRACING", True),
    # Batches (/v1/files, /v1/batches): upload limits, and how the workers run them.
    "BATCH_MAX_FILE_BYTES": int(os.environ.get("ROUTER_BATCH_MAX_FILE_BYTES", str(100 * 1024 * 1024))),
    "BATCH_MAX_LINES": int(os.environ.get("ROUTER_BATCH_MAX_LINES", "50000")),
    # Requests of one batch in flight at once.
    "BATCH_CONCURRENCY": int(os.environ.get("ROUTER_BATCH_CONCURRENCY", "4")),
    # A worker renews its lease on a batch while it runs it; another takes over once it lapses.
    "BATCH_LEASE_S": env_float("ROUTER_BATCH_LEASE_S", 60.0),
    # One task starts a batch's requests for at most this long, then queues the rest; the requests
    # still in flight run on to their own deadline (REQUEST_DEADLINE_S). The django-q2 task timeout
    # (Q_CLUSTER["timeout"], below) is derived from the two.
    "BATCH_SLICE_S": env_float("ROUTER_BATCH_SLICE_S", 50.0),
    # Learned routing: patterns are rebuilt from the latest LEARNING_WINDOW scored answers; a server
    # process looks for a new pattern snapshot or feedback events every LEARNING_CHECK_S seconds.
    "LEARNING_WINDOW": int(os.environ.get("ROUTER_LEARNING_WINDOW", "10000")),
    "LEARNING_CHECK_S": env_float("ROUTER_LEARNING_CHECK_S", 1.0),
    # Bearer token for GET /metrics; empty disables the endpoint.
    "METRICS_TOKEN": os.environ.get("ROUTER_METRICS_TOKEN", ""),
    # The optimizer's response cache: how long an answer is kept unless the model sets cache_ttl_s.
    "CACHE_TTL_S": env_float("ROUTER_CACHE_TTL_S", 3600.0),
    # The `instructions` strategy adds guidance only when the task type is detected at least this surely.
    "INSTRUCTIONS_MIN_CONFIDENCE": env_float("ROUTER_INSTRUCTIONS_MIN_CONFIDENCE", 0.5),
}

# A task may run as long as a batch slice plus the deadline of a request started at its last moment
# (the longest task there is), and a margin: with a fixed 120 s, a slice of 50 s and a deadline of
# 120 s, django-q2 could kill a batch task while its last requests were still in flight. django-q2
# hands a task to another worker after `retry` seconds, which must come after `timeout`.
Q_CLUSTER["timeout"] = int(ROUTER["BATCH_SLICE_S"] + ROUTER["REQUEST_DEADLINE_S"] + 30)
Q_CLUSTER["retry"] = Q_CLUSTER["timeout"] + 60

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django-q": {"level": "WARNING"},
        # httpx logs every request at INFO: noise, and formatting cost on the hot path.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
