"""Settings shared by every environment; everything a site changes comes from the environment (SPEC §4.4)."""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PACKAGE_DIR = BASE_DIR / "himaya"

HIMAYA_HOME = Path(os.environ.get("HIMAYA_HOME", "./var")).resolve()
HIMAYA_COUNTRY = os.environ.get("HIMAYA_COUNTRY", "PS").upper()


# Keys and secrets live outside the database, in the key directory (SPEC §4.4): one place
# to protect, back up and share between the machines of a site.
HIMAYA_KEY_DIR = Path(os.environ.get("HIMAYA_KEY_DIR", str(HIMAYA_HOME / "keys")))


def _home_secret(name: str, env: str, nbytes: int = 48) -> str:
    """A secret from the environment, else one generated once and kept in HIMAYA_KEY_DIR.

    Keeps secrets out of the repository and out of the database, while `make run`
    still works with no configuration. Every machine of a site given the same key
    directory has the same secret (a session opened on one web machine is valid on the
    next). A secret made before it moved to the key directory, in HIMAYA_HOME/keys, is
    still used where the key directory has none, so nobody is logged out and the
    operators' metrics token does not change.
    """
    if os.environ.get(env):
        return os.environ[env]
    import secrets

    path = HIMAYA_KEY_DIR / name
    legacy = HIMAYA_HOME / "keys" / name
    if not path.exists() and legacy.exists():
        return legacy.read_text().strip()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process of the site made it first: use theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()


SECRET_KEY = _home_secret("django-secret-key", "HIMAYA_SECRET_KEY")
# The bearer token of /metrics (Prometheus): the operators', not a staff login.
HIMAYA_METRICS_TOKEN = _home_secret("metrics-token", "HIMAYA_METRICS_TOKEN", 32)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("HIMAYA_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()]

DJANGO_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "drf_spectacular",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
]
LOCAL_APPS = [
    "himaya.core",
    "himaya.accounts",
    "himaya.audit",
    "himaya.reports",
    "himaya.intake",
    "himaya.demo",
    "himaya.media",
    "himaya.linking",
    "himaya.triage",
    "himaya.enrichment",
    "himaya.cases",
    "himaya.stats",
    "himaya.portal",
    "himaya.exchange",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "himaya.core.middleware.RequestIdMiddleware",
    "himaya.core.middleware.SecurityHeadersMiddleware",
    "himaya.core.middleware.CSPMiddleware",  # django-csp's, its header built once
    "himaya.core.middleware.ProviderApiShortcut",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "himaya.core.middleware.ArabicFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "himaya.core.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{HIMAYA_HOME / 'himaya.sqlite3'}",
        conn_max_age=int(os.environ.get("HIMAYA_DB_CONN_MAX_AGE", "60")),
        # A restarted database server leaves stale persistent connections behind;
        # check them at the start of each request rather than failing it.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web server and the worker read while the other writes;
    # IMMEDIATE avoids "database is locked" upgrades inside transactions.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
ATOMIC_REQUESTS = False  # intake commits explicitly; each service owns its transaction
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["himaya.accounts.backends.LockoutModelBackend"]
LOGIN_URL = "accounts:login"
# Lockout and throttling (himaya.accounts.throttle): failures within the window lock
# an account name (login, provider) or throttle an address, for the same duration.
HIMAYA_LOCKOUT_ACCOUNT_FAILURES = int(os.environ.get("HIMAYA_LOCKOUT_ACCOUNT_FAILURES", "20"))
HIMAYA_LOCKOUT_ADDRESS_FAILURES = int(os.environ.get("HIMAYA_LOCKOUT_ADDRESS_FAILURES", "100"))
HIMAYA_LOCKOUT_MINUTES = int(os.environ.get("HIMAYA_LOCKOUT_MINUTES", "60"))
HIMAYA_CLIENT_ADDRESS_HEADER = os.environ.get("HIMAYA_CLIENT_ADDRESS_HEADER", "")  # e.g. X-Real-IP, set by the reverse proxy
HIMAYA_API_TOKEN_DAYS = int(os.environ.get("HIMAYA_API_TOKEN_DAYS", "90"))
OTP_TOTP_ISSUER = os.environ.get("HIMAYA_OTP_ISSUER", "Himaya")
LOGIN_REDIRECT_URL = "reports:list"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", _("Arabic")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("HIMAYA_TIME_ZONE", "Asia/Hebron")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HIMAYA_HOME / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from the finders; it only needs the folder
STATICFILES_DIRS = [PACKAGE_DIR / "static"]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp 4): everything from /static/, no inline script
# or style, no framing. Images may be data: URLs (thumbnails) and blob: (the viewer).
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "style-src": [SELF],
        "script-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Uploads: stream everything to disk; never hold a provider's file in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_HANDLERS = ["himaya.intake.uploads.HashingFileUploadHandler"]
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("HIMAYA_MAX_XML_BYTES", str(10 * 1024 * 1024)))
HIMAYA_MAX_XML_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
HIMAYA_MAX_UPLOAD_BYTES = int(os.environ.get("HIMAYA_MAX_UPLOAD_BYTES", str(4 * 1024**3)))
HIMAYA_MAX_ATTACHMENT_BYTES = int(os.environ.get("HIMAYA_MAX_ATTACHMENT_BYTES", str(100 * 1024**2)))  # a case's files
HIMAYA_MEDIA_ROOT = HIMAYA_HOME / "media"
# Empty: encrypted files under HIMAYA_MEDIA_ROOT. `s3://bucket[/prefix]?endpoint=http://host:8333` for
# S3-compatible storage shared by several machines (credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
HIMAYA_STORAGE_URL = os.environ.get("HIMAYA_STORAGE_URL", "")
# The largest identifier set a partner may offer in one match (himaya.exchange.psi): what bounds
# how many guesses (every phone number of a country) one session could try.
HIMAYA_PSI_MAX_SET = int(os.environ.get("HIMAYA_PSI_MAX_SET", "2000000"))
# Finished national reports (PDFs asked for from the dashboard) kept this long, then deleted
# when a new one is asked for (himaya.stats.services.report_jobs_prune).
HIMAYA_STATS_REPORT_KEEP_DAYS = int(os.environ.get("HIMAYA_STATS_REPORT_KEEP_DAYS", "30"))

