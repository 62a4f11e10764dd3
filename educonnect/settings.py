"""EduConnect settings.

Every value comes from the environment (django-environ). The embedded defaults run the whole
demo on one machine with nothing else installed: SQLite file, Celery tasks run eagerly, SMS
and email printed on the console. Production swaps in PostgreSQL, Redis, a Celery broker and
Twilio by environment variables only. The README lists every variable (and `.env.example`).
"""

from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

from oidc_idp.signing_key import signing_key_pem

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of the demo (SQLite file, SMS files); never committed.
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The default key only serves the demo and the tests: `manage.py check --deploy` fails on it
# (see educonnect/checks.py), and the production entrypoint runs that check.
INSECURE_DEFAULT_SECRET_KEY = "insecure-demo-key-do-not-use-in-production-0123456789abcdef"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The portal's public address: the start of every link in an e-mail (never taken from the
# request's Host header), of Twilio's delivery reports, and of the SAML IdP's entityID.
# `check --deploy` requires https (notifications.E005).
SITE_URL = env.str("EDUCONNECT_SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    # The admin site is the back-office (backoffice.site.BackOfficeSite): every staff
    # user signs in with a password and a TOTP code. Its AppConfig stands in for Django's.
    "backoffice.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "widget_tweaks",
    # Django's form templates, for FORM_RENDERER below. Before dsfr: django-dsfr's overrides
    # of Django's error list and option widgets would otherwise apply to the admin's forms
    # too; our DSFR forms render through our own snippets (templates/dsfr/).
    "django.forms",
    "dsfr",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "phonenumber_field",
    "simple_history",
    "core",
    "accounts",
    "pupils",
    "activation",
    # « Mes enfants » (issue 11): merge of two accounts, a child added by SMS proof.
    "families",
    "notifications",
    "services_portal",
    "saml_idp",
    # The OpenID Connect provider: django-oauth-toolkit's models and views, our claims,
    # scopes and pages (before the back-office, whose admin replaces DOT's). DOT's app under
    # its French name (« Services reliés en OpenID Connect », oidc_idp.apps).
    "oidc_idp.apps.OAuth2ProviderConfig",
    "oidc_idp",
    "franceconnect",
    "assistance",
    "backoffice.apps.BackofficeConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy (django-csp) and Permissions-Policy on every answer, static
    # files included (see « Security headers » below).
    "csp.middleware.CSPMiddleware",
    "educonnect.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Right after SessionMiddleware, so that its save decision precedes the session's save.
    "accounts.middleware.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.AbsoluteSessionLifetimeMiddleware",
    # A provisional account (school letter) reaches nothing but its first sign-in's flow.
    "activation.provisional.middleware.ProvisionalAccountMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A signed-in session that ended without a sign-out says why at the next request (after
    # AbsoluteSessionLifetimeMiddleware, whose logout it sees, and MessageMiddleware).
    "accounts.middleware.SessionEndNoticeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so that its page sees the signed-in user: every empty 405 gets a French page.
    "educonnect.middleware.MethodNotAllowedPageMiddleware",
]
# The demo shows the product's French 404, not Django's technical page (issue 13 §6).
if DEBUG:
    MIDDLEWARE.append("educonnect.middleware.DebugNotFoundMiddleware")

ROOT_URLCONF = "educonnect.urls"
WSGI_APPLICATION = "educonnect.wsgi.application"

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
                "educonnect.context_processors.site",
            ],
        },
    },
]

# Form and field templates are found like every template (DIRS first, then the apps): the
# project's templates/dsfr/form_field_snippets/ replace django-dsfr's (see core/forms.py); the
# text-like `<input>`s are written in Python while their templates are Django's own
# (core/form_renderer.py).
FORM_RENDERER = "core.form_renderer.FormRenderer"

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# A kept connection is checked before a request reuses it: after a PostgreSQL restart the
# first request of each worker would otherwise fail on a dead socket (bench/faults).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The demo's SQLite: a transaction takes the write lock when it begins (IMMEDIATE), so
    # that two requests writing at once (two tabs, a double submit) wait for each other up to
    # `timeout` seconds. With SQLite's default deferred transactions both read first, then
    # one failed at once with « database is locked » (a 500): select_for_update, which
    # orders them on PostgreSQL, does nothing on SQLite.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- Cache, sessions, rate limits -------------------------------------------------------
# Counters must be shared by every web node: in production REDIS_URL points at Redis. The
# embedded default is a per-process memory cache, fine for a one-process demo only.
REDIS_URL = env.str("REDIS_URL", default="")
# Seconds a web request waits for Redis to accept a connection, then to answer a command:
# a fraction of a second, so that a dead or unreachable Redis never hangs the workers (the
# request goes on without it: core/cache.py, « When Redis is unreachable »). Used by the
# cache and by the rate limits' storage.
REDIS_SOCKET_CONNECT_TIMEOUT = env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=0.25)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
# Once a web process found Redis unreachable, it goes on without it for this many seconds
# before trying again (core.cache.redis_skipped): a hung Redis costs one timeout per delay.
REDIS_RETRY_SECONDS = env.float("REDIS_RETRY_SECONDS", default=2.0)
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache with its client reused across calls (core/cache.py).
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="educonnect"),
            "OPTIONS": {"socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
                        "socket_timeout": REDIS_SOCKET_TIMEOUT},
        }
    }
    # Read from Redis, written to Redis and PostgreSQL: a Redis flush, restart or eviction
    # signs nobody out (docs/deployment.md, « Sessions »).
    SESSION_ENGINE = "accounts.sessions"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Rate limits (core.ratelimit, the `limits` library): moving windows in Redis, shared by
# every web node (`manage.py check --deploy` refuses memory://); the demo keeps them in this
# process's memory. Empty means: the REDIS_URL. While that Redis cannot be reached, each web
# process counts in its own memory (core/ratelimit.py) and logs it at most once a minute.
RATELIMIT_STORAGE_URL = env.str("RATELIMIT_STORAGE_URL", default="") or REDIS_URL or "memory://"

