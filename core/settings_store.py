"""Integration settings (SMTP, SMS gateway, CRM call, re-upload key) and limits (the outbound
allow-list, the re-upload link lifetime, the document upload limit) an admin edits in the app.

A value stored in the `settings` table wins over the environment (core/config.py), which wins
over the default. Secret values are write-only: `list_settings` says whether they are set and
where from, never what they are; only the channels read them, through `value()`. The limits
are read where they are enforced: `outbound_allowlist` (core.notifications.safe_http),
`reupload_link_lifetime` (core.notifications.reupload_tokens), `upload_limit`
(core.intake.documents.check_upload and the import checks).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import config
from core.access.actors import require_integrations_admin
from core.errors import InvalidInput, NotFound
from core.store import audit
from core.store.db import Database
from core.store.models import StoredSetting, User, utcnow


@dataclass(frozen=True)
class StoreKey:
    key: str
    env: str | None
    secret: bool
    help: str


KEYS: tuple[StoreKey, ...] = (
    StoreKey("smtp.host", "DOCKET_SMTP_HOST", False, "SMTP server host; empty: emails are skipped"),
    StoreKey("smtp.port", "DOCKET_SMTP_PORT", False, "SMTP server port"),
    StoreKey("smtp.security", "DOCKET_SMTP_SECURITY", False, "starttls, ssl or none"),
    StoreKey("smtp.user", "DOCKET_SMTP_USER", False, "SMTP user; empty: no login"),
    StoreKey("smtp.password", "DOCKET_SMTP_PASSWORD", True, "SMTP password"),
    StoreKey("smtp.sender", "DOCKET_SMTP_SENDER", False, "From address"),
    StoreKey("sms.url", "DOCKET_SMS_URL", False, "SMS gateway URL; empty: SMS are skipped"),
    StoreKey("sms.user", "DOCKET_SMS_USER", False, "SMS gateway user (basic auth)"),
    StoreKey("sms.password", "DOCKET_SMS_PASSWORD", True, "SMS gateway password or token"),
    StoreKey("crm.url", "DOCKET_CRM_URL", False, "CRM API URL; empty: CRM calls are skipped"),
    StoreKey("crm.method", "DOCKET_CRM_METHOD", False, "POST, PUT or PATCH"),
    StoreKey("crm.headers", "DOCKET_CRM_HEADERS", True, "JSON object of extra request headers"),
    StoreKey("public_url", "DOCKET_PUBLIC_URL", False, "Address of the app for applicants"),
    StoreKey("reupload.token_secret", "DOCKET_REUPLOAD_TOKEN_SECRET", True,
             "Key signing re-upload links"),
    StoreKey("outbound.allowlist", "DOCKET_OUTBOUND_ALLOWLIST", False,
             "Comma-separated CIDRs (e.g. 10.1.2.0/24) that webhook, SMS and CRM calls may reach "
             "although private or loopback; empty: public addresses only"),
    StoreKey("reupload.link_days", "DOCKET_REUPLOAD_LINK_DAYS", False,
             "Days a re-upload link stays valid (1-90)"),
    StoreKey("uploads.max_bytes", "DOCKET_MAX_UPLOAD_BYTES", False,
             "Largest document file accepted, in bytes (1024 = 1 KB to 52428800 = 50 MB)"),
    # sign-in (core/signin/): read on every check, so a change applies at once everywhere
    StoreKey("signin.idle_minutes", "DOCKET_SIGNIN_IDLE_MINUTES", False,
             "Minutes without an action after which a session ends (0.05-1440)"),
    StoreKey("signin.lifetime_hours", "DOCKET_SIGNIN_LIFETIME_HOURS", False,
             "Hours after sign-in at which a session ends, active or not (0.01-720)"),
    StoreKey("signin.mfa_required", "DOCKET_MFA_REQUIRED", False,
             "Who needs a second factor with a password: admins_and_leads, everyone or off"),
    StoreKey("sso.only", "DOCKET_SSO_ONLY", False,
             "on: password sign-in only for the break-glass admin; off: passwords and SSO"),
    StoreKey("sso.break_glass_admin", "DOCKET_SSO_BREAK_GLASS_ADMIN", False,
             "The admin who may still use a password (with a second factor) when SSO only is on"),
    StoreKey("sso.allowed_domains", "DOCKET_SSO_ALLOWED_DOMAINS", False,
             "Email domains whose new SSO users get an account (comma-separated)"),
    StoreKey("sso.default_role", "DOCKET_SSO_DEFAULT_ROLE", False,
             "Role of an account made at a first SSO sign-in"),
    StoreKey("sso.groups_claim", "DOCKET_SSO_GROUPS_CLAIM", False,
             "ID-token claim listing the user's groups; empty: roles not taken from SSO"),
    StoreKey("sso.group_roles", "DOCKET_SSO_GROUP_ROLES", False,
             "group=role pairs, comma-separated (e.g. docket-leads=lead)"),
)
ROLES = ("analyst", "reviewer", "lead", "admin")
MFA_REQUIRED_CHOICES = ("admins_and_leads", "everyone", "off")
LINK_DAYS_RANGE = (1, 90)
UPLOAD_BYTES_RANGE = (1024, 50 * 1024 * 1024)
_BY_KEY = {k.key: k for k in KEYS}
TEMPLATE_PREFIX = "template."


@dataclass(frozen=True)
class SettingInfo:
    key: str
    value: str | None      # None for a secret
    is_secret: bool
    is_set: bool
    source: str            # database | environment | default
    help: str


def _known(key: str) -> StoreKey:
    if key in _BY_KEY:
        return _BY_KEY[key]
    if key.startswith(TEMPLATE_PREFIX):
        return StoreKey(key, None, False, "message template")
    raise InvalidInput(f"unknown setting {key!r}; known: {', '.join(_BY_KEY)}")


def _env_value(spec: StoreKey) -> tuple[str, str]:
    if spec.env is None:
        return "", "default"
    import os
    if spec.env in os.environ:
        return os.environ[spec.env], "environment"
    return config.setting(spec.env), "default"


def value(session: Session, key: str) -> str:
    """The effective value (secrets included): for the channels only, never for display."""
    spec = _known(key)
    row = session.get(StoredSetting, key)
    if row is not None:
        return row.value
    return _env_value(spec)[0]


def effective_values(session: Session, keys: tuple[str, ...]) -> dict[str, str]:
    """`value` of several keys with one query (the sign-in checks read theirs on every run)."""
    specs = [_known(k) for k in keys]
    stored = {r.key: r.value for r in session.scalars(
        select(StoredSetting).where(StoredSetting.key.in_(keys)))}
    return {spec.key: stored[spec.key] if spec.key in stored else _env_value(spec)[0]
            for spec in specs}


def values(db: Database, *keys: str) -> dict[str, str]:
    with db.read() as s:
        return {k: value(s, k) for k in keys}


def list_settings(db: Database) -> list[SettingInfo]:
    """Every integration setting with where its value comes from; secrets masked."""
    with db.read() as s:
        rows = {r.key: r for r in s.scalars(select(StoredSetting))}
    out = []
    for spec in KEYS:
        row = rows.get(spec.key)
        if row is not None:
            v, source = row.value, "database"
        else:
            v, source = _env_value(spec)
        if spec.key == "public_url" and source == "default" and SEEN_URL_KEY in rows:
            v, source = rows[SEEN_URL_KEY].value, "browser"
        out.append(SettingInfo(spec.key, None if spec.secret else v, spec.secret, bool(v),
                               source, spec.help))
    return out


# --- the app's address as staff open it -----------------------------------------------------
# Applicant links need the app's public address. An admin sets `public_url` (or the
# environment DOCKET_PUBLIC_URL does); until then the address staff last opened the app at is
# used, so a server on another port or host still mints working links. It is recorded only
# for signed-in staff (an anonymous request cannot steer applicant links), as an origin.
SEEN_URL_KEY = "observed.public_url"


def app_origin(url: str | None) -> str | None:
    """scheme://host[:port] of an http(s) URL, lower-cased; None for anything else."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url or "") > 2000:
        return None
    default_port = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def note_app_url(db: Database, url: str | None) -> None:
    """Remembers where staff open the app (see above); nothing when unchanged or not http(s)."""
    origin = app_origin(url)
    if origin is None:
        return
    with db.read() as s:
        row = s.get(StoredSetting, SEEN_URL_KEY)
        if row is not None and row.value == origin:
            return
    try:
        with db.unit_of_work() as s:
            row = s.get(StoredSetting, SEEN_URL_KEY)
            if row is None:
                row = StoredSetting(key=SEEN_URL_KEY, is_secret=False)
                s.add(row)
            row.value, row.updated_at, row.updated_by = origin, utcnow(), "system"
    except IntegrityError:
        pass  # another session recorded it at the same moment