# Unfinished provider reports (CyberTipline documentation §3, /finish).
HIMAYA_OPEN_REPORT_TTL_HOURS = 24
HIMAYA_OPEN_REPORT_IDLE_HOURS = 1

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "himaya.accounts.authentication.ApiTokenAuthentication",
        "himaya.accounts.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["himaya.core.openapi.QueryFilterBackend"],  # invalid query parameters: 400
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Himaya API",
    "DESCRIPTION": "Reports, cases, victims and suspects of the user's own unit.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # SPEC §3.10: everything needs login
    # Every operation documents the errors it can answer (400, 401, 403, 404, 429, and the web server's 414/431).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "himaya.core.openapi.add_error_responses"],
    # Several case kinds share the field names "status" and "kind": name their enums.
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "himaya.cases.models.CaseStatus", "TaskStatusEnum": "himaya.cases.models.TaskStatus",
        "SuspectStatusEnum": "himaya.cases.models.SuspectStatus", "TaskKindEnum": "himaya.cases.models.TaskKind",
        "ReferralKindEnum": "himaya.cases.models.ReferralKind", "LegalRequestKindEnum": "himaya.cases.models.LegalRequestKind",
        "IdentifierKindEnum": "himaya.cases.models.SuspectIdentifierKind", "ReportStatusEnum": "himaya.reports.models.ReportStatus",
    },
}

# Background work: the embedded default is the database queue (no other server);
# HIMAYA_TASK_BACKEND=rq with REDIS_URL scales out to Redis-backed workers on many machines.
HIMAYA_TASK_BACKEND = os.environ.get("HIMAYA_TASK_BACKEND", "database")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
if HIMAYA_TASK_BACKEND == "rq":
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
elif HIMAYA_TASK_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "json": {"()": "himaya.core.logging.JsonLinesFormatter"}},
    # HIMAYA_LOG_FORMAT=json: one JSON object a line, for log shippers.
    "handlers": {"console": {"class": "logging.StreamHandler",
                             "formatter": "json" if os.environ.get("HIMAYA_LOG_FORMAT", "") == "json" else "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HIMAYA_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
WHITENOISE_USE_FINDERS = True
