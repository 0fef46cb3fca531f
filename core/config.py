"""Configuration from the environment, with defaults that make `make run` work on a bare machine.

Everything a deployment must set is listed in `REQUIRED_IN_PRODUCTION` so that
`flask --app wsgi config check` can say what is missing before the first request fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = REPO_ROOT / "instance"
LANGUAGES = ("en", "de", "fr", "it")
QUEUES = ("default", "mail", "webhooks", "billing")


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance: Path) -> str:
    """Keep a generated key in instance/ so sessions survive restarts of the embedded demo."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _sqlalchemy_url(url: str) -> str:
    """Accept the plain `postgresql://` form that hosting platforms hand out."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def load(env: Mapping[str, str] | None = None, **overrides: object) -> dict[str, object]:
    """Build the Flask config mapping from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    instance = Path(env.get("FIRSTLINE_INSTANCE", str(DEFAULT_INSTANCE)))
    instance.mkdir(parents=True, exist_ok=True)
    database_url = _sqlalchemy_url(env.get("DATABASE_URL") or f"sqlite:///{instance / 'firstline.db'}")
    redis_url = env.get("REDIS_URL") or None
    config: dict[str, object] = {
        "FIRSTLINE_ENV": env.get("FIRSTLINE_ENV", "development"),
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": env.get("SECRET_KEY") or _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MIGRATE_DATABASE_URL": _sqlalchemy_url(env.get("MIGRATE_DATABASE_URL") or database_url),
        # orjson decodes JSON columns (the reports' histograms) about twice as fast as json.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "json_deserializer": orjson.loads},
        "REDIS_URL": redis_url,
        "JOBS_INLINE": redis_url is None,
        "SMTP_HOST": env.get("SMTP_HOST") or None,
        "SMTP_PORT": int(env.get("SMTP_PORT", "25")),
        "SMTP_USERNAME": env.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _bool(env.get("SMTP_STARTTLS")),
        "SMTP_TIMEOUT": float(env.get("SMTP_TIMEOUT", "10")),
        "MAIL_FROM": env.get("MAIL_FROM", "Firstline <no-reply@firstline.example>"),
        "MAIL_DROP_DIR": str(instance / "outgoing-mail"),
        # Inbound mail: the largest message accepted (SMTP refuses bigger ones at DATA), the token
        # an MTA pipe presents to POST /api/v1/inbound/email, and the listener `flask serve` starts.
        "MAIL_MAX_BYTES": int(env.get("MAIL_MAX_BYTES", str(40 * 1024 * 1024))),
        "MAIL_INGEST_TOKEN": env.get("MAIL_INGEST_TOKEN") or None,
        "SMTP_LISTEN": env.get("SMTP_LISTEN", "127.0.0.1:2525"),
        "IMAP_TIMEOUT": float(env.get("IMAP_TIMEOUT", "30")),
        "IMAP_BATCH": int(env.get("IMAP_BATCH", "100")),
        "ENCRYPTION_KEY": env.get("ENCRYPTION_KEY") or None,
        # Stripe: without a secret key nothing is pushed and invoices are settled by hand. The API
        # base is Stripe's own unless a test points it elsewhere; a push waits STRIPE_TIMEOUT
        # seconds per call, and the outbox retries it. `send_invoice` has Stripe mail the invoice
        # with its payment page; `charge_automatically` charges the card or debit on file.
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or "https://api.stripe.com",
        "STRIPE_TIMEOUT": float(env.get("STRIPE_TIMEOUT", "20")),
        "STRIPE_COLLECTION_METHOD": env.get("STRIPE_COLLECTION_METHOD", "send_invoice"),
        # Dunning: after a failed payment, a reminder at once and then every this many days, until
        # the client's grace period (set per client on its billing account) ends in suspension.
        "DUNNING_REMINDER_DAYS": int(env.get("DUNNING_REMINDER_DAYS", "3")),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(25 * 1024 * 1024))),
        "ATTACHMENT_MAX_BYTES": int(env.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))),
        "ATTACHMENT_MAX_FILES": int(env.get("ATTACHMENT_MAX_FILES", "5")),
        "RATELIMIT_WEBFORM": env.get("RATELIMIT_WEBFORM", "5 per minute; 50 per day"),
        # Live chat: visitor posts per address, the longest message, when an idle chat is closed,
        # and how long one server-sent-event stream lives before the client reconnects.
        "RATELIMIT_CHAT": env.get("RATELIMIT_CHAT", "30 per minute; 1000 per day"),
        "CHAT_MAX_CHARS": int(env.get("CHAT_MAX_CHARS", "4000")),
        "CHAT_IDLE_MINUTES": int(env.get("CHAT_IDLE_MINUTES", "15")),
        "CHAT_KEEPALIVE_SECONDS": float(env.get("CHAT_KEEPALIVE_SECONDS", "15")),
        "CHAT_STREAM_SECONDS": float(env.get("CHAT_STREAM_SECONDS", "300")),
        # Requests one web process works on at once, and how long one may wait for its turn
        # before it is answered 503 (core/admission.py); streams do not count. 0: no gate.
        "WEB_CONCURRENT_REQUESTS": int(env.get("WEB_CONCURRENT_REQUESTS", "2")),
        "WEB_ADMISSION_SECONDS": float(env.get("WEB_ADMISSION_SECONDS", "30")),
        "API_MAX_JSON_BYTES": int(env.get("API_MAX_JSON_BYTES", str(1024 * 1024))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE")),
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE")),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(REPO_ROOT / "i18n" / "translations"),
        "LANGUAGES": LANGUAGES,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN", "10 per minute"),
        # No X-RateLimit-* headers on every answer: reading a limit's window back is two more Redis
        # round trips per limited request (a chat line's, bench/chat.py), and only the public
        # endpoints are limited; a 429 still says when to retry (`core.boundary`).
        "RATELIMIT_HEADERS_ENABLED": False,
        "ARGON2_TIME_COST": int(env.get("ARGON2_TIME_COST", "3")),
        "ARGON2_MEMORY_COST": int(env.get("ARGON2_MEMORY_COST", "65536")),
        "API_TOKEN_TTL_DAYS": int(env.get("API_TOKEN_TTL_DAYS", "90")),
        "PASSWORD_RESET_TTL_SECONDS": 3600,
        "INVITATION_TTL_SECONDS": 7 * 86400,
        "SCHEDULER_IN_PROCESS": _bool(env.get("SCHEDULER_IN_PROCESS"), default=redis_url is None),
        "OUTBOX_MAX_ATTEMPTS": int(env.get("OUTBOX_MAX_ATTEMPTS", "8")),
        # Webhooks to the clients' systems: never into private networks (SSRF), https only outside
        # development, and a short timeout so that one slow receiver does not hold a worker.
        "WEBHOOK_ALLOW_PRIVATE": _bool(env.get("WEBHOOK_ALLOW_PRIVATE")),
        "WEBHOOK_ALLOW_HTTP": _bool(
            env.get("WEBHOOK_ALLOW_HTTP"), default=env.get("FIRSTLINE_ENV", "development") == "development"
        ),
        "WEBHOOK_TIMEOUT": float(env.get("WEBHOOK_TIMEOUT", "5")),
        # How far ahead the coverage sweep warns supervisors of hours nobody covers a language.
        "COVERAGE_WARN_HOURS": int(env.get("COVERAGE_WARN_HOURS", "2")),
        # Days an offboarded client's data (and its export archive) is kept before the purge sweep.
        "TENANT_RETENTION_DAYS": int(env.get("TENANT_RETENTION_DAYS", "30")),
        "PREFERRED_URL_SCHEME": env.get("PREFERRED_URL_SCHEME", "http"),
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000"),
    }
    config.update(overrides)
    return config