# Idle lifetime: a session dies after this many idle seconds. It is not saved at every
# request (a store write and a Set-Cookie each time): accounts.middleware.SessionRefreshMiddleware
# saves it, renewing its lifetime, once its last save is older than SESSION_REFRESH_SECONDS
# (never more than a tenth of the idle lifetime), so it dies between SESSION_COOKIE_AGE minus
# that and SESSION_COOKIE_AGE after the last request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = env.int("SESSION_REFRESH_SECONDS", default=3 * 60)
# Absolute lifetime: a session dies this long after sign-in, whatever the activity.
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=8 * 60 * 60)
# Pages of a signed-in family or of a flow warn this long before the idle lifetime ends, with
# « Prolonger » (RGAA 13.1 asks for at least 20 seconds to react; issue 13 §2).
SESSION_EXPIRY_WARNING_SECONDS = env.int("SESSION_EXPIRY_WARNING_SECONDS", default=120)
# The SMS code's page warns this long before the last code of its flow expires, with
# « Recevoir un nouveau code » (issue 13 §2; at most half the code's lifetime; core.code_step).
CODE_EXPIRY_WARNING_SECONDS = env.int("CODE_EXPIRY_WARNING_SECONDS", default=120)
SESSION_COOKIE_NAME = "educonnect_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "educonnect.views.csrf_failure"

# --- Security headers -------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_HSTS_SECONDS > 0
)
# Asking browsers' preload lists (hstspreload.org) to know the domain: a commitment for every
# subdomain, undone only in months. `check --deploy` warns without it (security.W021).
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Content-Security-Policy (django-csp): scripts and styles from our own origin only, plus the
# few inline blocks that carry the answer's nonce (`nonce="{{ CSP_NONCE }}"`); no
# plug-in, no framing, no <base> elsewhere. DSFR needs nothing more: its JavaScript and CSS
# are static files, its icons and fonts too (data: URIs for a few SVG masks). No form-action:
# the SAML POST binding and the OpenID redirects post or redirect to the services' own
# origins. DJANGO_CSP_REPORT_URI adds a report-uri (a collector of the operator's).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}
if env.str("DJANGO_CSP_REPORT_URI", default=""):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [env.str("DJANGO_CSP_REPORT_URI")]
# Permissions-Policy (educonnect.middleware): the portal uses none of these browser features,
# so no page (nor anything framed in one) may ask for them.
PERMISSIONS_POLICY = {
    feature: [] for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media",
        "fullscreen", "geolocation", "gyroscope", "magnetometer", "microphone", "midi",
        "payment", "picture-in-picture", "publickey-credentials-get", "screen-wake-lock",
        "serial", "usb", "xr-spatial-tracking", "browsing-topics",
    )
}
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Number of trusted reverse proxies in front of the web nodes; the client address used for
# rate limits and the journal is read from X-Forwarded-For only that many hops deep.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Authentication ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.Account"
AUTHENTICATION_BACKENDS = ["accounts.backends.IdentifierBackend"]
LOGIN_URL = "accounts:profile_choice"
LOGIN_REDIRECT_URL = "services_portal:my_services"
LOGOUT_REDIRECT_URL = "accounts:profile_choice"

# Argon2id at explicit parameters, never below OWASP's minimum (19 MiB, t=2, p=1).
ARGON2_MEMORY_COST_KIB = env.int("ARGON2_MEMORY_COST_KIB", default=19 * 1024)
ARGON2_TIME_COST = env.int("ARGON2_TIME_COST", default=2)
ARGON2_PARALLELISM = env.int("ARGON2_PARALLELISM", default=1)
PASSWORD_HASHERS = ["accounts.hashers.EduConnectArgon2Hasher",
                    # Hashes made before passwords were NFKC-normalised: still verified,
                    # replaced at their owner's next sign-in (accounts/hashers.py).
                    "accounts.hashers.LegacyArgon2Hasher",
                    # A school letter's provisional password: any case signs in
                    # (pupils.letters; accounts/hashers.py, ProvisionalLetterHasher).
                    "accounts.hashers.ProvisionalLetterHasher"]
# The product's password policy for every Django path that validates a password (password
# change pages, changepassword, createsuperuser): the published rules for families and
# pupils, the stronger staff policy for back-office accounts (accounts/password_policy.py).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "accounts.password_policy.EduConnectPasswordValidator"},
]

# Sign-in attempt limits (counted in the cache, so shared by every web node with Redis).
LOGIN_MAX_FAILURES_PER_IDENTIFIER = env.int("LOGIN_MAX_FAILURES_PER_IDENTIFIER", default=10)
LOGIN_MAX_FAILURES_PER_IP = env.int("LOGIN_MAX_FAILURES_PER_IP", default=100)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
# Per identifier from one address (an IPv6 /64): a guesser at one address stops here, before
# the identifier's shared window (which then refuses browsers without a device cookie only).
LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP = env.int(
    "LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP", default=5
)
# A browser where the account signed in before carries a device cookie: its attempts count
# in their own window, untouched by other browsers' failures (accounts/limits.py).
LOGIN_MAX_FAILURES_PER_DEVICE = env.int("LOGIN_MAX_FAILURES_PER_DEVICE", default=10)
LOGIN_DEVICE_COOKIE_MAX_AGE_SECONDS = env.int(
    "LOGIN_DEVICE_COOKIE_MAX_AGE_SECONDS", default=365 * 24 * 3600
)

