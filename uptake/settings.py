"""Uptake settings: one module, production-ready, driven by environment variables.

Every variable is documented in `.env.example`. Development and tests override only what they
must, through the same variables (see `Makefile` and `tests/conftest.py`).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("UPTAKE_DEBUG", False)
# A secret key must be set in production; the demo and the tests use a fixed, public one.
SECRET_KEY = env("UPTAKE_SECRET_KEY", "insecure-demo-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env_list("UPTAKE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("UPTAKE_CSRF_TRUSTED_ORIGINS", "")
# Absolute base used in emails and deep links.
UPTAKE_BASE_URL = env("UPTAKE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
UPTAKE_DATA_DIR = Path(env("UPTAKE_DATA_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "js_lib_htmx",
    "django_tasks",
    "django_tasks_db",
    "django_tasks_rq",
    "django_rq",
    "uptake.core",
    "uptake.tenancy",
    "uptake.people",
    "uptake.identity",
    "uptake.catalog",
    "uptake.enrollment",
    "uptake.progress",
    "uptake.analytics",
    "uptake.audiences",
    "uptake.paths",
    "uptake.assignments",
    "uptake.notifications",
    "uptake.scorm",
    "uptake.cmi5",
    "uptake.nudges",
    "uptake.web",
    "uptake.xapi",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "uptake.core.middleware.ViewerTimezoneMiddleware",
    "uptake.web.middleware.DomainErrorMiddleware",
    "uptake.xapi.cors.XapiCorsMiddleware",
]

ROOT_URLCONF = "uptake.urls"
WSGI_APPLICATION = "uptake.wsgi.application"
ASGI_APPLICATION = "uptake.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "uptake" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "uptake.core.context_processors.viewer",
            ],
        },
    },
]

# --- Database: one URL. SQLite (embedded default, WAL) or PostgreSQL 15+.
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{UPTAKE_DATA_DIR / 'uptake.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with timestamps parsed in C (ADR 0021).
    DATABASES["default"]["ENGINE"] = "uptake.core.postgresql"
# A single learning event's rollup statements prepared once per connection (ADR 0033). Turn
# off behind a pooler that does not keep session state (PgBouncer in transaction mode).
UPTAKE_PREPARED_STATEMENTS = env_bool("UPTAKE_PREPARED_STATEMENTS", True)
# A full audience recompute on PostgreSQL works on this many ranges of people side by side,
# each on a database connection of its own (ADR 0038); SQLite takes one at a time.
UPTAKE_RECOMPUTE_WORKERS = int(
    env("UPTAKE_RECOMPUTE_WORKERS", str(max(1, min(4, os.cpu_count() or 1))))
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend minus AUTOINCREMENT on primary keys (ADR 0023).
    DATABASES["default"]["ENGINE"] = "uptake.core.sqlite"
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Kept open between requests like PostgreSQL's: opening one costs ~4 ms of CPU (the
    # schema of every table is read again), more than a whole xAPI request (ADR 0012).
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server, the worker and the scheduler read while one writes.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; "
            "PRAGMA foreign_keys=ON; PRAGMA cache_size=-20000;"
            # The log is copied back by a thread of each process, not in writers' commits
            # (ADR 0020); a writer still does it past ~200 MB, in case that thread lags.
            " PRAGMA wal_autocheckpoint=50000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work: Django Tasks API. "db" (default, django_tasks_db worker),
# "rq" (Redis, several workers), "immediate" (runs in-process; tests only).
TASKS_BACKEND = env("UPTAKE_TASKS_BACKEND", "db")
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
_TASK_BACKENDS = {
    "db": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "email"]},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", "email"]},
    "immediate": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "email"],
    },
    "dummy": {
        "BACKEND": "django_tasks.backends.dummy.DummyBackend",
        "QUEUES": ["default", "email"],
    },
}
TASKS = {"default": _TASK_BACKENDS[TASKS_BACKEND]}
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
    "email": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
}

# --- Cache: local memory per process by default; Redis when several web processes share state.
CACHE_URL = env("UPTAKE_CACHE_URL", "")
if CACHE_URL.startswith("redis"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth and security
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "SAMEORIGIN"
REFERRER_POLICY = "same-origin"
# Behind TLS (production) these must be on; the embedded demo serves plain HTTP on loopback.
SESSION_COOKIE_SECURE = env_bool("UPTAKE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("UPTAKE_SSL_REDIRECT", False)
if env_bool("UPTAKE_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Failed logins allowed per (username, address) in the window before a lock-out.
UPTAKE_LOGIN_MAX_FAILURES = int(env("UPTAKE_LOGIN_MAX_FAILURES", "5"))
UPTAKE_LOGIN_WINDOW_SECONDS = int(env("UPTAKE_LOGIN_WINDOW_SECONDS", "900"))
# Failures allowed per client address (everyone behind one office NAT shares it): higher.
UPTAKE_LOGIN_MAX_FAILURES_PER_ADDRESS = int(env("UPTAKE_LOGIN_MAX_FAILURES_PER_ADDRESS", "50"))
# Only behind a proxy that sets X-Forwarded-For itself; otherwise clients could forge it.
UPTAKE_TRUST_X_FORWARDED_FOR = env_bool("UPTAKE_TRUST_X_FORWARDED_FOR", False)

# --- Languages and time
LANGUAGE_CODE = env("UPTAKE_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("de", _("German")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "uptake" / "locale"]
TIME_ZONE = env("UPTAKE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Files
STATIC_URL = "/static/"
STATIC_ROOT = UPTAKE_DATA_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("UPTAKE_MEDIA_ROOT", str(UPTAKE_DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env_bool("UPTAKE_TESTING")
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or env_bool("UPTAKE_TESTING")
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
UPTAKE_MAX_UPLOAD_BYTES = int(env("UPTAKE_MAX_UPLOAD_BYTES", str(200 * 1024 * 1024)))

# --- Email: SMTP in production, a file outbox in the demo, aiosmtpd on loopback in tests.
EMAIL_BACKEND = env("UPTAKE_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = str(UPTAKE_DATA_DIR / "outbox")
EMAIL_HOST = env("UPTAKE_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(env("UPTAKE_EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("UPTAKE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env("UPTAKE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("UPTAKE_EMAIL_TLS", False)
# A mail server that stops answering must not hold a worker forever (seconds).
EMAIL_TIMEOUT = int(env("UPTAKE_EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = env("UPTAKE_FROM_EMAIL", "Uptake <uptake@localhost>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("UPTAKE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 50

# xAPI: the version (1.0.3 or 2.0.0) the record store answers in when a request names none
# (every request but /xapi/about must name one; ADR 0019).
UPTAKE_XAPI_DEFAULT_VERSION = env("UPTAKE_XAPI_DEFAULT_VERSION", "1.0.3")