@dataclass(frozen=True)
class Finding:
    """One line of `config check`: a setting and why production needs it."""

    key: str
    problem: str


def check_production(config: Mapping[str, object]) -> list[Finding]:
    """What would go wrong if this configuration served real customers."""
    findings: list[Finding] = []
    if str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        findings.append(Finding("DATABASE_URL", "SQLite is for the demo; set a PostgreSQL URL."))
    elif config["MIGRATE_DATABASE_URL"] == config["SQLALCHEMY_DATABASE_URI"]:
        findings.append(
            Finding(
                "MIGRATE_DATABASE_URL",
                "the app and the migrations use one role; row-level security needs the app "
                "to connect as a role that does not own the tables.",
            )
        )
    if not config.get("REDIS_URL"):
        findings.append(Finding("REDIS_URL", "jobs run inline in the web process."))
    if not os.environ.get("SECRET_KEY"):
        findings.append(Finding("SECRET_KEY", "generated into instance/; set it for every node."))
    if not os.environ.get("ENCRYPTION_KEY"):
        findings.append(
            Finding("ENCRYPTION_KEY", "derived from SECRET_KEY; rotating it loses mailbox passwords.")
        )
    if not config.get("MAIL_INGEST_TOKEN"):
        findings.append(Finding("MAIL_INGEST_TOKEN", "the raw-mail endpoint for MTA pipes is off."))
    if not config.get("SMTP_HOST"):
        findings.append(Finding("SMTP_HOST", "outgoing mail is written to files, not sent."))
    if not config.get("SESSION_COOKIE_SECURE"):
        findings.append(Finding("SESSION_COOKIE_SECURE", "session cookies are sent over HTTP."))
    if not config.get("STRIPE_SECRET_KEY"):
        findings.append(Finding("STRIPE_SECRET_KEY", "invoices are settled by hand only."))
    if config.get("WEBHOOK_ALLOW_PRIVATE"):
        findings.append(
            Finding("WEBHOOK_ALLOW_PRIVATE", "webhooks may reach addresses inside your own network.")
        )
    if config.get("WEBHOOK_ALLOW_HTTP"):
        findings.append(Finding("WEBHOOK_ALLOW_HTTP", "webhooks may be sent unencrypted over http."))
    if config.get("STRIPE_SECRET_KEY") and not config.get("STRIPE_WEBHOOK_SECRET"):
        findings.append(Finding("STRIPE_WEBHOOK_SECRET", "Stripe webhooks cannot be verified."))
    if config.get("STRIPE_COLLECTION_METHOD") not in ("send_invoice", "charge_automatically"):
        findings.append(Finding("STRIPE_COLLECTION_METHOD", "must be send_invoice or charge_automatically."))
    return findings