def public_url(db: Database) -> tuple[str, str]:
    """The address applicant links start with, and where it comes from: database or
    environment (set by an admin or operator), browser (where staff last opened the app),
    default."""
    with db.read() as s:
        row = s.get(StoredSetting, "public_url")
        seen = s.get(StoredSetting, SEEN_URL_KEY)
    if row is not None and row.value.strip():
        return row.value.strip().rstrip("/"), "database"
    env, source = _env_value(_BY_KEY["public_url"])
    if source == "environment" and env.strip():
        return env.strip().rstrip("/"), "environment"
    if seen is not None:
        return seen.value, "browser"
    return env.strip().rstrip("/"), "default"


def set_setting(db: Database, key: str, new_value: str, *, actor: str) -> None:
    """Store a setting (admin). A secret is write-only: it can be replaced, never read back."""
    set_settings(db, {key: new_value}, actor=actor)


def set_settings(db: Database, changes: dict[str, str], *, actor: str) -> None:
    """Store several settings at once (admin): every value is checked first; one bad value
    refuses them all (the error names each problem) and nothing is stored."""
    problems = []
    for key, new_value in changes.items():
        try:
            _known(key)
            if not isinstance(new_value, str) or len(new_value) > 100_000:
                raise InvalidInput(f"{key}: the value must be text of at most 100000 characters")
            _validate(key, new_value)
        except InvalidInput as e:
            problems.append(str(e))
    if problems:
        raise InvalidInput(problems[0] if len(problems) == 1 else
                           "these settings were refused; nothing was saved", problems
                           if len(problems) > 1 else None)
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        for key, new_value in changes.items():
            _store(s, _known(key), new_value, actor)
        if {"sso.only", "sso.break_glass_admin"} & changes.keys():
            s.flush()
            _keep_a_way_in(s)


