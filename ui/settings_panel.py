"""The settings page's widgets: one panel per channel (email, SMS gateway, CRM call, the app's
public address) with its values, write-only secrets and a "Send test" button; the limits an
admin may set (outbound allow-list, re-upload link lifetime, upload limit); then what only the
environment sets.

Values are stored through `core.settings_store` (a stored value wins over the
environment); secrets are never put back into a field: the field stays empty, a caption says
whether one is set, and typing a new one replaces it. Tests go through
`core.notifications.integration_check.send_test`.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core import config, settings_store
from core.access.auth_settings import COOKIE_EXPIRY_DAYS
from core.access.users import UserInfo
from core.errors import DocketError
from core.notifications import integration_check
from core.store.db import Database
from ui.admin import flash, show_error
from ui.limits import refuse_too_long, up_to
from ui.text import esc

GROUPS = {  # panel -> (title, setting keys, test channel, recipient label)
    "smtp": ("Email (SMTP)", ("smtp.host", "smtp.port", "smtp.security", "smtp.user",
                              "smtp.password", "smtp.sender"), "email", "Send the test to (email)"),
    "sms": ("SMS gateway", ("sms.url", "sms.user", "sms.password"), "sms",
            "Send the test to (phone)"),
    "crm": ("CRM call", ("crm.url", "crm.method", "crm.headers"), "crm", None),
    "app": ("Links for applicants", ("public_url", "reupload.token_secret"), None, None),
    "limits": ("Limits and lifetimes", ("outbound.allowlist", "reupload.link_days",
                                        "uploads.max_bytes"), None, None),
    "signin": ("Sign-in and sessions", ("signin.idle_minutes", "signin.lifetime_hours",
                                        "signin.mfa_required", "sso.only",
                                        "sso.break_glass_admin", "sso.allowed_domains",
                                        "sso.default_role", "sso.groups_claim",
                                        "sso.group_roles"), None, None),
}
LABELS = {  # a friendlier label than the key, for the limits
    "outbound.allowlist": "Private targets allowed (outbound.allowlist)",
    "reupload.link_days": "Re-upload link lifetime, days (reupload.link_days)",
    "uploads.max_bytes": "Largest document file, bytes (uploads.max_bytes)",
    "signin.idle_minutes": "Idle timeout, minutes (signin.idle_minutes)",
    "signin.lifetime_hours": "Session lifetime, hours (signin.lifetime_hours)",
    "signin.mfa_required": "Second factor required for (signin.mfa_required)",
    "sso.only": "SSO only (sso.only)",
    "sso.break_glass_admin": "Break-glass admin (sso.break_glass_admin)",
    "sso.allowed_domains": "SSO: domains that get an account (sso.allowed_domains)",
    "sso.default_role": "SSO: role of a new account (sso.default_role)",
    "sso.groups_claim": "SSO: groups claim (sso.groups_claim)",
    "sso.group_roles": "SSO: group to role (sso.group_roles)",
}
SOURCE_LABELS = {"database": "set here", "environment": "from the environment",
                 "default": "default",
                 "browser": "not set: the address staff last opened the app at"}
EMPTY_NEXT_RUN = "st_empty_next_run"  # fields to empty before they are drawn again
MAX_RECIPIENT = 254  # characters: an email address (RFC 5321), or a phone number


def _field_key(key: str) -> str:
    return "st_v_" + key.replace(".", "_")


def channel_panel(db: Database, user: UserInfo, group: str) -> None:
    title, keys, channel, recipient_label = GROUPS[group]
    infos = {i.key: i for i in settings_store.list_settings(db) if i.key in keys}
    for field in st.session_state.pop(EMPTY_NEXT_RUN, ()):
        # A widget's value can only be set before it is drawn; popping its key instead would
        # leave the typed text in the browser's field.
        st.session_state[field] = ""
    with st.container(border=True):
        st.subheader(title, anchor=False)
        entered: dict[str, str] = {}
        for key in keys:
            info = infos.get(key)
            if info is None:
                continue
            help_text = esc(info.help)
            if info.is_secret:
                entered[key] = st.text_input(
                    key, type="password", key=_field_key(key), help=help_text,
                    placeholder="set: type to replace it" if info.is_set else "not set")
                st.caption(f"Secret, never shown · {'set' if info.is_set else 'not set'} "
                           f"({SOURCE_LABELS[info.source]})")
            else:
                entered[key] = st.text_input(LABELS.get(key, key), value=info.value or "",
                                             key=_field_key(key), help=help_text)
                st.caption(SOURCE_LABELS[info.source] + _meaning(key, info.value or ""))
        if "public_url" in infos:
            _address_check(infos["public_url"])
        left, right = st.columns(2)
        if left.button("Save", type="primary", icon=":material/save:", key=f"st_save_{group}"):
            _save(db, user, infos, entered)
        stored = [k for k, i in infos.items() if i.source == "database"]
        if right.button("Use environment values", key=f"st_clear_{group}",
                        disabled=not stored, help="Forget the values stored here"):
            _clear(db, user, stored)
        if channel:
            _test(db, user, group, channel, recipient_label)


def _address_check(info: settings_store.SettingInfo) -> None:
    """Warns when applicant links would point somewhere else than this browser's address."""
    in_use = settings_store.app_origin(st.context.url)
    configured = settings_store.app_origin(info.value)
    if info.source in ("database", "environment") and in_use and configured != in_use:
        st.warning(f"Applicant links start with {esc(info.value or '')}, but you are using "
                   f"the app at {esc(in_use)}. If applicants should reach this address, save "
                   "it here.", icon=":material/link_off:")


