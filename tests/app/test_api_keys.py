"""The API keys tab of the Users page through AppTest: an admin adds a key (shown once, in
that run only; stored as its hash; it authenticates as its user with its scopes), a bad key
is refused with a clear error and nothing written, a key is revoked after a confirmation (and
no longer authenticates). Reviewers and analysts never reach the page."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from core.access import api_keys
from core.errors import Unauthenticated
from core.store.models import ApiKey, AuditEvent
from tests.app.harness import errors, new_app, sign_in, texts
from ui.text import esc

PAGE = "pages/admin_users.py"
ADD = "FormSubmitter:ak_add-Add key"


def _keys_tab(monkeypatch, database_url, role="admin"):
    at = sign_in(new_app(monkeypatch, database_url), role)
    at.switch_page(PAGE).run()
    at.session_state["ua_tab"] = "API keys"
    at.run()
    assert not at.exception, at.exception
    return at


def _keys_frame(at):
    return next((d.value for d in at.dataframe
                 if d.value is not None and "Prefix" in d.value.columns), None)


def _everything_shown(at) -> str:
    """Every text, code block, field value and table cell of the last run."""
    parts = texts(at) + [c.value for c in at.code] + [str(d.value) for d in at.dataframe]
    parts += [str(w.value) for w in (*at.text_input, *at.multiselect, *at.selectbox)]
    return "\n".join(parts)


def _rows(db, model) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def _picker(at):
    """The "Revoke a key" picker (its widget key changes with the set of keys)."""
    return next(s for s in at.selectbox if (s.key or "").startswith("ak_revoke_"))


def _fill(at, name, scopes, user):
    at.text_input(key="ak_new_name").input(name)
    at.multiselect(key="ak_new_scopes").set_value(scopes)
    if user is not None:
        at.selectbox(key="ak_new_user").set_value(user)
    at.button(key=ADD).click().run()


def test_admin_adds_a_key_shown_once_stored_as_its_hash_and_it_authenticates(
        db, database_url, monkeypatch):
    at = _keys_tab(monkeypatch, database_url)
    assert _keys_frame(at) is None
    assert any("No API key yet" in t for t in texts(at))
    assert at.multiselect(key="ak_new_scopes").options == list(api_keys.SCOPES)
    for scope, what in api_keys.SCOPES.items():  # each scope with what it allows, in view
        assert any(f"**{scope}**: {esc(what)}" in t for t in texts(at)), scope
    assert at.selectbox(key="ak_new_user").value is None  # no acting user chosen for you

    _fill(at, "Onboarding-Prod", ["read", "intake"], "reviewer")
    assert not errors(at), errors(at)
    [code] = at.code
    secret = code.value
    assert api_keys.KEY_PATTERN.match(secret), secret
    assert any("Copy it now: it will not be shown again" in w.value for w in at.warning)
    assert secret not in repr(at.session_state.to_dict())  # shown, and gone from the session
    with db.read() as s:
        row = s.scalars(select(ApiKey)).one()
    assert (row.name, row.acting_user, row.created_by, sorted(row.scopes)) == (
        "onboarding-prod", "reviewer", "admin", ["intake", "read"])
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(row.prefix + "_")
    table = _keys_frame(at)
    assert table.to_dict("records") == [{
        "Name": "onboarding-prod", "Prefix": row.prefix, "Scopes": "intake, read",
        "Acts as": "reviewer", "Created (UTC)": row.created_at.strftime("%Y-%m-%d %H:%M"),
        "Created by": "admin", "Last used (UTC)": "never", "Status": "active"}]
    assert at.text_input(key="ak_new_name").value == ""  # the form is empty again
    assert at.multiselect(key="ak_new_scopes").value == []

    principal = api_keys.authenticate(db, secret)
    assert (principal.username, principal.role, principal.scopes, principal.via) == (
        "reviewer", "reviewer", frozenset({"intake", "read"}), "api key onboarding-prod")

    at.run()  # the next run: the key is never shown again
    assert not at.code and not any("Copy it now" in w.value for w in at.warning)
    assert secret not in _everything_shown(at)
    assert secret not in repr(at.session_state.to_dict())
    with db.read() as s:
        used = s.scalars(select(ApiKey)).one().last_used_at
    assert used is not None and _keys_frame(at)["Last used (UTC)"][0] == \
        used.strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("name, scopes, user, message", [
    ("x", ["read"], "admin", "a key name is 2 to 64 characters"),
    ("crm sync", ["read"], "admin", "a key name is 2 to 64 characters"),
    ("crm-sync", [], "admin", "scopes must be one or more of intake, events, read, act"),
    ("crm-sync", ["read"], None, "Choose the user the key acts for"),
])
def test_a_bad_key_is_refused_with_a_clear_error_and_nothing_is_written(
        db, database_url, monkeypatch, name, scopes, user, message):
    at = _keys_tab(monkeypatch, database_url)  # (signing in is audited)
    audit_before = _rows(db, AuditEvent)
    _fill(at, name, scopes, user)
    assert any(message in e for e in errors(at)), errors(at)
    assert not at.code
    assert _rows(db, ApiKey) == 0 and _rows(db, AuditEvent) == audit_before
    assert at.text_input(key="ak_new_name").value == name  # kept, to correct it


def test_a_taken_name_is_refused(db, database_url, monkeypatch):
    api_keys.create_key(db, "crm-sync", scopes="read", acting_user="analyst")
    at = _keys_tab(monkeypatch, database_url)
    _fill(at, "crm-sync", ["read", "act"], "admin")
    assert any("an API key named 'crm\\-sync' already exists" in e for e in errors(at))
    assert not at.code
    assert [k.scopes for k in api_keys.list_keys(db)] == [("read",)]


def test_revoking_asks_first_then_the_key_no_longer_authenticates(db, database_url,
                                                                  monkeypatch):
    kept = api_keys.create_key(db, "kyc-vendor", scopes="events", acting_user="admin").secret
    gone = api_keys.create_key(db, "crm-sync", scopes="read", acting_user="analyst").secret
    at = _keys_tab(monkeypatch, database_url)
    assert list(_keys_frame(at)["Status"]) == ["active", "active"]

    _picker(at).set_value("crm-sync").run()
    at.button(key="ak_revoke_ask").click().run()
    assert any("Revoke **crm\\-sync**? Every request with it is refused" in w.value
               for w in at.warning)
    at.button(key="ak_revoke_cancel").click().run()        # cancel: nothing happens
    assert not [b for b in at.button if b.key == "ak_revoke_confirm"]
    assert all(k.active for k in api_keys.list_keys(db))

    at.button(key="ak_revoke_ask").click().run()
    at.button(key="ak_revoke_confirm").click().run()
    assert not errors(at), errors(at)
    assert any("API key 'crm\\-sync' revoked" in s.value for s in at.success)
    assert [(k.name, k.active) for k in api_keys.list_keys(db)] == [
        ("kyc-vendor", True), ("crm-sync", False)]
    statuses = list(_keys_frame(at)["Status"])
    assert statuses[0] == "active" and statuses[1].startswith("revoked 20")
    picker = _picker(at)  # only the active key is left to pick, and it is picked
    assert (picker.options, picker.value) == ([f"kyc-vendor ({kept[:11]}, acts as admin)"],
                                              "kyc-vendor")
    with pytest.raises(Unauthenticated, match="revoked"):
        api_keys.authenticate(db, gone)
    assert api_keys.authenticate(db, kept).key_name == "kyc-vendor"
    with db.read() as s:
        revoked = s.scalars(select(AuditEvent).where(AuditEvent.kind == "api_key.revoked")).one()
    assert (revoked.actor, revoked.after["key"]) == ("admin", "crm-sync")


@pytest.mark.parametrize("role", ["reviewer", "analyst"])
def test_reviewers_and_analysts_never_reach_the_keys(db, database_url, monkeypatch, role):
    api_keys.create_key(db, "crm-sync", scopes="read", acting_user="admin")
    at = sign_in(new_app(monkeypatch, database_url), role)
    with pytest.raises(ValueError, match="Known pages"):
        at.switch_page(PAGE)  # not registered with st.navigation: no URL reaches it
    for page in ("pages/cases.py", "pages/overview.py"):
        at.switch_page(page).run()
        assert not at.exception
        shown = _everything_shown(at)
        assert "API key" not in shown and "crm-sync" not in shown