def _keep_a_way_in(s: Session) -> None:
    """SSO only needs a break-glass admin who can still sign in with a password: without one,
    a misconfigured provider would lock everyone out (and only SQL could undo it)."""
    if value(s, "sso.only").strip() != "on":
        return
    name = value(s, "sso.break_glass_admin").strip().lower()
    user = s.get(User, name) if name else None
    if user is None or user.disabled or user.role != "admin":
        raise InvalidInput("sso.only=on needs sso.break_glass_admin to name an active admin "
                           "(who keeps a password and a second factor for when SSO fails)")


def _store(s: Session, spec: StoreKey, new_value: str, actor: str) -> None:
    key = spec.key
    row = s.get(StoredSetting, key)
    old = None if row is None or spec.secret else row.value
    if row is None:
        row = StoredSetting(key=key)
        s.add(row)
    row.value, row.is_secret = new_value, spec.secret
    row.updated_at, row.updated_by = utcnow(), actor
    shown = "(secret changed)" if spec.secret else new_value[:500]
    audit.record(s, case_id=None, actor=actor, kind="settings.changed",
                 before={"key": key, "value": old if old is None else old[:500]},
                 after={"key": key, "value": shown})


def clear_setting(db: Database, key: str, *, actor: str) -> None:
    """Remove the stored value: the environment or the default applies again."""
    _known(key)
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        row = s.get(StoredSetting, key)
        if row is None:
            raise NotFound(f"setting {key!r} is not stored in the database")
        s.delete(row)
        audit.record(s, case_id=None, actor=actor, kind="settings.cleared", after={"key": key})


def _validate(key: str, v: str) -> None:
    import json
    if key == "smtp.port" and v and not (v.isdigit() and 0 < int(v) < 65536):
        raise InvalidInput("smtp.port must be a port number (1-65535)")
    if key == "smtp.security" and v not in ("starttls", "ssl", "none"):
        raise InvalidInput("smtp.security must be starttls, ssl or none")
    if key == "crm.method" and v.upper() not in ("POST", "PUT", "PATCH"):
        raise InvalidInput("crm.method must be POST, PUT or PATCH")
    if key == "crm.headers" and v.strip():
        try:
            headers = json.loads(v)
        except json.JSONDecodeError:
            raise InvalidInput("crm.headers must be a JSON object of header names to values") from None
        if not isinstance(headers, dict) or not all(isinstance(x, str) for x in
                                                    [*headers, *headers.values()]):
            raise InvalidInput("crm.headers must be a JSON object of header names to text values")
    if key in ("sms.url", "crm.url", "public_url") and v:
        if urlsplit(v).scheme not in ("http", "https") or not urlsplit(v).hostname:
            raise InvalidInput(f"{key} must be an http:// or https:// URL")
    if key == "outbound.allowlist":
        parse_allowlist(v, key)
    if key == "reupload.link_days":
        _whole_number(key, v, *LINK_DAYS_RANGE, "days")
    if key == "uploads.max_bytes":
        _whole_number(key, v, *UPLOAD_BYTES_RANGE, "bytes (1 KB to 50 MB)")
    if key == "signin.idle_minutes":
        decimal_number(key, v, 0.05, 1440, "minutes")
    if key == "signin.lifetime_hours":
        decimal_number(key, v, 0.01, 720, "hours")
    if key == "signin.mfa_required" and v not in MFA_REQUIRED_CHOICES:
        raise InvalidInput(f"signin.mfa_required must be one of {', '.join(MFA_REQUIRED_CHOICES)}")
    if key == "sso.only" and v not in ("on", "off"):
        raise InvalidInput("sso.only must be on or off")
    if key == "sso.default_role" and v not in ROLES:
        raise InvalidInput(f"sso.default_role must be one of {', '.join(ROLES)}")
    if key == "sso.group_roles":
        parse_group_roles(v, key)
    if key == "sso.allowed_domains":
        parse_domains(v, key)