def _meaning(key: str, value: str) -> str:
    """What a limit's stored text means, in words."""
    if key == "uploads.max_bytes" and value.strip().isdigit():
        n = int(value)
        return f" · {n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f" · {n / 1024:.0f} KB"
    if key == "outbound.allowlist" and not value.strip():
        return " · none: public addresses only"
    return ""


def _save(db: Database, user: UserInfo, infos: dict, entered: dict[str, str]) -> None:
    changes = {}
    for key, text in entered.items():
        info = infos[key]
        if info.is_secret:
            if text:
                changes[key] = text
        elif text != (info.value or ""):
            changes[key] = text.strip()
    try:  # all or nothing: one bad value refuses the panel's save
        settings_store.set_settings(db, changes, actor=user.username)
    except DocketError as e:
        show_error(e)
        return
    changed = list(changes)
    st.session_state[EMPTY_NEXT_RUN] = [  # never keep a secret in a field
        _field_key(key) for key in changed if infos[key].is_secret]
    flash(f"Saved: {', '.join(changed)}." if changed else "Nothing changed.")
    st.rerun()


def _clear(db: Database, user: UserInfo, keys: list[str]) -> None:
    try:
        for key in keys:
            settings_store.clear_setting(db, key, actor=user.username)
    except DocketError as e:
        show_error(e)
        return
    for key in keys:
        st.session_state.pop(_field_key(key), None)
    flash(f"Stored values forgotten: {', '.join(keys)}.")
    st.rerun()


def _test(db: Database, user: UserInfo, group: str, channel: str,
          recipient_label: str | None) -> None:
    recipient = ""
    if recipient_label:
        recipient = st.text_input(recipient_label, key=f"st_to_{group}",
                                  help=up_to(MAX_RECIPIENT))
    if st.button("Send test", icon=":material/send:", key=f"st_test_{group}") \
            and not refuse_too_long({recipient_label or "Recipient": (recipient, MAX_RECIPIENT)}):
        try:
            outcome = integration_check.send_test(db, channel, actor=user.username,
                                                  recipient=recipient)
        except DocketError as e:
            show_error(e)
            return
        if outcome.ok:
            st.success(esc(outcome.message), icon=":material/check_circle:")
        else:
            st.error(esc(outcome.message), icon=":material/error:")


def environment_limits() -> None:
    """Read-only: what only the environment sets (restart the app to change it)."""
    rows = [
        ("Largest import file (DOCKET_MAX_IMPORT_BYTES)", f"{config.max_import_bytes():,} bytes"),
        ("Sign-in cookie lifetime", f"{COOKIE_EXPIRY_DAYS:g} day{'' if COOKIE_EXPIRY_DAYS == 1 else 's'}"),
        ("HTTP timeouts (connect / read)",
         f"{config.setting('DOCKET_HTTP_CONNECT_TIMEOUT')} s / "
         f"{config.setting('DOCKET_HTTP_READ_TIMEOUT')} s"),
    ]
    with st.container(border=True):
        st.subheader("Set in the environment only", anchor=False)
        st.caption("docs/SETTINGS.md; restart the app to change them.")
        st.dataframe(pd.DataFrame(rows, columns=["Setting", "Value"]), hide_index=True,
                     width="stretch", key="st_limits")