# --- Internationalisation ---------------------------------------------------------------
# French is the source language: every text the user reads is written in French in the code
# and the templates, wrapped for translation (gettext, {% translate %}). There is no catalogue
# of our own, hence no LOCALE_PATHS: a translation into another language would add one
# (`LOCALE_PATHS = [BASE_DIR / "locale"]`, `manage.py makemessages -l <code>`) and its
# language to LANGUAGES. Django's and django-dsfr's own French catalogues still apply.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = "FR"
PHONENUMBER_DB_FORMAT = "E164"

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True  # serve straight from the apps in the demo and in tests

# --- Celery -----------------------------------------------------------------------------
# Without a broker, tasks run eagerly inside the request's process (demo only).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks still open a producer: kombu's in-memory transport, so that the demo
    # neither looks for a broker on localhost nor warns « No hostname was supplied »
    # (issue 13 §6). `check --deploy` still refuses running without a broker (E004).
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {}
# Separate queues `sms`, `email` and `periodic`, each served by its own workers
# (notifications/routing.py, docker-compose.yml). Off: one default queue for everything.
CELERY_SEPARATE_QUEUES = env.bool("CELERY_SEPARATE_QUEUES", default=False)
if CELERY_SEPARATE_QUEUES:
    CELERY_TASK_ROUTES = ["notifications.routing.task_route"]

# --- Email and SMS ----------------------------------------------------------------------
# Every e-mail, the portal's and any send_mail by Django or a library, is written to the
# outbox in the caller's transaction (notifications/backends.py); the worker side delivers it
# through NOTIFICATIONS_EMAIL_DELIVERY_BACKEND: SMTP with the EMAIL_HOST… settings below in
# production, the console (and a file for the demo page) in a DEBUG demo.
EMAIL_BACKEND = "notifications.backends.OutboxEmailBackend"
NOTIFICATIONS_EMAIL_DELIVERY_BACKEND = env.str(
    "NOTIFICATIONS_EMAIL_DELIVERY_BACKEND",
    default="notifications.mail.DemoEmailBackend" if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
# Seconds an SMTP connection or command may take before the attempt counts as transient.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL",
    default="Administrateur des services en ligne <ne-pas-repondre@educonnect.example>",
)
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# The demo's e-mails are also written there, for the demo page « Messages envoyés ».
EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=VAR_DIR / "emails")
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.sms.ConsoleSMSBackend")
SMS_FILE_PATH = env.path("SMS_FILE_PATH", default=VAR_DIR / "sms")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")

