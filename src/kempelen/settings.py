"""The one settings module, configured from KEMPELEN_* environment variables (see docs/configuration.md)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"KEMPELEN_{name}", default)


def _flag(name: str, default: bool = False) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(_env("DATA_DIR") or Path.cwd() / "kempelen-data").resolve()


def _secret_key() -> str:
    """KEMPELEN_SECRET_KEY, or one generated once and kept in the data directory."""
    explicit = _env("SECRET_KEY")
    if explicit:
        return explicit
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = _flag("DEBUG")
ALLOWED_HOSTS = [h.strip() for h in (_env("ALLOWED_HOSTS", "*") or "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in (_env("CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "kempelen.core",
    "kempelen.accounts",
    "kempelen.ledger",
    "kempelen.qualifications",
    "kempelen.marketplace",
    "kempelen.questions",
    "kempelen.notifications",
    "kempelen.jobs",
    "kempelen.mturk_api",
    "kempelen.worker_site",
    "kempelen.requester_site",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kempelen.worker_site.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "kempelen.urls"
WSGI_APPLICATION = "kempelen.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database -------------------------------------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "kempelen.sqlite3"
DATABASE_URL = _env("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}"

_db = dj_database_url.parse(DATABASE_URL, conn_max_age=int(_env("DB_CONN_MAX_AGE", "60") or 60))
if _db["ENGINE"] == "django.db.backends.sqlite3":  # dj-database-url's name for sqlite:// URLs
    # WAL lets readers run beside the writer; IMMEDIATE makes every write transaction take the write lock
    # at BEGIN, so concurrent writers queue on the busy timeout instead of failing with "database is locked"
    # when a reader upgrades to a writer.
    # Django's SQLite backend, with each process's writers queued before BEGIN IMMEDIATE (see its docstring).
    _db["ENGINE"] = "kempelen.core.sqlite_backend"
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=30000;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA cache_size=-65536;"
        ),
    }
    _db["CONN_MAX_AGE"] = None
    _db["TEST"] = {"NAME": str(Path(_env("TEST_SQLITE_PATH", str(DATA_DIR / "test.sqlite3")) or ""))}
else:
    _db.setdefault("OPTIONS", {})
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = ["kempelen.accounts.backends.ProfileBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/worker/login"
LOGIN_REDIRECT_URL = "/worker/"
SESSION_ENGINE = "kempelen.core.sessions"
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
# Lax, not Strict: a Strict CSRF cookie is withheld when Kempelen is opened from another site (an email link, a
# task's popup), Django then issues a new one, and forms open in the worker's other tabs fail. Cross-site posts
# are still refused by the Origin check and by the session cookie (Lax) not travelling with them.
CSRF_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "uploads"

EMAIL_BACKEND = _env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = _env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(_env("EMAIL_PORT", "25") or 25)
DEFAULT_FROM_EMAIL = _env("EMAIL_FROM", "kempelen@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "kempelen": {"handlers": ["console"], "level": _env("LOG_LEVEL", "INFO")},
        "django.request": {"handlers": ["console"], "level": "ERROR"},
    },
}

# Sign-in rate limits count in the cache: one process's memory by default. Several processes or nodes need a
# shared cache: KEMPELEN_CACHE_URL=db makes it the database (run `kempelen migrate`, which creates the table).
CACHES = (
    {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "kempelen_cache"}}
    if _env("CACHE_URL") == "db"
    else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
)

# --- Kempelen -------------------------------------------------------------------------------------------
KEMPELEN = {
    # The public base URL of this instance (used in turkSubmitTo and printed links).
    "PUBLIC_URL": (_env("PUBLIC_URL", "") or "").rstrip("/"),
    # Commission on rewards and bonuses, percent; the surcharge for HITs with 10 or more assignments;
    # the Masters surcharge; the minimum commission per approved assignment or bonus, in cents.
    "FEE_PERCENT": float(_env("FEE_PERCENT", "20") or 20),
    "LARGE_HIT_SURCHARGE_PERCENT": float(_env("LARGE_HIT_SURCHARGE_PERCENT", "20") or 20),
    "MASTERS_FEE_PERCENT": float(_env("MASTERS_FEE_PERCENT", "5") or 5),
    "MINIMUM_FEE_CENTS": int(_env("MINIMUM_FEE_CENTS", "1") or 1),
    "MINIMUM_REWARD_CENTS": int(_env("MINIMUM_REWARD_CENTS", "0") or 0),
    # Allowed skew between a SigV4 signature's date and this server's clock.
    "SIGV4_MAX_SKEW_SECONDS": 15 * 60,
    # Invite-only: workers can sign up only with an invitation code an operator handed out ("open" or "invite").
    "WORKER_SIGNUP": (_env("WORKER_SIGNUP", "open") or "open").lower(),
    # Requesters sign up on the requester site ("open"), or only operators create them ("closed").
    "REQUESTER_SIGNUP": (_env("REQUESTER_SIGNUP", "open") or "open").lower(),
    # Invitation codes for invite-only sign-up stay valid this many days.
    "INVITATION_MAX_AGE_DAYS": float(_env("INVITATION_MAX_AGE_DAYS", "30") or 30),
    # Sign-in attempts: failures per username (and per client address) within the window before a pause.
    "LOGIN_MAX_FAILURES": int(_env("LOGIN_MAX_FAILURES", "5") or 5),
    "LOGIN_MAX_FAILURES_PER_ADDRESS": int(_env("LOGIN_MAX_FAILURES_PER_ADDRESS", "20") or 20),
    "LOGIN_WINDOW_SECONDS": int(_env("LOGIN_WINDOW_SECONDS", "900") or 900),
    "LOGIN_LOCKOUT_SECONDS": int(_env("LOGIN_LOCKOUT_SECONDS", "900") or 900),
    "PASSWORD_RESET_MAX_PER_EMAIL": int(_env("PASSWORD_RESET_MAX_PER_EMAIL", "3") or 3),
    "PASSWORD_RESET_MAX_PER_ADDRESS": int(_env("PASSWORD_RESET_MAX_PER_ADDRESS", "10") or 10),
    "PASSWORD_RESET_WINDOW_SECONDS": int(_env("PASSWORD_RESET_WINDOW_SECONDS", "3600") or 3600),
    # Reverse proxies in front of Kempelen: the client's address is taken from X-Forwarded-For that far back.
    "TRUSTED_PROXY_COUNT": int(_env("TRUSTED_PROXY_COUNT", "0") or 0),
    # How old (seconds) the worker site's list of HIT groups may be; 0: computed afresh on every request.
    "GROUP_LIST_MAX_AGE": float(_env("GROUP_LIST_MAX_AGE", "2") or 0),
    # Where task content (requesters' HTML) is served from; empty means this instance's own host, always under
    # a CSP sandbox without same-origin. A separate host (e.g. https://tasks.example.org) adds a second wall.
    "TASK_CONTENT_URL": (_env("TASK_CONTENT_URL", "") or "").rstrip("/"),
    # How often the job runner looks for due timers and jobs.
    "JOB_POLL_SECONDS": float(_env("JOB_POLL_SECONDS", "1") or 1),
    # The sandbox reports this balance, as MTurk's sandbox did.
    "SANDBOX_BALANCE_CENTS": 1_000_000,
}

# --- Notification delivery (delivery) -------------------------------------------------------------------
# See docs/notifications.md. SQS and SNS go through boto3 clients: an endpoint URL points them at an emulator
# (LocalStack, moto); empty means AWS. Credentials are used only when given here, or when
# KEMPELEN_AWS_DEFAULT_CREDENTIALS lets boto3 find its own (environment, ~/.aws, instance or task roles).
NOTIFICATIONS_SQS_ENDPOINT_URL = _env("SQS_ENDPOINT_URL") or None
NOTIFICATIONS_SNS_ENDPOINT_URL = _env("SNS_ENDPOINT_URL") or None
NOTIFICATIONS_AWS_REGION = _env("AWS_REGION") or "us-east-1"
NOTIFICATIONS_AWS_ACCESS_KEY_ID = _env("AWS_ACCESS_KEY_ID") or None
NOTIFICATIONS_AWS_SECRET_ACCESS_KEY = _env("AWS_SECRET_ACCESS_KEY") or None
NOTIFICATIONS_AWS_DEFAULT_CREDENTIALS = _flag("AWS_DEFAULT_CREDENTIALS")
# Events per message; attempts before an event is parked as dead; the first retry's delay, doubled each time
# up to the cap; how long one send may take (per message, every transport).
NOTIFICATIONS_BATCH_SIZE = int(_env("NOTIFICATION_BATCH_SIZE", "10") or 10)
NOTIFICATIONS_MAX_ATTEMPTS = int(_env("NOTIFICATION_MAX_ATTEMPTS", "20") or 20)
NOTIFICATIONS_RETRY_SECONDS = float(_env("NOTIFICATION_RETRY_SECONDS", "30") or 30)
NOTIFICATIONS_RETRY_MAX_SECONDS = float(_env("NOTIFICATION_RETRY_MAX_SECONDS", "3600") or 3600)
NOTIFICATIONS_TIMEOUT_SECONDS = float(_env("NOTIFICATION_TIMEOUT_SECONDS", "10") or 10)
# Webhooks go to https URLs on public addresses unless these allow plain http / loopback and private addresses
# (a development instance, or receivers on a private network).
NOTIFICATIONS_WEBHOOK_ALLOW_HTTP = _flag("WEBHOOK_ALLOW_HTTP")
NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = _flag("WEBHOOK_ALLOW_PRIVATE")

# --- Observability and operation (observability): logs, request ids, /metrics access, database pool --------
# Log lines are JSON objects (the default of `kempelen serve`) or text; each carries its request's id.
_log_format = (_env("LOG_FORMAT", "text") or "text").strip().lower()
LOGGING["filters"] = {"request_context": {"()": "kempelen.observability.logs.RequestContextFilter"}}
LOGGING["formatters"] = {
    "json": {"()": "kempelen.observability.logs.JsonFormatter"},
    "text": {"()": "kempelen.observability.logs.TextFormatter"},
}
LOGGING["handlers"]["console"].update(  # type: ignore[index]
    filters=["request_context"], formatter="json" if _log_format == "json" else "text"
)
# Outermost: it gives every request its id and counts every response, whichever middleware answers it.
MIDDLEWARE.insert(0, "kempelen.observability.middleware.RequestObservabilityMiddleware")
_metrics_networks = _env("METRICS_ALLOWED_NETWORKS")
KEMPELEN.update({
    "LOG_FORMAT": _log_format,
    # Keep an incoming X-Request-Id (set by a proxy in front) instead of making a new id.
    "TRUST_REQUEST_ID": _flag("TRUST_REQUEST_ID"),
    # Who may read /metrics: clients in these networks, or anyone sending "Authorization: Bearer <token>".
    "METRICS_ALLOWED_NETWORKS": (
        [n.strip() for n in _metrics_networks.split(",") if n.strip()] if _metrics_networks is not None
        else ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
    ),
    "METRICS_TOKEN": _env("METRICS_TOKEN", "") or "",
})
# PostgreSQL connections come from a bounded pool per process (psycopg_pool), taken for a request and returned
# after it. `kempelen serve` sizes the maximum to its threads per worker; other commands (the job runner,
# simulate) keep a connection per thread for as long as the thread runs, hence the larger default.
if _db["ENGINE"] == "django.db.backends.postgresql" and _flag("DB_POOL", True):
    _pool_max = max(1, int(_env("DB_POOL_MAX", "16") or 16))
    _db["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django must hand them back after each request
    _db["OPTIONS"]["pool"] = {
        "min_size": min(_pool_max, max(0, int(_env("DB_POOL_MIN", "2") or 2))),
        "max_size": _pool_max,
        "timeout": float(_env("DB_POOL_TIMEOUT", "10") or 10),
    }
    # No round trip to check a connection each time it is taken: after a database restart, a request that gets
    # a connection the server closed fails once and the pool replaces it. KEMPELEN_DB_POOL_CHECK=1 checks each.
    _db["CONN_HEALTH_CHECKS"] = _flag("DB_POOL_CHECK", False)

# --- Deployment (backup): cookies over TLS ----------------------------------------------------------------
# Served over HTTPS (an https:// KEMPELEN_PUBLIC_URL), the session and CSRF cookies travel only over TLS.
# KEMPELEN_SECURE_COOKIES=0 or 1 decides it otherwise (see docs/deploy.md).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _flag(
    "SECURE_COOKIES", str(KEMPELEN["PUBLIC_URL"]).startswith("https://")
)

# --- Job runner (jobs): retries, dead items, claims -------------------------------------------------------
# See docs/jobs.md. An item or step that fails is tried again on the next pass, then JOB_RETRY_SECONDS x 2^(n-2)
# after its n-th failure (at most JOB_RETRY_MAX_SECONDS), and parked as dead after JOB_MAX_ATTEMPTS attempts.
# A runner's claim on an email lapses after JOB_CLAIM_SECONDS (the runner died), and another runner sends it.
JOBS_MAX_ATTEMPTS = max(1, int(_env("JOB_MAX_ATTEMPTS", "10") or 10))
JOBS_RETRY_SECONDS = float(_env("JOB_RETRY_SECONDS", "30") or 30)
JOBS_RETRY_MAX_SECONDS = float(_env("JOB_RETRY_MAX_SECONDS", "3600") or 3600)
JOBS_CLAIM_SECONDS = float(_env("JOB_CLAIM_SECONDS", "300") or 300)