def decimal_number(key: str, v: str, low: float, high: float, unit: str) -> float:
    try:
        number = float(v.strip())
    except ValueError:
        number = float("nan")
    if not low <= number <= high:  # NaN fails too
        raise InvalidInput(f"{key} must be a number from {low:g} to {high:g} {unit}; "
                           f"got {v.strip()[:40]!r}")
    return number


def parse_group_roles(text: str, where: str = "sso.group_roles") -> dict[str, str]:
    """`group=role, group=role` as a dict; InvalidInput names the first bad pair."""
    mapping = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        group, sep, role = part.partition("=")
        if not sep or not group.strip() or role.strip() not in ROLES:
            raise InvalidInput(f"{where}: {part.strip()[:60]!r} is not group=role with a role "
                               f"among {', '.join(ROLES)}")
        mapping[group.strip()] = role.strip()
    return mapping


def parse_domains(text: str, where: str = "sso.allowed_domains") -> list[str]:
    domains = []
    for part in (text or "").split(","):
        domain = part.strip().lower().lstrip("@")
        if not domain:
            continue
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
            raise InvalidInput(f"{where}: {part.strip()[:60]!r} is not an email domain "
                               "(e.g. example.com)")
        domains.append(domain)
    return domains


def _whole_number(key: str, v: str, low: int, high: int, unit: str) -> int:
    text = v.strip().replace("_", "").replace(",", "")
    if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
        raise InvalidInput(f"{key} must be a whole number from {low:,} to {high:,} {unit}; "
                           f"got {v.strip()[:40]!r}")
    return int(text)


def parse_allowlist(text: str, where: str = "outbound.allowlist", *, allow_everything: bool = False
                    ) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of an allow-list: CIDRs separated by commas (or semicolons); a bare
    address is one host. InvalidInput names the first entry that is not a network, and (unless
    `allow_everything`, for the operator's environment) refuses a network that would open every
    address (0.0.0.0/0, ::/0)."""
    nets = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            net = ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise InvalidInput(f"{where}: {part[:60]!r} is not an IP network in CIDR form "
                               "(e.g. 10.1.2.0/24 or 127.0.0.1/32)") from None
        if net.prefixlen == 0 and not allow_everything:
            raise InvalidInput(f"{where}: {part!r} would allow every address; list only the "
                               "private networks notifications must reach")
        nets.append(net)
    return nets


# --- limits, read where they are enforced ---------------------------------------------------

def _read(source: Session | Database, key: str) -> str:
    if isinstance(source, Database):
        with source.read() as s:
            return value(s, key)
    return value(source, key)


def outbound_allowlist(source: Session | Database):
    """The networks private targets may be in (stored value, else DOCKET_OUTBOUND_ALLOWLIST)."""
    if isinstance(source, Database):
        with source.read() as s:
            return outbound_allowlist(s)
    row = source.get(StoredSetting, "outbound.allowlist")
    if row is not None:
        return parse_allowlist(row.value)
    return parse_allowlist(config.setting("DOCKET_OUTBOUND_ALLOWLIST"),
                           "DOCKET_OUTBOUND_ALLOWLIST", allow_everything=True)


def reupload_link_lifetime(source: Session | Database) -> timedelta:
    """How long a new re-upload link stays valid (stored, else DOCKET_REUPLOAD_LINK_DAYS)."""
    text = _read(source, "reupload.link_days")
    return timedelta(days=_whole_number("DOCKET_REUPLOAD_LINK_DAYS", text, *LINK_DAYS_RANGE,
                                        "days"))


def upload_limit(source: Session | Database) -> int:
    """The largest document file accepted, in bytes (stored, else DOCKET_MAX_UPLOAD_BYTES)."""
    return int(_read(source, "uploads.max_bytes").strip())


def stored_or_create_secret(db: Database, key: str, make) -> str:
    """A secret kept in the settings table, generated on first use (race-safe)."""
    with db.read() as s:
        v = value(s, key)
    if v:
        return v
    from sqlalchemy.exc import IntegrityError
    try:
        with db.unit_of_work() as s:
            if s.get(StoredSetting, key) is None:
                s.add(StoredSetting(key=key, value=make(), is_secret=True, updated_at=utcnow(),
                                    updated_by="system"))
    except IntegrityError:
        pass  # another process created it first
    with db.read() as s:
        return value(s, key)
