"""Django settings, built from the one typed :class:`rupor.core.config.Config`."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_lazy as _

from rupor.core import config as _config
from rupor.core import dbpool as _dbpool

CONFIG = _config.load()
_config.secure_home(CONFIG)
BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = CONFIG.secret_key
RUPOR_OLD_SECRET_KEYS = CONFIG.old_secret_keys
DEBUG = CONFIG.debug
ALLOWED_HOSTS = list(CONFIG.allowed_hosts)
CSRF_TRUSTED_ORIGINS = [CONFIG.base_url]
RUPOR_HOME = CONFIG.home
RUPOR_BASE_URL = CONFIG.base_url
RUPOR_HTTP_TIMEOUT = CONFIG.http_timeout
RUPOR_DRAND_URL = CONFIG.drand_url
RUPOR_ALLOW_PRIVATE_URLS = CONFIG.allow_private_urls
RUPOR_REDIS_URL = CONFIG.redis_url
RUPOR_WORKER_POLL_S = CONFIG.worker_poll_s
RUPOR_LEASE_S = CONFIG.lease_s
RUPOR_MEDIA_LINK_HOURS = CONFIG.media_link_hours
RUPOR_WORKER_ALIVE_FILE = CONFIG.worker_alive_file
RUPOR_METRICS_TOKEN = CONFIG.metrics_token

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "rupor.accounts",
    "rupor.channels",
    "rupor.planning",
    "rupor.links",
    "rupor.publishing",
    "rupor.notifications",
    "rupor.inbox",
    "rupor.analytics",
    "rupor.giveaways",
    "rupor.newsletters",
    "rupor.ops",
    "rupor.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "rupor.core.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "rupor.api.errors.ErrorShapeMiddleware",  # inside the security headers, so they apply to it
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "rupor.core.middleware.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "rupor.accounts.middleware.CurrentWorkspaceMiddleware",
    # Members of a workspace that requires two-factor sign-in set it up before anything else there.
    "rupor.web.twofactor_views.TwoFactorRequiredMiddleware",
]

ROOT_URLCONF = "rupor.urls"
WSGI_APPLICATION = "rupor.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rupor.web.context.navigation",
            ],
        },
    },
]

if CONFIG.database_url:
    DATABASES = {"default": _dbpool.database(CONFIG)}
else:
    CONFIG.home.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(CONFIG.home / "rupor.sqlite3"),
            "OPTIONS": {
                # WAL lets the web server read while the worker writes; IMMEDIATE makes write
                # transactions take the lock up front so claims never deadlock on upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            },
        }
    }
    DATABASES["default"]["TEST"] = {"NAME": str(CONFIG.home / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = CONFIG.home / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = CONFIG.media_root
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CONFIG.secure_cookies
CSRF_COOKIE_SECURE = CONFIG.secure_cookies
SESSION_COOKIE_AGE = 14 * 24 * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
# Uploaded media and the directories holding it are the operator's alone (umask: config.secure_home).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Uploads over 2.5 MB are spooled to a file in chunks, never held whole; in RUPOR_HOME rather than
# /tmp (often memory-backed tmpfs), so that storing one is a rename into MEDIA_ROOT.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_TEMP_DIR = str(CONFIG.home / "uploads")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if CONFIG.email_host:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = CONFIG.email_host
    EMAIL_PORT = CONFIG.email_port
    EMAIL_HOST_USER = CONFIG.email_user
    EMAIL_HOST_PASSWORD = CONFIG.email_password
    EMAIL_USE_TLS = CONFIG.email_tls
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(CONFIG.home / "mail")
DEFAULT_FROM_EMAIL = CONFIG.default_from_email

if CONFIG.redis_url:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CONFIG.redis_url}
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "rupor.core.logging.RedactSecrets"}},
    "formatters": {
        "plain": {
            "()": "rupor.core.logging.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        },
        # RUPOR_LOG_FORMAT=json: one JSON object per line (time, level, logger, message, action, ids).
        "json": {"()": "rupor.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": CONFIG.log_format, "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": CONFIG.log_level},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "waitress": {"level": "WARNING"},
    },
}
