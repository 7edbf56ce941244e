"""Settings for the help desk, driven by environment variables.

Every variable read here is documented in the README (section "Settings") with its default.
With nothing set, the product runs on the embedded default: a SQLite file, an in-process
cache and channel layer, and Celery tasks executed in-process.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1/0, true/false or yes/no.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

_DEV_SECRET = "insecure-development-key-change-me"
SECRET_KEY = env("SECRET_KEY", _DEV_SECRET)
if SECRET_KEY == _DEV_SECRET and not DEBUG and env_bool("REQUIRE_SECRET_KEY", False):
    raise ImproperlyConfigured("SECRET_KEY must be set in production (REQUIRE_SECRET_KEY=1).")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "helpdesk",
    "tickets",
    "tickets.routing",
    "tickets.automation",
    "apitokens",
    "webhooks",
    "channels_inbox",
    "channels_inbox.voice.apps.VoiceConfig",
    "channels_inbox.bots.apps.BotsConfig",
    "channels_inbox.meta.apps.MetaConfig",
    "channels_inbox.chat.apps.ChatConfig",
    "portal",
    "kb",
    "metrics",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "helpdesk.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.AccountSecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Database/Redis unreachable: 503 + Retry-After instead of a 500 (helpdesk/outage.py).
    "helpdesk.outage.OutageMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpdesk.security.csp_nonce",
            ],
        },
    },
]

WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the in-process worker and the web server share the file.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
USES_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, cache and channel layer ---------------------------------------------------
REDIS_URL = env("REDIS_URL", "")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env("CHANNEL_LAYER_PREFIX", "helpdesk")},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL or "cache+memory://")
# Without a broker every task runs in-process, through the same code path as on a worker.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "helpdesk")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
# A worker's claim on an outbound message it is sending; after it, the message may be sent again
# by the task the broker brings back (its worker died). Keep it above the slowest provider call.
DELIVERY_LEASE_SECONDS = env_int("DELIVERY_LEASE_SECONDS", 120)
# How often a worker looks for tasks a crashed worker took but never acknowledged (kombu's
# defaults: a sweep every 10 s, scanning Redis on every 10th sweep).
CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_interval"] = env_int("CELERY_UNACKED_RESTORE_SECONDS", 10)
CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_throttle"] = env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10)
CELERY_RESULT_EXPIRES = 3600
# Workers keep their database connection between tasks when both DB_CONN_MAX_AGE and this are set
# (Celery otherwise opens a new connection for every task, ~5-10 ms each); Django's health check
# (close_old_connections) still runs before and after each task (tickets/tasks.py). 0 = off.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 0) or None
# While Redis is down, queueing a task gives up after this many reconnection tries (about half a
# second each) so the request answers 503 + Retry-After quickly; Celery's default waits ~20 s,
# longer than providers wait for a webhook answer (helpdesk/outage.py).
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {
        "max_retries": env_int("CELERY_REDIS_RETRIES", 2),
        "interval_start": 0,
        "interval_step": 0.5,
        "interval_max": 0.5,
    }
}
HELPDESK_IMAP_POLL_SECONDS = env_int("HELPDESK_IMAP_POLL_SECONDS", 60)
# Time-based automations (tickets.automation): how often the sweep runs.
AUTOMATION_SWEEP_SECONDS = env_int("AUTOMATION_SWEEP_SECONDS", 3600)
# Periodic work, run by Celery beat (`make beat`).
CELERY_BEAT_SCHEDULE: dict = {
    # SLA breaches and warnings are found within a minute of their time.
    "sla-sweep": {"task": "tickets.sla_sweep", "schedule": 60.0, "options": {"expires": 55}},
    # Routing: chat offers not accepted in time move on; unassigned tickets of auto-assign teams are retried.
    "routing-sweep": {"task": "routing.sweep", "schedule": 60.0, "options": {"expires": 55}},
    # Webhook retries are rows (next_attempt_at); this sends whatever is due.
    "webhooks-sweep": {"task": "webhooks.sweep", "schedule": 60.0, "options": {"expires": 55}},
    # Automations (pending 3 days -> remind, solved 4 days -> close) and due rule-webhook retries.
    "automation-sweep": {"task": "automation.sweep", "schedule": float(AUTOMATION_SWEEP_SECONDS)},
    "email-mailboxes-poll": {
        "task": "channels_inbox.email_mailboxes_poll",
        "schedule": float(HELPDESK_IMAP_POLL_SECONDS),
    },
    # Survey invitations are rows with a due time; this queues the ones whose delay has passed.
    "metrics-survey-invitations": {
        "task": "metrics.survey_invitations_send",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # KPI rollups: recompute the closed days touched since the last run (incremental, idempotent).
    "metrics-rollups": {
        "task": "metrics.rollups_refresh",
        "schedule": 60.0 * int(os.environ.get("METRICS_ROLLUP_MINUTES", "10")),
    },
    # Weekly KPI report to managers and admins: Mondays 07:00 in TIME_ZONE (idempotent per address and week).
    "metrics-weekly-report": {
        "task": "metrics.weekly_report_send",
        "schedule": __import__("metrics.schedules").schedules.LocalCrontab(minute=0, hour=7, day_of_week=1),
    },
}
# Recovery after a Redis restart (ops/recovery.py): payloads and replies stored but whose task
# was lost are queued again once they waited RECOVERY_STALLED_SECONDS; checked every RECOVERY_SWEEP_SECONDS.
RECOVERY_STALLED_SECONDS = env_int("RECOVERY_STALLED_SECONDS", 300)
RECOVERY_SWEEP_SECONDS = env_int("RECOVERY_SWEEP_SECONDS", 60)
CELERY_BEAT_SCHEDULE["ops-stalled-requeue"] = {
    "task": "ops.stalled_requeue",
    "schedule": float(RECOVERY_SWEEP_SECONDS),
    "options": {"expires": max(1, RECOVERY_SWEEP_SECONDS - 5)},
}
CELERY_TIMEZONE = "UTC"

# --- Auth ------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "agent:login"
LOGIN_REDIRECT_URL = "agent:home"
LOGOUT_REDIRECT_URL = "agent:login"

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", "en")
LANGUAGES = [
    ("en", _("English")),
    ("pt-br", _("Portuguese (Brazil)")),
    ("ru", _("Russian")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Where `manage.py backup` (scripts/backup.sh) writes backups unless told (README, "Backup and restore").
BACKUP_DIR = env("BACKUP_DIR", str(BASE_DIR / "var" / "backups"))
# Serve /static/ from the ASGI app itself (fine for one machine; put a proxy in front at scale).
SERVE_STATIC = env_bool("SERVE_STATIC", True)

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Production over HTTPS (README, "Security"): HSTS, redirect to https, the proxy's header.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (helpdesk/security.py): where reports go, and path prefixes whose
# third-party pages still need inline scripts (the Swagger UI of /api/docs/).
CSP_REPORT_URI = env("CSP_REPORT_URI", "")
CSP_INLINE_SCRIPT_PATHS = env_list("CSP_INLINE_SCRIPT_PATHS", "")
# Sessions: absolute lifetime, and sign-out after this many idle minutes (0: never).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 60)
# Sign-in lockout: this many failures for one username from one address lock it for the minutes.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
# Sign-in attempts (any username) an address may make in a minute; API token failures likewise.
LOGIN_RATE_PER_MINUTE = env_int("LOGIN_RATE_PER_MINUTE", 20)
API_AUTH_FAILURES_PER_MINUTE = env_int("API_AUTH_FAILURES_PER_MINUTE", 20)
# Two-factor authentication (TOTP): required for admins when on.
ACCOUNTS_REQUIRE_2FA_FOR_ADMINS = env_bool("ACCOUNTS_REQUIRE_2FA_FOR_ADMINS", False)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Help desk")
# SSRF guard (helpdesk/netguard.py): networks/hosts the help desk may fetch from although they are
# loopback or private, comma-separated (10.0.0.0/8, crm.internal). Provider base URLs are allowed.
NETGUARD_ALLOW = env_list("NETGUARD_ALLOW")
# Retry-After (seconds) of the 503 answered while the database or Redis is unreachable.
OUTAGE_RETRY_AFTER_SECONDS = env_int("OUTAGE_RETRY_AFTER_SECONDS", 30)

# --- Email (outbound) ------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "support@helpdesk.localhost")

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tickets.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "tickets.api.pagination.ApiCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tickets.api.exceptions.api_exception_handler",
    # Requests per user; a throttled request gets 429 and Retry-After.
    "DEFAULT_THROTTLE_RATES": {"api": env("API_THROTTLE_RATE", "1200/minute")},
}
# Files per message created through the API, and tickets per bulk update.
API_MAX_ATTACHMENTS_PER_MESSAGE = env_int("API_MAX_ATTACHMENTS_PER_MESSAGE", 10)
API_BULK_MAX_TICKETS = env_int("API_BULK_MAX_TICKETS", 100)
SPECTACULAR_SETTINGS = {
    "TITLE": "Help desk API",
    "DESCRIPTION": "Tickets, messages, customers and the rest of the help desk. "
    "Authenticate with `Authorization: Token <key>` (python manage.py create_api_token USERNAME).",
    "VERSION": "1",
    # The docs UI comes from the drf-spectacular-sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "tickets.models.Channel",
        "TicketStatusEnum": "tickets.models.TicketStatus",
        "WebhookDeliveryStatusEnum": "webhooks.models.DeliveryStatus",
        "WebhookEventTypeEnum": "webhooks.models.WebhookEventType",
    },
}

# --- Help desk behaviour -----------------------------------------------------------------------
# Number given to the first ticket; later tickets count up from it.
HELPDESK_TICKET_NUMBER_START = env_int("HELPDESK_TICKET_NUMBER_START", 1000)
# A message on a conversational channel (SMS, WhatsApp, chat, ...) from a customer with an
# unsolved ticket updated within this many days lands on that ticket.
HELPDESK_THREAD_WINDOW_DAYS = env_int("HELPDESK_THREAD_WINDOW_DAYS", 7)
# Attachments larger than this are not stored; the message keeps a note saying why.
HELPDESK_MAX_ATTACHMENT_BYTES = env_int("HELPDESK_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024)
# Unsolved tickets re-applied per task after an SLA policy or business-hours edit.
SLA_REAPPLY_BATCH = env_int("SLA_REAPPLY_BATCH", 500)
# Agent workspace: "Breaching soon" horizon, sidebar counts cache, composer attachment limits.
HELPDESK_BREACHING_SOON_HOURS = env_int("HELPDESK_BREACHING_SOON_HOURS", 4)
HELPDESK_QUEUE_COUNTS_TTL = env_int("HELPDESK_QUEUE_COUNTS_TTL", 60)
HELPDESK_COMPOSER_MAX_ATTACHMENT_BYTES = env_int("HELPDESK_COMPOSER_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
HELPDESK_COMPOSER_MAX_ATTACHMENTS = env_int("HELPDESK_COMPOSER_MAX_ATTACHMENTS", 10)
# Region (ISO code, e.g. "GB") national phone numbers are read in; empty: numbers need +country code.
HELPDESK_DEFAULT_PHONE_REGION = env("HELPDESK_DEFAULT_PHONE_REGION", "")
# Days during which a customer merge can be undone from the kept customer's profile.
HELPDESK_MERGE_UNDO_DAYS = env_int("HELPDESK_MERGE_UNDO_DAYS", 30)

# The help desk's own email addresses (comma-separated): never treated as customers or
# followers. DEFAULT_FROM_EMAIL is always included.
HELPDESK_EMAIL_ADDRESSES = env_list("HELPDESK_EMAIL_ADDRESSES")
# Raw emails larger than this are kept, but only their headers are parsed; the ticket says why.
HELPDESK_MAX_EMAIL_BYTES = env_int("HELPDESK_MAX_EMAIL_BYTES", 50 * 1024 * 1024)

# Fernet key(s) encrypting mailbox passwords at rest, comma-separated (the first encrypts, all
# decrypt, for rotation). Empty: derived from SECRET_KEY.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", "")
HELPDESK_IMAP_POLL_LOCK_SECONDS = env_int("HELPDESK_IMAP_POLL_LOCK_SECONDS", 600)
HELPDESK_IMAP_BATCH_SIZE = env_int("HELPDESK_IMAP_BATCH_SIZE", 200)
HELPDESK_IMAP_TIMEOUT = env_int("HELPDESK_IMAP_TIMEOUT", 60)
HELPDESK_SMTP_TIMEOUT = env_int("HELPDESK_SMTP_TIMEOUT", 30)
# At most this many acknowledgements per customer address per hour.
HELPDESK_EMAIL_ACK_PER_HOUR = env_int("HELPDESK_EMAIL_ACK_PER_HOUR", 3)

# Telegram bot: the token never appears in logs or stored fields. With no webhook secret every
# webhook is refused.
TELEGRAM_BOT_TOKEN = env("TELEGRAM_BOT_TOKEN", "")
TELEGRAM_WEBHOOK_SECRET = env("TELEGRAM_WEBHOOK_SECRET", "")
TELEGRAM_API_BASE = env("TELEGRAM_API_BASE", "https://api.telegram.org")
# Twilio SMS. With no auth token every webhook is refused.
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_BASE = env("TWILIO_API_BASE", "https://api.twilio.com")
# The public https://host Twilio calls (behind a proxy); empty: the request's own URL.
TWILIO_WEBHOOK_BASE_URL = env("TWILIO_WEBHOOK_BASE_URL", "")
# Twilio Voice: caller id for agents' calls (empty: TWILIO_FROM_NUMBER), the number incoming calls
# ring when the menu option names none (empty: voicemail), the greeting (empty: a translated
# default), the language of spoken prompts and the longest voicemail.
TWILIO_VOICE_NUMBER = env("TWILIO_VOICE_NUMBER", "")
TWILIO_VOICE_FORWARD_TO = env("TWILIO_VOICE_FORWARD_TO", "")
TWILIO_VOICE_GREETING = env("TWILIO_VOICE_GREETING", "")
TWILIO_VOICE_LANGUAGE = env("TWILIO_VOICE_LANGUAGE", "en-US")
TWILIO_VOICE_RECORD_MAX_SECONDS = env_int("TWILIO_VOICE_RECORD_MAX_SECONDS", 120)
# Inbound media fetches: tries on 5xx / no answer, and the first wait in seconds (doubled each try).
HELPDESK_MEDIA_FETCH_ATTEMPTS = env_int("HELPDESK_MEDIA_FETCH_ATTEMPTS", 3)
HELPDESK_MEDIA_FETCH_BACKOFF = float(env("HELPDESK_MEDIA_FETCH_BACKOFF", "1"))
# How long the signed links to outbound attachments (MMS, WhatsApp media) work, in seconds.
HELPDESK_MEDIA_LINK_MAX_AGE = env_int("HELPDESK_MEDIA_LINK_MAX_AGE", 86400)
# Sent as "Authorization: Bearer <token>" to the order status endpoint of the bots (empty: none).
BOTS_ORDER_STATUS_TOKEN = env("BOTS_ORDER_STATUS_TOKEN", "")

# --- Customer portal and web form (/support/) ------------------------------------------------
PORTAL_RATE_LIMIT_PER_IP = env_int("PORTAL_RATE_LIMIT_PER_IP", 5)  # submissions an hour per IP
# Submissions and sign-in links an hour per address.
PORTAL_RATE_LIMIT_PER_ADDRESS = env_int("PORTAL_RATE_LIMIT_PER_ADDRESS", 3)
PORTAL_MAX_ATTACHMENT_BYTES = env_int("PORTAL_MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024)
PORTAL_MAX_ATTACHMENTS = env_int("PORTAL_MAX_ATTACHMENTS", 5)
# Knowledge base (kb): article files, suggestions, automatic answers, content health.
KB_MAX_ATTACHMENT_BYTES = env_int("KB_MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024)
KB_SUGGEST_MIN_SCORE = float(env("KB_SUGGEST_MIN_SCORE", "0.5"))
KB_DEFLECTION_WINDOW_MINUTES = env_int("KB_DEFLECTION_WINDOW_MINUTES", 30)
KB_AUTO_ANSWER = env_bool("KB_AUTO_ANSWER", False)
KB_AUTO_ANSWER_MIN_SCORE = float(env("KB_AUTO_ANSWER_MIN_SCORE", "0.8"))
KB_STALE_DAYS = env_int("KB_STALE_DAYS", 180)
KB_UNHELPFUL_MIN_VOTES = env_int("KB_UNHELPFUL_MIN_VOTES", 5)
KB_UNHELPFUL_RATIO = float(env("KB_UNHELPFUL_RATIO", "0.5"))
KB_GAP_DAYS = env_int("KB_GAP_DAYS", 30)
KB_GAP_MIN_COUNT = env_int("KB_GAP_MIN_COUNT", 3)
PORTAL_MAGIC_LINK_MAX_AGE = env_int("PORTAL_MAGIC_LINK_MAX_AGE", 15 * 60)
# Origins allowed to frame /support/embed/ (CSP frame-ancestors); empty: none.
PORTAL_EMBED_ALLOWED_ORIGINS = env_list("PORTAL_EMBED_ALLOWED_ORIGINS")
# Days after solving that the requester may rate (and re-rate) a request in the portal.
PORTAL_RATING_DAYS = env_int("PORTAL_RATING_DAYS", 14)
# Seconds the read-only link to the request in the web form's confirmation email works.
PORTAL_TICKET_LINK_MAX_AGE = env_int("PORTAL_TICKET_LINK_MAX_AGE", 30 * 24 * 3600)

# Meta (WhatsApp Cloud API, Messenger, Instagram). With no app secret every webhook is refused;
# tokens never appear in logs or stored fields.
META_APP_SECRET = env("META_APP_SECRET", "")
META_VERIFY_TOKEN = env("META_VERIFY_TOKEN", "")
META_GRAPH_BASE = env("META_GRAPH_BASE", "https://graph.facebook.com")
META_GRAPH_VERSION = env("META_GRAPH_VERSION", "v21.0")
WHATSAPP_ACCESS_TOKEN = env("WHATSAPP_ACCESS_TOKEN", "")
WHATSAPP_PHONE_NUMBER_ID = env("WHATSAPP_PHONE_NUMBER_ID", "")
MESSENGER_PAGE_ACCESS_TOKEN = env("MESSENGER_PAGE_ACCESS_TOKEN", "")
INSTAGRAM_ACCESS_TOKEN = env("INSTAGRAM_ACCESS_TOKEN", "")

# Satisfaction surveys: at most one per customer in this many days; csat or ces.
METRICS_SURVEY_CUSTOMER_LIMIT_DAYS = env_int("METRICS_SURVEY_CUSTOMER_LIMIT_DAYS", 7)
METRICS_SURVEY_KIND = env("METRICS_SURVEY_KIND", "csat")
# Survey invitations: delay after solving, share of solved tickets surveyed (0-100), and how
# many days a digit reply (SMS, WhatsApp, Telegram, chat...) still counts as the answer.
METRICS_SURVEY_DELAY_MINUTES = env_int("METRICS_SURVEY_DELAY_MINUTES", 60)
METRICS_SURVEY_SAMPLE_PERCENT = env_int("METRICS_SURVEY_SAMPLE_PERCENT", 100)
METRICS_SURVEY_REPLY_DAYS = env_int("METRICS_SURVEY_REPLY_DAYS", 7)
METRICS_ROLLUP_MINUTES = env_int("METRICS_ROLLUP_MINUTES", 10)
# Dashboard medians come from the rollups' histograms (within 4.5%); exact for ranges with at
# most this many tickets (0: never once rollups are built) or while no rollups are built.
METRICS_MEDIAN_EXACT_ROWS = env_int("METRICS_MEDIAN_EXACT_ROWS", 0)
# The dashboard keeps its figures per filter set this long (seconds; 0: off); a rollup refresh
# starts afresh.
METRICS_DASHBOARD_CACHE_SECONDS = env_int("METRICS_DASHBOARD_CACHE_SECONDS", 60)
# Weekly KPI report email (beat, Mondays 07:00 in TIME_ZONE) to managers and admins, plus these addresses.
METRICS_WEEKLY_REPORT = env_bool("METRICS_WEEKLY_REPORT", True)
METRICS_WEEKLY_REPORT_RECIPIENTS = env_list("METRICS_WEEKLY_REPORT_RECIPIENTS")

# Live chat (channels_inbox.chat; README, "Live chat"): chats an agent takes at once, visitor
# messages a minute, longest message, largest shared file, pre-chat form, the bot, the business
# calendar (by name; empty: always open), origins that may embed the widget, solving on end,
# how long a visitor is remembered, and the video meeting link ({token} is replaced).
CHAT_MAX_CHATS_PER_AGENT = env_int("CHAT_MAX_CHATS_PER_AGENT", 3)
CHAT_VISITOR_MESSAGES_PER_MINUTE = env_int("CHAT_VISITOR_MESSAGES_PER_MINUTE", 20)
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 5000)
CHAT_MAX_ATTACHMENT_BYTES = env_int("CHAT_MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024)
CHAT_PRECHAT_FORM = env_bool("CHAT_PRECHAT_FORM", True)
CHAT_BOT_ENABLED = env_bool("CHAT_BOT_ENABLED", True)
CHAT_BUSINESS_CALENDAR = env("CHAT_BUSINESS_CALENDAR", "")
CHAT_ALLOWED_ORIGINS = env_list("CHAT_ALLOWED_ORIGINS", "*")
CHAT_SOLVE_ON_END = env_bool("CHAT_SOLVE_ON_END", True)
CHAT_TOKEN_MAX_AGE_DAYS = env_int("CHAT_TOKEN_MAX_AGE_DAYS", 365)
VIDEO_MEETING_URL_TEMPLATE = env("VIDEO_MEETING_URL_TEMPLATE", "https://meet.jit.si/helpdesk-{token}")

# Outbound webhooks: timeout, tries, backoff, and when to turn a failing subscription off.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_BACKOFF_SECONDS = env_int("WEBHOOK_BACKOFF_SECONDS", 60)
WEBHOOK_BACKOFF_MAX_SECONDS = env_int("WEBHOOK_BACKOFF_MAX_SECONDS", 21600)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 10)

# Triggers and automations (README, "Triggers and automations").
AUTOMATION_SWEEP_BATCH = env_int("AUTOMATION_SWEEP_BATCH", 500)
AUTOMATION_TRIGGER_MAX_DEPTH = env_int("AUTOMATION_TRIGGER_MAX_DEPTH", 5)
AUTOMATION_TRIGGER_MAX_PER_HOUR = env_int("AUTOMATION_TRIGGER_MAX_PER_HOUR", 10)
AUTOMATION_WEBHOOK_ALLOW_PRIVATE = env_bool("AUTOMATION_WEBHOOK_ALLOW_PRIVATE", False)
AUTOMATION_WEBHOOK_TIMEOUT_SECONDS = env_int("AUTOMATION_WEBHOOK_TIMEOUT_SECONDS", 10)
AUTOMATION_WEBHOOK_MAX_ATTEMPTS = env_int("AUTOMATION_WEBHOOK_MAX_ATTEMPTS", 5)
AUTOMATION_WEBHOOK_BACKOFF_SECONDS = env_int("AUTOMATION_WEBHOOK_BACKOFF_SECONDS", 30)

# --- Scaling out (README, "Scaling out"); everything here is off until configured --------------
# Separate Celery queues per kind of work: <CELERY_QUEUE>.ingest / .outbound / .sla / .reports.
CELERY_SPLIT_QUEUES = env_bool("CELERY_SPLIT_QUEUES", False)
CELERY_TASK_ROUTES = ("helpdesk.scaling.route_task",)

# Reports (dashboard, metrics API) read from a PostgreSQL streaming replica.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", "")
REPORTS_PATH_PREFIXES = env_list("REPORTS_PATH_PREFIXES", "/dashboard/,/api/v1/metrics")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["helpdesk.scaling.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "helpdesk.scaling.ReportsOnReplicaMiddleware",
    )

# Redis behind Sentinel: REDIS_SENTINELS=host:port,host:port and the master's name.
REDIS_SENTINELS = env("REDIS_SENTINELS", "")
if REDIS_SENTINELS:
    from helpdesk.scaling import parse_sentinels, redis_sentinel_settings

    _sentinel = redis_sentinel_settings(
        sentinels=parse_sentinels(REDIS_SENTINELS),
        master=env("REDIS_SENTINEL_MASTER", "mymaster"),
        db=env_int("REDIS_SENTINEL_DB", 0),
        password=env("REDIS_PASSWORD", ""),
        channel_prefix=env("CHANNEL_LAYER_PREFIX", "helpdesk"),
    )
    # Keep the visibility timeout, unacked-restore and retry options: Sentinel adds to them.
    _sentinel["CELERY_BROKER_TRANSPORT_OPTIONS"] = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        **_sentinel["CELERY_BROKER_TRANSPORT_OPTIONS"],
    }
    _sentinel["CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS"] = {
        **CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS,
        **_sentinel["CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS"],
    }
    globals().update(_sentinel)
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# Stored files (attachments, KB images) on S3-compatible storage instead of MEDIA_ROOT.
STORAGE_S3_BUCKET = env("STORAGE_S3_BUCKET", "")
if STORAGE_S3_BUCKET:
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": STORAGE_S3_BUCKET,
                "endpoint_url": env("STORAGE_S3_ENDPOINT_URL", "") or None,
                "region_name": env("STORAGE_S3_REGION", "") or None,
                "access_key": env("STORAGE_S3_ACCESS_KEY_ID", "") or None,
                "secret_key": env("STORAGE_S3_SECRET_ACCESS_KEY", "") or None,
                "location": env("STORAGE_S3_PREFIX", ""),
                # Files are private: every download goes through the help desk's permission check.
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
