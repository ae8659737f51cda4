"""Settings for the anti-trafficking coordination platform, read from the environment.

See README.md ("Configuration") for every variable. A malformed value stops startup with a
message naming the variable; production (DEBUG off) refuses to start without its secrets.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from coordination.env import (
    cache_from_url,
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_log_level,
    env_origins,
    env_str,
    env_url,
    local_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # untracked: local database, generated local secrets

DEBUG = env_bool("DEBUG", False)


# Commands that only read the code (never a signed cookie, an identity or a request) run on a build or CI
# machine without the production secrets; they get throw-away ones for this process alone.
CODE_ONLY_COMMANDS = {"makemigrations", "collectstatic", "makemessages", "compilemessages"}
_CODE_ONLY = Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] and sys.argv[1] in CODE_ONLY_COMMANDS


def _required_secret(name: str, local_file: str, generate) -> str:
    value = env_str(name)
    if value:
        return value
    if DEBUG:
        return local_secret(VAR_DIR / local_file, generate)
    if _CODE_ONLY:
        return generate()
    raise ImproperlyConfigured(
        f"{name} is not set. Production (DEBUG off) needs it in the environment or in a file named by {name}_FILE."
    )


SECRET_KEY = _required_secret("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))

# Identity records are encrypted with these Fernet keys. The first key encrypts; all of them
# decrypt, so a key can be rotated by prepending a new one and running `rotate_identity_key`.
IDENTITY_KEYS = [
    key.strip()
    for key in _required_secret("IDENTITY_KEYS", "identity_keys", lambda: Fernet.generate_key().decode()).split(",")
    if key.strip()
]
for _key in IDENTITY_KEYS:
    try:
        Fernet(_key)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "IDENTITY_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes)."
        ) from None

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS and not _CODE_ONLY:
    raise ImproperlyConfigured("ALLOWED_HOSTS is not set. Production (DEBUG off) needs the host names it serves.")
CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_htmx",
    "guardian",
    "coordination",
    "stakeholders",
    "referrals",
    "mapping",
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
]

ROOT_URLCONF = "coordination.urls"
WSGI_APPLICATION = "coordination.wsgi.application"
ASGI_APPLICATION = "coordination.asgi.application"

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
                "django.template.context_processors.i18n",
                "coordination.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(env_str("DATABASE_URL") or "sqlite:///var/db.sqlite3", base_dir=BASE_DIR)
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": cache_from_url(env_str("CACHE_URL") or "db://")}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False
ANONYMOUS_USER_NAME = None  # guardian: no anonymous object permissions

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("hi", _("Hindi")), ("mr", _("Marathi")), ("bn", _("Bengali")), ("te", _("Telugu"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE") or "Asia/Kolkata"
try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE={TIME_ZONE!r} is not a known time zone (e.g. Asia/Kolkata).") from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Leaflet and its marker-cluster plugin come from pip packages (XStatic), served like our own files.
import xstatic.pkg.leaflet  # noqa: E402
import xstatic.pkg.leaflet_markercluster  # noqa: E402

STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/leaflet", xstatic.pkg.leaflet.BASE_DIR),
    ("vendor/leaflet.markercluster", xstatic.pkg.leaflet_markercluster.BASE_DIR),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# E-mail: console in development unless EMAIL_HOST is given.
EMAIL_HOST = env_str("EMAIL_HOST") or ""
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "AHT coordination <noreply@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000")

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "SAMEORIGIN"  # maps are embedded from our own origin
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Aggregates shown to roles without case access hide counts below this as "<N".
SMALL_COUNT_THRESHOLD = env_int("SMALL_COUNT_THRESHOLD", 5, minimum=1)
# AHTU monthly returns are due by this day of the following month (1-28); later ones are flagged late.
AHTU_RETURN_DUE_DAY = env_int("AHTU_RETURN_DUE_DAY", 10, minimum=1)
if AHTU_RETURN_DUE_DAY > 28:
    raise ImproperlyConfigured(f"AHTU_RETURN_DUE_DAY={AHTU_RETURN_DUE_DAY} must be 28 or less (every month has that day).")
# Coverage: the radius within which a shelter counts as reachable from a district centre.
COVERAGE_RADIUS_KM = env_float("COVERAGE_RADIUS_KM", 100.0, minimum=1.0)
# Maps draw no tile layer unless a tile URL template is given (they must work offline).
MAP_TILE_URL = env_str("MAP_TILE_URL") or ""
if MAP_TILE_URL and not all(part in MAP_TILE_URL for part in ("{z}", "{x}", "{y}")):
    raise ImproperlyConfigured(f"MAP_TILE_URL={MAP_TILE_URL!r} is not a tile URL template (it needs {{z}}, {{x}} and {{y}}).")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION") or ""
# Network analysis: exact betweenness up to this many active agencies, sampled (fixed seed) above it;
# analysis results stay cached this long at most (they are recomputed at once when referrals change).
NETWORK_EXACT_BETWEENNESS_MAX = env_int("NETWORK_EXACT_BETWEENNESS_MAX", 1000, minimum=3)
NETWORK_BETWEENNESS_SAMPLES = env_int("NETWORK_BETWEENNESS_SAMPLES", 64, minimum=8)
NETWORK_CACHE_SECONDS = env_int("NETWORK_CACHE_SECONDS", 900, minimum=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_log_level("LOG_LEVEL")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
