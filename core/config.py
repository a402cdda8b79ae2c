"""Settings read from the environment, declared once with their help text.

Every setting has a name, a default and a sentence saying what it does; `docs/SETTINGS.md`
is checked against this table by `tests/test_docs.py`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DOCKET_DATABASE_URL", "",
            "SQLAlchemy URL of the database. Empty: the embedded SQLite file under DOCKET_DATA_DIR. "
            "PostgreSQL: postgresql+psycopg://user@host:5432/db"),
    Setting("DOCKET_DATA_DIR", str(PROJECT_ROOT / "data"),
            "Folder for the embedded SQLite database (docket.sqlite3)."),
    Setting("DOCKET_DEMO_MODE", "auto",
            "on: seed demo cases and demo users with known passwords shown on the login page; "
            "off: never; auto: on when the database is the embedded SQLite default."),
    Setting("DOCKET_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024),
            "Largest document file accepted, in bytes (import, re-upload). The Settings page can "
            "override it (1 KB to 50 MB)."),
    Setting("DOCKET_MAX_IMPORT_BYTES", str(50 * 1024 * 1024),
            "Largest JSON import file accepted, in bytes."),
    Setting("DOCKET_COOKIE_KEY", "",
            "Key signing the sign-in cookie (at least 32 random bytes). Empty: read from "
            ".streamlit/secrets.toml, else generated there on first start."),
    Setting("DOCKET_SIMULATOR", "auto",
            "The Simulator page (admins and reviewers play the outside world on test cases): "
            "on: shown; off: hidden; auto: shown only in demo mode."),
    Setting("DOCKET_DEMO_MAILBOX", "auto",
            "While no SMTP server is set: on: emails are kept in the app (the Sent emails page, "
            "for admins) instead of skipped, re-upload links included; off: skipped; auto: on "
            "only in demo mode."),
    # --- notifications (core/notifications/, docs/NOTIFICATIONS.md) ---
    Setting("DOCKET_PUBLIC_URL", "http://localhost:8501",
            "Address of the app as applicants reach it; re-upload links in emails start with it."),
    Setting("DOCKET_EMBEDDED_WORKER", "on",
            "on: the app runs the worker's threads in the background (the notification "
            "dispatcher, the built-in screener, the daily signed audit checkpoint, the daily "
            "retention dry run), so no second process is needed; off: run "
            "`python -m core worker` yourself."),
    Setting("DOCKET_WORKER_CONCURRENCY", "4",
            "Deliveries one dispatcher sends at once (threads)."),
    Setting("DOCKET_WORKER_LEASE_SECONDS", "120",
            "How long a claimed delivery stays reserved for its worker; a killed worker's "
            "deliveries are retried after it. Keep it above the HTTP timeouts."),
    Setting("DOCKET_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,36000",
            "Seconds to wait before each retry (with +-20% jitter); a delivery fails for good "
            "after the last one."),
    Setting("DOCKET_HTTP_CONNECT_TIMEOUT", "5",
            "Seconds to wait for a webhook, SMS or CRM server to accept the connection."),
    Setting("DOCKET_HTTP_READ_TIMEOUT", "10",
            "Seconds to wait for a webhook, SMS or CRM server's answer."),
    Setting("DOCKET_BREAKER_FAILURES", "10",
            "Consecutive failed attempts (no answer, or a 5xx) to one target that open its "
            "circuit: its deliveries wait, unclaimed, for the cool-down (1-10000). Counted by "
            "each worker process on its own."),
    Setting("DOCKET_BREAKER_COOLDOWN_SECONDS", "30",
            "Seconds an open circuit keeps a target's deliveries waiting before one probe is "
            "sent (1-86400)."),
    Setting("DOCKET_ENDPOINT_DISABLE_AFTER_DAYS", "5",
            "A webhook endpoint failing continuously for this many days is disabled and flagged."),
    Setting("DOCKET_OUTBOUND_ALLOWLIST", "",
            "Comma-separated CIDRs (e.g. 10.1.2.0/24,127.0.0.1/32) that webhook, SMS and CRM "
            "calls may reach although private, loopback or reserved. Empty: public addresses only. "
            "The Settings page can override it."),
    Setting("DOCKET_SMTP_HOST", "",
            "SMTP server for applicant emails. Empty (and not set in the app's Settings): "
            "emails are skipped, not retried."),
    Setting("DOCKET_SMTP_PORT", "587", "SMTP server port."),
    Setting("DOCKET_SMTP_SECURITY", "starttls",
            "starttls, ssl (implicit TLS, usually port 465) or none."),
    Setting("DOCKET_SMTP_USER", "", "SMTP user name; empty: no login."),
    Setting("DOCKET_SMTP_PASSWORD", "", "SMTP password (secret: never shown or logged)."),
    Setting("DOCKET_SMTP_SENDER", "Docket <no-reply@docket.invalid>",
            "From address of applicant emails."),
    Setting("DOCKET_SMS_URL", "",
            "HTTP SMS gateway URL receiving a POST per SMS. Empty: SMS are skipped."),
    Setting("DOCKET_SMS_USER", "", "SMS gateway user (HTTP basic auth); empty: no basic auth."),
    Setting("DOCKET_SMS_PASSWORD", "",
            "SMS gateway password or API token (secret: never shown or logged)."),
    Setting("DOCKET_CRM_URL", "",
            "CRM API URL called for each decision with a templated JSON body. Empty: skipped."),
    Setting("DOCKET_CRM_METHOD", "POST", "HTTP method of the CRM call (POST, PUT or PATCH)."),
    Setting("DOCKET_CRM_HEADERS", "",
            "JSON object of extra headers for the CRM call, e.g. {\"Authorization\": \"Bearer ...\"} "
            "(secret: never shown or logged)."),
    Setting("DOCKET_REUPLOAD_LINK_DAYS", "30",
            "Days a re-upload link in an applicant's email stays valid (1-90). The Settings page "
            "can override it."),
    Setting("DOCKET_REUPLOAD_TOKEN_SECRET", "",
            "Key signing re-upload links (32+ random bytes). Empty: generated once and kept in "
            "the database's settings table."),
    # --- sign-in (core/signin/, docs/SECURITY.md); the Settings page can override each ---
    Setting("DOCKET_SIGNIN_IDLE_MINUTES", "30",
            "Minutes without an action after which a session ends (0.05-1440; decimals allowed)."),
    Setting("DOCKET_SIGNIN_LIFETIME_HOURS", "12",
            "Hours after sign-in at which a session ends, active or not (0.01-720)."),
    Setting("DOCKET_MFA_REQUIRED", "admins_and_leads",
            "Who must use a second factor (an authenticator app code) to sign in with a "
            "password: admins_and_leads, everyone, or off (only where everyone signs in "
            "through SSO, whose provider does MFA). Demo accounts in demo mode never need one."),
    Setting("DOCKET_SSO_ONLY", "off",
            "on: password sign-in is refused, except for the break-glass admin "
            "(DOCKET_SSO_BREAK_GLASS_ADMIN, who must have a second factor); off: both."),
    Setting("DOCKET_SSO_BREAK_GLASS_ADMIN", "",
            "The one admin who may still sign in with a password (and a second factor) when "
            "SSO only is on."),
    Setting("DOCKET_SSO_ALLOWED_DOMAINS", "",
            "Comma-separated email domains whose SSO users get an account on first sign-in "
            "(role DOCKET_SSO_DEFAULT_ROLE). Empty: only users an admin created may sign in."),
    Setting("DOCKET_SSO_DEFAULT_ROLE", "analyst",
            "Role of an account created on first SSO sign-in (analyst, reviewer, lead, admin)."),
    Setting("DOCKET_SSO_GROUPS_CLAIM", "",
            "Name of the ID-token claim listing the user's groups (e.g. groups); empty: roles "
            "are not taken from the provider."),
    Setting("DOCKET_SSO_GROUP_ROLES", "",
            "Provider groups mapped to Docket roles, e.g. docket-leads=lead,docket-admins=admin; "
            "the highest role a user's groups give wins, set at each SSO sign-in."),
    # --- the SSO provider (ui/sso.py, docs/SSO.md): Streamlit's [auth] secrets, from the
    # environment; set DOCKET_SSO_METADATA_URL and it replaces [auth] of secrets.toml whole ---
    Setting("DOCKET_SSO_METADATA_URL", "",
            "The OpenID Connect provider's discovery URL (…/.well-known/openid-configuration). "
            "Set: a 'Sign in with' button for this provider (the four below are then "
            "required); empty: providers come from [auth] in .streamlit/secrets.toml, if any."),
    Setting("DOCKET_SSO_CLIENT_ID", "", "The client (application) id registered at the provider."),
    Setting("DOCKET_SSO_CLIENT_SECRET", "",
            "The client secret registered at the provider (secret: never shown or logged)."),
    Setting("DOCKET_SSO_REDIRECT_URI", "",
            "The app's address followed by /oauth2callback (e.g. "
            "https://docket.example.com/oauth2callback), registered at the provider as a "
            "redirect URI and a post-logout redirect URI."),
    Setting("DOCKET_SSO_COOKIE_SECRET", "",
            "Key signing Streamlit's identity cookie (32+ random characters; secret: never "
            "shown or logged)."),
    Setting("DOCKET_SSO_PROVIDER_NAME", "sso",
            "The provider's name (letters, digits, '-'): recorded in the audit log with each "
            "SSO sign-in."),
    Setting("DOCKET_SSO_DISPLAY_NAME", "",
            "The button's wording, 'Sign in with <this>' (e.g. Okta). Empty: the provider's "
            "name title-cased (up to three letters: in capitals, SSO)."),
    Setting("DOCKET_SSO_PROMPT", "",
            "The OpenID Connect prompt sent to the provider. Empty: Streamlit's "
            "select_account (an account picker); login: always ask for the password."),
    # --- HTTP API (api/, docs/API.md) ---
    Setting("DOCKET_API_RATE_LIMIT", "600/minute",
            "Requests one API key may make, as N/second, N/minute, N/hour or N/day (a burst of "
            "N, then N per period); over it: 429 with Retry-After. Counted by each server "
            "process on its own. off: no limit."),
    # --- records (core/records/, docs/RECORDS.md) ---
    Setting("DOCKET_AUDIT_SIGNING_KEY", "",
            "File holding the Ed25519 key that signs audit checkpoints (PEM, PKCS #8; created "
            "with mode 0600 on first use, its public key written beside it as .pub). Empty: "
            "audit-signing.key in DOCKET_DATA_DIR. Keep it outside the database and its backups."),
)


def setting(env: str) -> str:
    for s in SETTINGS:
        if s.env == env:
            return os.environ.get(env, s.default)
    raise KeyError(env)


def database_url() -> str:
    url = setting("DOCKET_DATABASE_URL").strip()
    if url:
        return url
    data_dir = Path(setting("DOCKET_DATA_DIR"))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'docket.sqlite3'}"


def demo_mode(url: str | None = None) -> bool:
    value = setting("DOCKET_DEMO_MODE").strip().lower()
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    return (url or database_url()).startswith("sqlite") and not setting("DOCKET_DATABASE_URL").strip()


def demo_mailbox_enabled(url: str | None = None) -> bool:
    """Whether emails are kept in the app while no SMTP server is set (DOCKET_DEMO_MAILBOX)."""
    value = setting("DOCKET_DEMO_MAILBOX").strip().lower()
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    return demo_mode(url)


def simulator_enabled(url: str | None = None) -> bool:
    """Whether the Simulator page and core.demo.simulator may be used (DOCKET_SIMULATOR)."""
    value = setting("DOCKET_SIMULATOR").strip().lower()
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    return demo_mode(url)


def audit_signing_key_path() -> Path:
    """Where the audit checkpoints' signing key lives (DOCKET_AUDIT_SIGNING_KEY)."""
    path = setting("DOCKET_AUDIT_SIGNING_KEY").strip()
    return Path(path) if path else Path(setting("DOCKET_DATA_DIR")) / "audit-signing.key"


def max_upload_bytes() -> int:
    return int(setting("DOCKET_MAX_UPLOAD_BYTES"))


def max_import_bytes() -> int:
    return int(setting("DOCKET_MAX_IMPORT_BYTES"))
