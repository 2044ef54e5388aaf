"""Settings, all read from the environment here and nowhere else.

Defaults are safe for a developer's machine: SQLite, local media, the bundled model. Production
(Cloud Run) sets DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS and friends.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


DEBUG = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "django-insecure-development-key-set-SECRET_KEY-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if os.environ.get("K_SERVICE"):  # running on Cloud Run: never sign with a public key
        raise ImproperlyConfigured("SECRET_KEY must be set in production.")
    SECRET_KEY = _DEV_SECRET_KEY
#: Commands and tests may run on the public development key; a server with DEBUG off refuses to
#: (mnistsite.startup).
SECRET_KEY_IS_THE_DEVELOPMENT_KEY = SECRET_KEY == _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "mnistsite.apps.SiteAdminConfig",  # django.contrib.admin, refusing malformed input with 400
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "predictor",
    "feedback",
    "training",
]

MIDDLEWARE = [
    "mnistsite.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "mnistsite.csp.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Only the admin posts messages, and it always has a session. The default fallback storage also
# parses the message cookie on every request (≈ 9 µs of each prediction).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # admin login throttling: locks out repeated failures
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "mnistsite.urls"
#: Where the admin lives; moving it off /admin/ keeps drive-by login attempts away.
ADMIN_URL = os.environ.get("ADMIN_URL", "admin/").strip("/") + "/"
WSGI_APPLICATION = "mnistsite.wsgi.application"

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
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast when the database is down: predictions go on, feedback answers 503 at once.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
#: With a bucket, uploads and model files live in Cloud Storage, shared by every Cloud Run instance
#: (google-cloud-storage talks to STORAGE_EMULATOR_HOST instead when it is set, as in the tests).
GS_BUCKET_NAME = os.environ.get("GS_BUCKET_NAME", "")


def file_storages(bucket_name: str) -> dict[str, dict]:
    """The "default" and "originals" storages: a Cloud Storage bucket, or local files without one."""
    if not bucket_name:
        local = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
        return {"default": local, "originals": local}
    cloud = {"bucket_name": bucket_name, "default_acl": None, "querystring_auth": True}
    return {
        "default": {"BACKEND": "storages.backends.gcloud.GoogleCloudStorage",
                    "OPTIONS": {**cloud, "file_overwrite": False}},
        # Originals of uploads, in the same place, written on the request path under fresh random
        # names: one Cloud Storage request each instead of three (mnistsite/storages.py).
        "originals": {"BACKEND": "mnistsite.storages.CreateOnlyCloudStorage", "OPTIONS": cloud},
    }


STORAGES = {
    **file_storages(GS_BUCKET_NAME),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# --- The digit reader -------------------------------------------------------------------------
#: MNIST in Keras's mnist.npz layout, for train_base and finetune (Keras downloads it if absent).
MNIST_PATH = os.environ.get("MNIST_PATH", str(BASE_DIR.parent / "shared" / "data" / "mnist.npz"))
#: The model shipped with the code: the app works out of the box with it.
BUNDLED_MODEL_DIR = BASE_DIR / "training" / "base_model"
#: How often each serving process asks the database which model version is active (seconds).
MODEL_REFRESH_SECONDS = env_float("MODEL_REFRESH_SECONDS", 5.0)
#: Local copies of model files fetched from storage (Cloud Storage on Cloud Run).
MODEL_CACHE_DIR = Path(os.environ.get("MODEL_CACHE_DIR", Path(tempfile.gettempdir()) / "mnistsite-models"))
#: Below this confidence the answer is shown as "not sure".
UNSURE_BELOW = env_float("UNSURE_BELOW", 0.8)
#: Uploads larger than this are refused before they are read (bytes).
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
#: Decoded pictures with more pixels than this are refused (decompression bombs).
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 40_000_000)
#: How long a feedback token stays valid (seconds).
FEEDBACK_TOKEN_MAX_AGE = env_int("FEEDBACK_TOKEN_MAX_AGE", 7 * 24 * 3600)
#: Originals up to this size (bytes; drawings, small scans) travel inside the feedback token and
#: are stored only if feedback comes; larger ones are stored when they are read. 0: store all.
INLINE_ORIGINAL_BYTES = env_int("INLINE_ORIGINAL_BYTES", 8 * 1024)

# Django refuses request bodies larger than these before a view sees them.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 64 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 64 * 1024

# --- Production hardening ----------------------------------------------------------------------
#: Cloud Run terminates TLS and forwards plain HTTP with X-Forwarded-Proto.
ON_CLOUD_RUN = bool(os.environ.get("K_SERVICE"))
HTTPS_ONLY = env_bool("HTTPS_ONLY", ON_CLOUD_RUN)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes reach the container directly over HTTP
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS_ONLY)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS_ONLY)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
#: Scripts only from this site (plotly.js included); Plotly sets inline styles, images may be data: URIs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Abuse limits --------------------------------------------------------------------------------
#: The cache the rate limits count in. Redis (Memorystore on Cloud Run) is shared by every worker of
#: every instance; without REDIS_URL each process counts alone (local development). Short timeouts:
#: when Redis is unreachable the limits fail open at once instead of holding up predictions.
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_TIMEOUT_SECONDS = env_float("REDIS_TIMEOUT_SECONDS", 0.25)
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "mnistsite",
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
#: Per client ("" turns a limit off); the upload page counts with the API, the feedback form too.
RATELIMIT_PREDICT = os.environ.get("RATELIMIT_PREDICT", "120/m")
RATELIMIT_FEEDBACK = os.environ.get("RATELIMIT_FEEDBACK", "30/m")
#: How many proxies in front of the app append to X-Forwarded-For (Cloud Run's front end is one; a
#: load balancer before it makes two); 0 trusts none and takes the connection's address
#: (mnistsite.clients.client_address, used by the rate limits, the admin lockouts and feedback).
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 1 if ON_CLOUD_RUN else 0)
#: Admin login: this many failures lock the username+address pair out for AXES_COOLOFF_TIME hours.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("AXES_COOLOFF_HOURS", 0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "mnistsite.clients.client_address"

#: JSON lines for Cloud Logging on Cloud Run (or LOG_FORMAT=json); readable text otherwise.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json" if ON_CLOUD_RUN else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "mnistsite.logs.CloudJsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