# --- Logging: never a code, a password or a token --------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "server": {"()": "django.utils.log.ServerFormatter",
                              "format": "[{server_time}] {message}", "style": "{"}},
    # Link tokens (password reset, e-mail validation) are in paths: never in a log line.
    "filters": {"link_tokens": {"()": "educonnect.log_redaction.RedactLinkTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["link_tokens"]},
                 # runserver's request lines (the demo), as Django's own handler prints them.
                 "server": {"class": "logging.StreamHandler", "formatter": "server",
                            "filters": ["link_tokens"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint (school letters) logs every step of every PDF at INFO.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"},
                "fontTools": {"level": "WARNING"},
                # Django's own « console » handler (DEBUG only) would print its warnings a
                # second time, unredacted: its records go through the one above instead.
                "django": {"handlers": ["console"],
                           "level": env.str("LOG_LEVEL", default="INFO"), "propagate": False},
                "django.server": {"handlers": ["server"], "level": "INFO",
                                  "propagate": False}},
}

# --- Notifications (outbox) ---------------------------------------------------------------
# A transient failure (provider down, 429, SMTP 4xx) is tried again with exponential backoff,
# BACKOFF·2^(n-1) seconds (±20 %), capped, with no limit on the count: for as long as the
# message is worth sending (the *_MAX_AGE settings below), then it is marked expired,
# journaled and shown so in the helpdesk file (docs/outbox.md).
NOTIFICATIONS_RETRY_BACKOFF_SECONDS = env.int("NOTIFICATIONS_RETRY_BACKOFF_SECONDS", default=10)
NOTIFICATIONS_RETRY_BACKOFF_MAX_SECONDS = env.int(
    "NOTIFICATIONS_RETRY_BACKOFF_MAX_SECONDS", default=300
)
# A queued row overdue by this much lost its broker message: the periodic task re-sends it.
NOTIFICATIONS_REQUEUE_AFTER_SECONDS = env.int("NOTIFICATIONS_REQUEUE_AFTER_SECONDS", default=120)
NOTIFICATIONS_REQUEUE_BATCH_SIZE = env.int("NOTIFICATIONS_REQUEUE_BATCH_SIZE", default=500)
# A row left "sending" this long belongs to a dead worker (far above the provider's timeout).
NOTIFICATIONS_SENDING_TIMEOUT_SECONDS = env.int(
    "NOTIFICATIONS_SENDING_TIMEOUT_SECONDS", default=10 * 60
)
# How long after it was written a message is still worth sending (then: expired, text wiped
# if it held a secret). An SMS holding a code: the code's lifetime (30 min, the longest of
# ACTIVATION_CODE_TTL_SECONDS and PASSWORD_RESET_CODE_TTL_SECONDS). Another SMS (« compte
# activé », identifier reminder): hours. An e-mail (its links open a page that says whether they
# still work): two days, a long SMTP outage included.
NOTIFICATIONS_SECRET_MAX_AGE_SECONDS = env.int(
    "NOTIFICATIONS_SECRET_MAX_AGE_SECONDS", default=30 * 60
)
NOTIFICATIONS_SMS_MAX_AGE_SECONDS = env.int("NOTIFICATIONS_SMS_MAX_AGE_SECONDS", default=6 * 3600)
NOTIFICATIONS_EMAIL_MAX_AGE_SECONDS = env.int(
    "NOTIFICATIONS_EMAIL_MAX_AGE_SECONDS", default=48 * 3600
)
TWILIO_TIMEOUT_SECONDS = env.int("TWILIO_TIMEOUT_SECONDS", default=15)
# The web request only writes outbox rows; the dispatcher (`manage.py outbox_dispatch`) is
# woken by PostgreSQL's NOTIFY at commit and hands them to Celery. It also looks every
# POLL seconds (retries that fall due, a notification missed while it restarted).
NOTIFICATIONS_DISPATCH_POLL_SECONDS = env.float("NOTIFICATIONS_DISPATCH_POLL_SECONDS", default=5)
NOTIFICATIONS_DISPATCH_BATCH_SIZE = env.int("NOTIFICATIONS_DISPATCH_BATCH_SIZE", default=100)
# Without a broker (the demo: tasks run eagerly) a message is sent in the process right after
# commit instead, so that the demo page shows it at once.
NOTIFICATIONS_SEND_ON_COMMIT = CELERY_TASK_ALWAYS_EAGER
CELERY_BEAT_SCHEDULE["notifications-requeue"] = {
    "task": "notifications.tasks.requeue_stale_messages",
    "schedule": env.int("NOTIFICATIONS_REQUEUE_EVERY_SECONDS", default=60),
}
# The demo page « Messages envoyés » (DEBUG only) reads SMS texts from the file backend's
# folder, since a code is wiped from the database once sent: a DEBUG run that names no
# SMS_BACKEND prints its SMS and also writes them there.
if DEBUG and not env.str("SMS_BACKEND", default=""):
    SMS_BACKEND = "notifications.sms.DemoSMSBackend"

# --- Flows and verification codes (core.flows, core.codes) -----------------------------------
# One code per recipient (phone number or e-mail address) at most this often, whatever flow
# asks for it; silent: the page reads the same. Off by default (0): a parent who starts on
# the phone, then again on a computer within the minute, had a page reading « code envoyé »
# with no SMS coming, and the first SMS's code belongs to the first flow (a code is bound to
# its flow, core.codes) — a dead end. What bounds the codes a stranger can make a number
# receive is the per-recipient quota of each purpose (ACTIVATION_MAX_SENDS_PER_PHONE…: 5 a
# day); activation SMS only go to numbers a school's roster holds, and a second start in the
# same browser resumes the first flow instead of sending again.
CODE_RECIPIENT_COOLDOWN_SECONDS = env.int("CODE_RECIPIENT_COOLDOWN_SECONDS", default=0)
# Flows of every kind are deleted once their kind's retention has passed (core.tasks).
CELERY_BEAT_SCHEDULE["flows-purge"] = {
    "task": "core.tasks.flows_purge_task",
    "schedule": 6 * 3600,
}
# Single-use links sent by e-mail (core.tokens): rows are deleted this many days after they
# expired (the helpdesk can still see a link that was used or expired recently).
LINK_TOKEN_RETENTION_DAYS = env.int("LINK_TOKEN_RETENTION_DAYS", default=30)
CELERY_BEAT_SCHEDULE["link-tokens-purge"] = {
    "task": "core.tasks.link_tokens_purge_task",
    "schedule": 6 * 3600,
}
# Sessions are kept in PostgreSQL too (cached_db): expired rows are deleted daily.
CELERY_BEAT_SCHEDULE["sessions-purge"] = {
    "task": "core.tasks.sessions_purge_task",
    "schedule": 24 * 3600,
}

# --- Provisional accounts (school letters, issue 9) ------------------------------------------
# A provisional password (the school's letter) signs in for this many days after the letter was
# issued (seed 004: « valable 3 mois »); after that the family must ask the school for a new one.
PROVISIONAL_PASSWORD_VALIDITY_DAYS = env.int("PROVISIONAL_PASSWORD_VALIDITY_DAYS", default=92)
# The PDF of a letter run (pupils/letters.py) holds the provisional passwords: it is written
# under LETTERS_DIR, downloadable by the secretary who asked for it for LETTERS_FILE_TTL_SECONDS,
# then deleted by the periodic purge (and at once if the run fails).
LETTERS_DIR = env.path("LETTERS_DIR", default=VAR_DIR / "letters")
LETTERS_FILE_TTL_SECONDS = env.int("LETTERS_FILE_TTL_SECONDS", default=24 * 3600)
# Letters are rendered this many pages at a time, then the parts are merged: the memory of a
# run does not grow with the school's size (bench/bench_letters.py).
LETTERS_CHUNK_SIZE = env.int("LETTERS_CHUNK_SIZE", default=50)
# Threads hashing the provisional passwords ahead (Argon2 releases the GIL). One is enough on
# two cores: the renderer processes take the rest (2,800 letters: 59 s with one, 61 s with
# two, bench/README.md).
LETTERS_HASH_THREADS = env.int("LETTERS_HASH_THREADS", default=1)
# Processes rendering a run's PDF parts (WeasyPrint holds the GIL: one process per core lets the
# rendering use every core while the run's own process writes accounts and merges); 0 renders
# in the run's process.
LETTERS_RENDER_PROCESSES = env.int("LETTERS_RENDER_PROCESSES", default=2)
# A run still « running » after this long belongs to a dead worker: it is marked failed.
LETTERS_RUN_TIMEOUT_SECONDS = env.int("LETTERS_RUN_TIMEOUT_SECONDS", default=30 * 60)
# The web request only writes the run's row; Celery beat's `letter_runs_start` starts queued
# runs every LETTERS_START_EVERY_SECONDS. Without a broker (the demo) the run starts in the
# web process right after commit.
LETTERS_RUN_ON_COMMIT = CELERY_TASK_ALWAYS_EAGER
CELERY_BEAT_SCHEDULE["letter-runs-start"] = {
    "task": "pupils.tasks.letter_runs_start_task",
    "schedule": env.int("LETTERS_START_EVERY_SECONDS", default=5),
}
CELERY_BEAT_SCHEDULE["letter-files-purge"] = {
    "task": "pupils.tasks.letter_files_purge_task",
    "schedule": 15 * 60,
}

# --- Activation -------------------------------------------------------------------------------
# Guardian self-activation by SMS (activation/flows.py). Per-flow counters live on the flow's
# rows; counters per phone number and per IP address live in the rate-limit storage (Redis in
# production).
ACTIVATION_CODE_TTL_SECONDS = env.int("ACTIVATION_CODE_TTL_SECONDS", default=30 * 60)
# A flow untouched this long is dead; every action pushes the limit back, never beyond the
# maximum age.
ACTIVATION_FLOW_IDLE_SECONDS = env.int("ACTIVATION_FLOW_IDLE_SECONDS", default=30 * 60)
ACTIVATION_FLOW_MAX_AGE_SECONDS = env.int("ACTIVATION_FLOW_MAX_AGE_SECONDS", default=2 * 60 * 60)
ACTIVATION_MAX_WRONG_CODES = env.int("ACTIVATION_MAX_WRONG_CODES", default=5)
ACTIVATION_RESEND_COOLDOWN_SECONDS = env.int("ACTIVATION_RESEND_COOLDOWN_SECONDS", default=60)
ACTIVATION_MAX_SENDS_PER_FLOW = env.int("ACTIVATION_MAX_SENDS_PER_FLOW", default=3)
# SMS actually sent to one number per window, across flows; silent once reached.
ACTIVATION_MAX_SENDS_PER_PHONE = env.int("ACTIVATION_MAX_SENDS_PER_PHONE", default=5)
ACTIVATION_PHONE_WINDOW_SECONDS = env.int("ACTIVATION_PHONE_WINDOW_SECONDS", default=24 * 3600)
# Generous: families behind one carrier-grade NAT (a mobile operator's public IPv4 address
# is shared by many subscribers, busiest on September evenings), a school's Wi-Fi during the
# « réunion de rentrée » (a hundred parents in an hour on one address). Codes are only sent
# to numbers a roster holds and each number has its own daily quota, so this limit only
# slows one address's bulk attempts; it is not what stops SMS abuse.
ACTIVATION_MAX_SENDS_PER_IP = env.int("ACTIVATION_MAX_SENDS_PER_IP", default=200)
ACTIVATION_IP_WINDOW_SECONDS = env.int("ACTIVATION_IP_WINDOW_SECONDS", default=3600)
ACTIVATION_MAX_WRONG_DATES = env.int("ACTIVATION_MAX_WRONG_DATES", default=5)
# Across flows, so that starting again does not give five more guesses of a birth date.
ACTIVATION_MAX_WRONG_DATES_PER_PHONE = env.int("ACTIVATION_MAX_WRONG_DATES_PER_PHONE", default=10)
# Flows hold what people typed: they are deleted this many days after they started.
ACTIVATION_FLOW_RETENTION_DAYS = env.int("ACTIVATION_FLOW_RETENTION_DAYS", default=30)

# First sign-in with a school letter (activation/flows.py, PROVISIONAL_GUARDIAN and
# PROVISIONAL_PUPIL): the flow waits for the e-mail's link (EMAIL_CHANGE_LINK_TTL_SECONDS), and
# signing in again finds it and binds it to the new browser; past its maximum age a new one
# starts at the first step not done. Wrong birth dates follow ACTIVATION_MAX_WRONG_DATES (per
# flow) and ACTIVATION_MAX_WRONG_DATES_PER_PHONE (here per account, same window).
PROVISIONAL_FLOW_IDLE_SECONDS = env.int("PROVISIONAL_FLOW_IDLE_SECONDS", default=7 * 24 * 3600)
PROVISIONAL_FLOW_MAX_AGE_SECONDS = env.int("PROVISIONAL_FLOW_MAX_AGE_SECONDS",
                                           default=14 * 24 * 3600)
PROVISIONAL_FLOW_RETENTION_DAYS = env.int("PROVISIONAL_FLOW_RETENTION_DAYS", default=30)

# --- Recovery: « Identifiant oublié ? » and « Mot de passe oublié ? » (accounts/recovery/) ----
# The password recovery's flows: alive this long without action (long enough to fetch the
# e-mail: the link lives PASSWORD_RESET_LINK_TTL_SECONDS), never longer than the maximum age.
PASSWORD_RECOVERY_FLOW_IDLE_SECONDS = env.int("PASSWORD_RECOVERY_FLOW_IDLE_SECONDS", default=3600)
PASSWORD_RECOVERY_FLOW_MAX_AGE_SECONDS = env.int(
    "PASSWORD_RECOVERY_FLOW_MAX_AGE_SECONDS", default=2 * 3600
)
PASSWORD_RECOVERY_FLOW_RETENTION_DAYS = env.int("PASSWORD_RECOVERY_FLOW_RETENTION_DAYS", default=30)
# Recoveries started from one IP address per window (PASSWORD_RESET_IP_WINDOW_SECONDS).
PASSWORD_RECOVERY_MAX_STARTS_PER_IP = env.int("PASSWORD_RECOVERY_MAX_STARTS_PER_IP", default=60)
# The code by SMS: the activation's limits, under their own names.
PASSWORD_RESET_CODE_TTL_SECONDS = env.int("PASSWORD_RESET_CODE_TTL_SECONDS", default=30 * 60)
PASSWORD_RESET_MAX_WRONG_CODES = env.int("PASSWORD_RESET_MAX_WRONG_CODES", default=5)
PASSWORD_RESET_RESEND_COOLDOWN_SECONDS = env.int(
    "PASSWORD_RESET_RESEND_COOLDOWN_SECONDS", default=60
)
PASSWORD_RESET_MAX_SENDS_PER_FLOW = env.int("PASSWORD_RESET_MAX_SENDS_PER_FLOW", default=3)
PASSWORD_RESET_MAX_SENDS_PER_PHONE = env.int("PASSWORD_RESET_MAX_SENDS_PER_PHONE", default=5)
PASSWORD_RESET_PHONE_WINDOW_SECONDS = env.int(
    "PASSWORD_RESET_PHONE_WINDOW_SECONDS", default=24 * 3600
)
PASSWORD_RESET_MAX_SENDS_PER_IP = env.int("PASSWORD_RESET_MAX_SENDS_PER_IP", default=30)
PASSWORD_RESET_IP_WINDOW_SECONDS = env.int("PASSWORD_RESET_IP_WINDOW_SECONDS", default=3600)
# The link by e-mail: its lifetime, and e-mails sent to one address per window (silent).
PASSWORD_RESET_LINK_TTL_SECONDS = env.int("PASSWORD_RESET_LINK_TTL_SECONDS", default=60 * 60)
PASSWORD_RESET_MAX_SENDS_PER_EMAIL = env.int("PASSWORD_RESET_MAX_SENDS_PER_EMAIL", default=5)
# « Identifiant oublié ? »: requests per IP address (shown) and messages per phone number or
# address (silent: the page reads the same) per window.
IDENTIFIER_REMINDER_MAX_PER_IP = env.int("IDENTIFIER_REMINDER_MAX_PER_IP", default=30)
IDENTIFIER_REMINDER_IP_WINDOW_SECONDS = env.int(
    "IDENTIFIER_REMINDER_IP_WINDOW_SECONDS", default=3600
)
IDENTIFIER_REMINDER_MAX_PER_RECIPIENT = env.int("IDENTIFIER_REMINDER_MAX_PER_RECIPIENT", default=3)
IDENTIFIER_REMINDER_RECIPIENT_WINDOW_SECONDS = env.int(
    "IDENTIFIER_REMINDER_RECIPIENT_WINDOW_SECONDS", default=24 * 3600
)
# --- « Mon compte » (accounts/my_account) ---------------------------------------------------
# A change of e-mail address or phone number asks for the password again when the last
# sign-in (or re-authentication) is older than this (seconds).
ACCOUNT_REAUTHENTICATION_SECONDS = env.int("ACCOUNT_REAUTHENTICATION_SECONDS", default=300)
# Wrong current passwords (password change, re-authentication) per account and window: past
# them, one attempt per MY_ACCOUNT_PASSWORD_SLOWDOWN_SECONDS — slowed down, never locked: the
# right password, once admitted, still works; it clears the count.
MY_ACCOUNT_MAX_WRONG_PASSWORDS = env.int("MY_ACCOUNT_MAX_WRONG_PASSWORDS", default=5)
MY_ACCOUNT_WRONG_PASSWORD_WINDOW_SECONDS = env.int(
    "MY_ACCOUNT_WRONG_PASSWORD_WINDOW_SECONDS", default=3600
)
MY_ACCOUNT_PASSWORD_SLOWDOWN_SECONDS = env.int("MY_ACCOUNT_PASSWORD_SLOWDOWN_SECONDS", default=60)
# Change of phone number (flow kind phone_change): a code by SMS to the new number, valid as
# long as every other SMS code of the portal (ACTIVATION_CODE_TTL_SECONDS,
# PASSWORD_RESET_CODE_TTL_SECONDS): the SMS and the code page say one lifetime everywhere.
PHONE_CHANGE_CODE_TTL_SECONDS = env.int("PHONE_CHANGE_CODE_TTL_SECONDS", default=30 * 60)
PHONE_CHANGE_FLOW_IDLE_SECONDS = env.int("PHONE_CHANGE_FLOW_IDLE_SECONDS", default=30 * 60)
PHONE_CHANGE_FLOW_MAX_AGE_SECONDS = env.int("PHONE_CHANGE_FLOW_MAX_AGE_SECONDS", default=2 * 3600)
PHONE_CHANGE_MAX_WRONG_CODES = env.int("PHONE_CHANGE_MAX_WRONG_CODES", default=5)
PHONE_CHANGE_RESEND_COOLDOWN_SECONDS = env.int("PHONE_CHANGE_RESEND_COOLDOWN_SECONDS", default=60)
PHONE_CHANGE_MAX_SENDS_PER_FLOW = env.int("PHONE_CHANGE_MAX_SENDS_PER_FLOW", default=3)
PHONE_CHANGE_MAX_SENDS_PER_PHONE = env.int("PHONE_CHANGE_MAX_SENDS_PER_PHONE", default=5)
PHONE_CHANGE_PHONE_WINDOW_SECONDS = env.int("PHONE_CHANGE_PHONE_WINDOW_SECONDS", default=24 * 3600)
PHONE_CHANGE_MAX_SENDS_PER_IP = env.int("PHONE_CHANGE_MAX_SENDS_PER_IP", default=30)
PHONE_CHANGE_IP_WINDOW_SECONDS = env.int("PHONE_CHANGE_IP_WINDOW_SECONDS", default=3600)
PHONE_CHANGE_FLOW_RETENTION_DAYS = env.int("PHONE_CHANGE_FLOW_RETENTION_DAYS", default=30)
# Phone changes started per account and window (each sends up to PHONE_CHANGE_MAX_SENDS_PER_FLOW
# SMS): a session cannot be used to send SMS to any number it likes (SMS pumping).
PHONE_CHANGE_MAX_STARTS_PER_ACCOUNT = env.int("PHONE_CHANGE_MAX_STARTS_PER_ACCOUNT", default=5)
PHONE_CHANGE_ACCOUNT_WINDOW_SECONDS = env.int("PHONE_CHANGE_ACCOUNT_WINDOW_SECONDS",
                                              default=24 * 3600)
# Change of e-mail address: the validation link's lifetime, which is also the pending
# change's (7 days, issue 8 §1).
EMAIL_CHANGE_LINK_TTL_SECONDS = env.int("EMAIL_CHANGE_LINK_TTL_SECONDS", default=7 * 24 * 3600)
# Validation links sent per account and window (a new address or « Renvoyer l'email de
# validation »): a signed-in session cannot flood someone's mailbox.
EMAIL_CHANGE_MAX_LINKS_PER_ACCOUNT = env.int("EMAIL_CHANGE_MAX_LINKS_PER_ACCOUNT", default=5)
EMAIL_CHANGE_LINK_WINDOW_SECONDS = env.int("EMAIL_CHANGE_LINK_WINDOW_SECONDS", default=24 * 3600)

# « Ajouter des enfants depuis un autre compte »: how long the other account's proven password
# waits for « Confirmer le regroupement » (kept in the session, single use).
FAMILIES_MERGE_CONFIRM_SECONDS = env.int("FAMILIES_MERGE_CONFIRM_SECONDS", default=300)

# --- Back-office --------------------------------------------------------------------------
# Between the password and the code: how long the half-signed-in state lasts, how many codes
# it allows before the password is due again (backoffice/limits.py: the only code limits;
# django-otp's own slow-down per device is off, OTP_TOTP_THROTTLE_FACTOR below).
BACKOFFICE_SIGN_IN_PENDING_SECONDS = env.int("BACKOFFICE_SIGN_IN_PENDING_SECONDS", default=300)
BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES = env.int("BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES", default=5)
# Codes per staff account across sign-ins (cleared by a right code): someone who holds the
# password cannot restart sign-ins to try codes for ever (20 a day ≈ 2 % a year of guessing
# one of the 3 codes accepted at a time out of a million).
BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES_PER_ACCOUNT = env.int(
    "BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES_PER_ACCOUNT", default=20
)
BACKOFFICE_SIGN_IN_ACCOUNT_CODE_WINDOW_SECONDS = env.int(
    "BACKOFFICE_SIGN_IN_ACCOUNT_CODE_WINDOW_SECONDS", default=24 * 3600
)
# Codes per client IP address (right or wrong: never cleared), whatever the account.
BACKOFFICE_SIGN_IN_MAX_CODES_PER_IP = env.int("BACKOFFICE_SIGN_IN_MAX_CODES_PER_IP", default=100)
BACKOFFICE_SIGN_IN_IP_CODE_WINDOW_SECONDS = env.int(
    "BACKOFFICE_SIGN_IN_IP_CODE_WINDOW_SECONDS", default=3600
)
# Helpdesk searches per agent and hour: ample for a call centre, a brake on scraping.
BACKOFFICE_SEARCHES_PER_HOUR = env.int("BACKOFFICE_SEARCHES_PER_HOUR", default=600)
# The window of that limit: an hour, as its name says (not read from the environment).
BACKOFFICE_SEARCH_WINDOW_SECONDS = 3600
# Key of the staff's TOTP seeds in the database (backoffice/totp_keys.py): any long random
# text, the same on every node; changing it makes staff enrol again. Empty: derived from
# DJANGO_SECRET_KEY (demo, tests); `check --deploy` requires it (educonnect.E016).
OTP_TOTP_ENCRYPTION_KEY = env.str("OTP_TOTP_ENCRYPTION_KEY", default="")
# What authenticator apps show next to the code.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="ÉduConnect back-office")
# django-otp's slow-down after each wrong code (1 s, 2 s, 4 s… kept across sign-ins, never
# announced) off: the code step's limits are backoffice/limits.py's windows in Redis.
OTP_TOTP_THROTTLE_FACTOR = 0
# TOTP secrets are never displayed once enrolled.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# History pages are read-only: no « revert » to an older version.
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- Service -----------------------------------------------------------------------------
EDUCONNECT_ASSISTANCE_PHONE = "0 809 54 06 06"
EDUCONNECT_ASSISTANCE_URL = "https://assistanceteleservices.education.gouv.fr"

# --- SAML identity provider (saml_idp, docs/saml.md) ----------------------------------------
# The IdP's entityID: services know the IdP by it (Shibboleth's form: https://host/idp/shibboleth).
SAML_IDP_ENTITY_ID = env.str("SAML_IDP_ENTITY_ID", default="") or f"{SITE_URL}/idp/shibboleth"
# Signing and encryption key pair: paths of PEM files, or the PEM text. Empty: a development
# pair is generated into var/saml_idp/ (`manage.py check --deploy` refuses that).
SAML_IDP_KEY = env.str("SAML_IDP_KEY", default="")
SAML_IDP_CERT = env.str("SAML_IDP_CERT", default="")
SAML_XMLSEC_BINARY = env.str("SAML_XMLSEC_BINARY", default="/usr/bin/xmlsec1")
# Clocks of services differ a little: validity windows are widened by this margin.
SAML_CLOCK_SKEW_SECONDS = env.int("SAML_CLOCK_SKEW_SECONDS", default=180)
# An AuthnRequest older than this (after the margin) is refused as expired.
SAML_REQUEST_MAX_AGE_SECONDS = env.int("SAML_REQUEST_MAX_AGE_SECONDS", default=300)
# How long an assertion may be used by the service.
SAML_ASSERTION_LIFETIME_SECONDS = env.int("SAML_ASSERTION_LIFETIME_SECONDS", default=300)
# Key of the persistent NameID (HMAC of the account and the service): changing it gives every
# user a new identifier at every service. Empty: derived from DJANGO_SECRET_KEY.
SAML_PERSISTENT_ID_KEY = env.str("SAML_PERSISTENT_ID_KEY", default="")
# --- OpenID Connect provider (oidc_idp on django-oauth-toolkit; docs/oidc.md) --------------
# The RS256 signing key: a PEM text or the path of a PEM file. Empty: a development key made
# once in var/ (never committed), which `check --deploy` refuses (educonnect.E010).
OIDC_RSA_PRIVATE_KEY, OIDC_SIGNING_KEY_IS_DEVELOPMENT = signing_key_pem(
    env.str("OIDC_RSA_PRIVATE_KEY", default=""), var_dir=VAR_DIR
)
# The key of the pairwise `sub` (HMAC-SHA256 of the client's sector and the account): a
# service sees one stable, opaque identifier per person, never another service's. Never
# change it once services have stored identifiers. The demo value fails `check --deploy`.
INSECURE_DEFAULT_OIDC_PAIRWISE_SECRET = "insecure-demo-pairwise-secret-do-not-use-0123456789"  # noqa: S105
OIDC_PAIRWISE_SECRET = env.str(
    "OIDC_PAIRWISE_SECRET", default=INSECURE_DEFAULT_OIDC_PAIRWISE_SECRET
)
# The issuer (`iss`), also the base of /.well-known/openid-configuration: the public URL of
# the portal, without a trailing slash. Empty: read from each request's host (demo, tests).
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").rstrip("/")
# django-oauth-toolkit's own models, named: its migrations depend on these settings.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
# A client secret checked once (Argon2id) is trusted this long, per web node cluster (the
# cache): a service's token requests then cost no hash. 0: every request hashes.
OIDC_CLIENT_SECRET_CACHE_SECONDS = env.int("OIDC_CLIENT_SECRET_CACHE_SECONDS", default=300)
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": OIDC_ISSUER,
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "OAUTH2_VALIDATOR_CLASS": "oidc_idp.validators.EduConnectOAuth2Validator",
    "SCOPES_BACKEND_CLASS": "oidc_idp.scopes.ClientScopes",
    # The scopes, their French texts and their claims are declared in oidc_idp/scopes.py
    # (this list must name the same); which client may ask which is set per client in the
    # back-office (oidc_idp.models.ClientPolicy).
    "SCOPES": {"openid": "openid", "profile": "profile", "children": "children"},
    "DEFAULT_SCOPES": ["openid"],
    # Authorization code with PKCE (S256 only); no implicit, hybrid or password grant.
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    # Access and refresh tokens are kept as SHA-256 checksums only.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OIDC_SUBJECT_TYPES_SUPPORTED": ["pairwise"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": env.int("OIDC_CODE_TTL_SECONDS", default=60),
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OIDC_ACCESS_TOKEN_TTL_SECONDS", default=600),
    "ID_TOKEN_EXPIRE_SECONDS": env.int("OIDC_ID_TOKEN_TTL_SECONDS", default=600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": SESSION_ABSOLUTE_SECONDS,
    # Consent is asked once per client and scopes (while a token lives); never for the
    # clients the national administration marks « skip authorization ».
    "REQUEST_APPROVAL_PROMPT": "auto",
    # The demo (DEBUG, http://127.0.0.1) has its own service on http (oidc_idp.demo).
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list(
        "OIDC_REDIRECT_URI_SCHEMES", default=["https", "http"] if DEBUG else ["https"]),
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
}
# --- Academic assistance form (issue 16 §6) ----------------------------------------------
# Requests per client IP address (its /64 for IPv6) and per e-mail address: enough for a
# family who writes again, a brake on spam (assistance.limits).
ASSISTANCE_MAX_REQUESTS_PER_IP = env.int("ASSISTANCE_MAX_REQUESTS_PER_IP", default=10)
ASSISTANCE_IP_WINDOW_SECONDS = env.int("ASSISTANCE_IP_WINDOW_SECONDS", default=3600)
ASSISTANCE_MAX_REQUESTS_PER_EMAIL = env.int("ASSISTANCE_MAX_REQUESTS_PER_EMAIL", default=5)
ASSISTANCE_EMAIL_WINDOW_SECONDS = env.int("ASSISTANCE_EMAIL_WINDOW_SECONDS", default=24 * 3600)

# --- FranceConnect v2 (franceconnect app: the OpenID Connect client) ----------------------
# Hidden (no button, every URL 404) unless the issuer, the client id and its secret are set.
# The endpoints are FranceConnect's route names under the issuer (…/authorize, /token,
# /userinfo, /jwks, /session/end): production https://oidc.franceconnect.gouv.fr/api/v2,
# integration https://fcp-low.integ01.dev-franceconnect.fr/api/v2 (research/domain.md §2.3).
FRANCECONNECT_ISSUER = env.str("FRANCECONNECT_ISSUER", default="").rstrip("/")
FRANCECONNECT_CLIENT_ID = env.str("FRANCECONNECT_CLIENT_ID", default="")
FRANCECONNECT_CLIENT_SECRET = env.str("FRANCECONNECT_CLIENT_SECRET", default="")
FRANCECONNECT_SCOPES = env.str(
    "FRANCECONNECT_SCOPES", default="openid given_name family_name birthdate gender email"
)
# Seconds a state (and its nonce) waits for FranceConnect's answer; single use.
FRANCECONNECT_STATE_TTL_SECONDS = env.int("FRANCECONNECT_STATE_TTL_SECONDS", default=10 * 60)
# Seconds the provider's keys (JWKS) are kept; an unknown key id fetches them again once.
FRANCECONNECT_JWKS_CACHE_SECONDS = env.int("FRANCECONNECT_JWKS_CACHE_SECONDS", default=24 * 3600)
# Seconds of clock difference tolerated on exp/iat (FranceConnect's access token lives 60 s).
FRANCECONNECT_LEEWAY_SECONDS = env.int("FRANCECONNECT_LEEWAY_SECONDS", default=5)
FRANCECONNECT_HTTP_TIMEOUT_SECONDS = env.int("FRANCECONNECT_HTTP_TIMEOUT_SECONDS", default=10)
# Seconds a FranceConnect identity not linked yet waits for its first link (the phone step).
FRANCECONNECT_PENDING_IDENTITY_SECONDS = env.int(
    "FRANCECONNECT_PENDING_IDENTITY_SECONDS", default=30 * 60
)
CELERY_BEAT_SCHEDULE["franceconnect-states-purge"] = {
    "task": "franceconnect.tasks.states_purge_task",
    "schedule": 6 * 3600,
}
