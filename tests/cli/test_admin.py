"""The admin commands of `python -m core` (core/cli/admin.py) run for real against a temporary
database: users, endpoints, deliveries and the worker, each checked by what it changed."""
from __future__ import annotations

import io
import json
import re
import sys

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from core.access.users import get_user, verify_login
from core.errors import NotAllowed
from core.store.models import Delivery, WebhookEndpoint
from tests.factories import make_case, row_counts
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver

SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    monkeypatch.setenv("DOCKET_PUBLIC_URL", "https://docket.example")


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def password_on_stdin(monkeypatch, password: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))


def add_endpoint(cli, url: str) -> tuple[int, str]:
    """`endpoints add URL`: (its id, the secret it printed)."""
    code, out, err = cli("endpoints", "add", url, "--actor", "admin")
    assert code == 0, err
    endpoint_id = int(re.match(r"endpoint (\d+) added: ", out).group(1))
    return endpoint_id, SECRET.search(out).group(0)


def endpoint_row(db, endpoint_id: int) -> tuple:
    with db.read() as s:
        e = s.get(WebhookEndpoint, endpoint_id)
        return e.enabled, e.disabled_reason, list(e.secrets)


def approve(db, cli, case_id: str) -> None:
    make_case(db, case_id, assignee="reviewer", reviewed=True)
    assert cli("act", case_id, "approve", "--as", "reviewer")[0] == 0


def webhook_deliveries(db) -> list[tuple]:
    with db.read() as s:
        return [(d.case_id, d.state, d.attempts) for d in
                s.scalars(select(Delivery).where(Delivery.channel == "webhook")
                          .order_by(Delivery.id))]


def verifies(secret: str, record: dict) -> bool:
    try:
        Webhook(secret).verify(record["body"], record["headers"])
        return True
    except Exception:  # noqa: BLE001 - any verification failure means "no"
        return False


# --- users --------------------------------------------------------------------------------

def test_users_enable_lets_a_disabled_user_sign_in_again(cli_db, cli):
    assert cli("users", "disable", "reviewer2", "--actor", "admin")[0] == 0
    assert get_user(cli_db, "reviewer2").disabled is True
    with pytest.raises(NotAllowed):
        verify_login(cli_db, "reviewer2", "demo-reviewer2-pass")
    assert cli("users", "enable", "reviewer2", "--actor", "admin") == (
        0, "enabled reviewer2\n", "")
    assert get_user(cli_db, "reviewer2").disabled is False
    assert verify_login(cli_db, "reviewer2", "demo-reviewer2-pass").username == "reviewer2"


def test_users_set_role(cli_db, cli):
    assert cli("users", "set-role", "reviewer2", "admin", "--actor", "admin") == (
        0, "reviewer2 is now admin\n", "")
    assert get_user(cli_db, "reviewer2").role == "admin"
    assert cli("users", "set-role", "reviewer2", "analyst")[0] == 0
    assert get_user(cli_db, "reviewer2").role == "analyst"


def test_users_set_role_refused_for_the_last_admin_changes_nothing(cli_db, cli):
    before = row_counts(cli_db)
    code, out, err = cli("users", "set-role", "admin", "reviewer")
    assert (code, out, err) == (1, "", "error: cannot change the role of the last admin\n")
    assert get_user(cli_db, "admin").role == "admin" and row_counts(cli_db) == before


def test_users_set_password_replaces_the_old_one(cli_db, cli, monkeypatch):
    password_on_stdin(monkeypatch, "the-first-password")
    assert cli("users", "add", "carol", "--role", "reviewer", "--password-stdin")[0] == 0
    assert verify_login(cli_db, "carol", "the-first-password").username == "carol"
    password_on_stdin(monkeypatch, "a-brand-new-password")
    assert cli("users", "set-password", "carol", "--password-stdin") == (
        0, "password set for carol\n", "")
    assert verify_login(cli_db, "carol", "a-brand-new-password").username == "carol"
    with pytest.raises(NotAllowed):
        verify_login(cli_db, "carol", "the-first-password")


def test_users_reset_mfa_sessions_and_sign_out_everywhere(cli_db, cli, monkeypatch):
    """The way back for an admin who lost the phone: the shell operator removes the second
    factor; sessions are listed and ended from the shell too."""
    import pyotp

    from core.signin import mfa, sessions
    from core.signin.password import sign_in_with_password
    monkeypatch.setenv("DOCKET_DEMO_MODE", "off")  # the demo admin then needs a second factor
    start = sign_in_with_password(cli_db, "admin", "demo-admin-pass",
                                  client=sessions.Client("198.51.100.4"), key_id="k")
    secret = mfa.begin_enrolment(cli_db, start.token).secret
    mfa.confirm_enrolment(cli_db, start.token, pyotp.TOTP(secret).now())
    code, out, err = cli("users", "sessions", "--user", "admin")
    assert code == 0 and re.match(r"^[0-9a-f]{12}  admin +password active .* 198\.51\.100\.4$",
                                  out.strip()), (out, err)
    before = row_counts(cli_db)
    assert cli("users", "reset-mfa", "reviewer")[0:2] == (1, "")  # nothing to reset: refused
    assert row_counts(cli_db) == before
    assert cli("users", "reset-mfa", "admin") == (
        0, "second factor of admin removed; their sessions ended; they set it up again at "
           "their next sign-in\n", "")
    assert not mfa.mfa_status(cli_db, "admin").enrolled
    assert sessions.check(cli_db, start.token, username="admin", key_id="k").reason == "mfa_reset"
    other = sign_in_with_password(cli_db, "reviewer", "demo-reviewer-pass",
                                  client=sessions.Client(), key_id="k")
    assert cli("users", "sign-out-everywhere", "reviewer") == (
        0, "1 session(s) of reviewer ended\n", "")
    assert not sessions.check(cli_db, other.token, username="reviewer", key_id="k").ok
    assert cli("users", "sessions")[1] == ""


# --- endpoints ----------------------------------------------------------------------------

def test_endpoints_enable_after_disable(cli_db, cli, receiver):
    endpoint_id, _ = add_endpoint(cli, receiver.url)
    assert cli("endpoints", "disable", endpoint_id, "--reason", "maintenance") == (
        0, f"endpoint {endpoint_id} disabled\n", "")
    assert endpoint_row(cli_db, endpoint_id)[:2] == (False, "maintenance")
    assert cli("endpoints", "enable", endpoint_id) == (0, f"endpoint {endpoint_id} enabled\n", "")
    assert endpoint_row(cli_db, endpoint_id)[:2] == (True, None)


def test_rotate_secret_prints_it_once_and_the_old_one_signs_until_dropped(cli_db, cli, receiver):
    endpoint_id, old = add_endpoint(cli, receiver.url)
    code, out, err = cli("endpoints", "rotate-secret", endpoint_id)
    assert code == 0, err
    new = SECRET.search(out).group(0)
    assert new != old and out.count("whsec_") == 1
    assert out == ("new signing secret (shown once; the previous one keeps signing until "
                   f"`endpoints drop-old-secrets {endpoint_id}`): {new}\n")
    assert endpoint_row(cli_db, endpoint_id)[2] == [new, old]
    listing = cli("endpoints", "list")[1]
    assert f"{endpoint_id:>4} {receiver.url}" in listing and "whsec_" not in listing

    approve(cli_db, cli, "W-1")  # delivered by the real worker to the loopback receiver
    assert cli("worker", "--once") == (0, "2 delivery attempt(s) made\n0 case(s) screened\n",
                                       "")  # webhook, email; no screening list loaded
    [first] = receiver.ok()
    assert verifies(old, first) and verifies(new, first)

    assert cli("endpoints", "drop-old-secrets", endpoint_id) == (
        0, f"endpoint {endpoint_id} now signs with its newest secret only\n", "")
    assert endpoint_row(cli_db, endpoint_id)[2] == [new]
    approve(cli_db, cli, "W-2")
    assert cli("worker", "--once")[0] == 0
    second = receiver.ok()[1]
    assert verifies(new, second) and not verifies(old, second)


def test_a_refused_endpoint_command_changes_nothing(cli_db, cli, receiver):
    endpoint_id, secret = add_endpoint(cli, receiver.url)
    before = row_counts(cli_db)
    code, out, err = cli("endpoints", "rotate-secret", endpoint_id, "--actor", "reviewer")
    assert code == 1 and out == "" and err.startswith("error: ") and err.count("\n") == 1
    assert endpoint_row(cli_db, endpoint_id) == (True, None, [secret])
    assert row_counts(cli_db) == before


# --- deliveries ---------------------------------------------------------------------------

def test_deliveries_replay_failed_queues_them_again(cli_db, cli, receiver):
    endpoint_id, _ = add_endpoint(cli, receiver.url)
    approve(cli_db, cli, "D-1")
    assert webhook_deliveries(cli_db) == [("D-1", "pending", 0)]
    assert cli("endpoints", "disable", endpoint_id)[0] == 0  # fails what was pending for it
    assert webhook_deliveries(cli_db) == [("D-1", "failed", 0)]
    # while its endpoint is disabled a failed delivery stays failed
    assert cli("deliveries", "--replay-failed") == (0, "0 failed deliveries queued again\n", "")
    assert webhook_deliveries(cli_db) == [("D-1", "failed", 0)]
    assert cli("endpoints", "enable", endpoint_id)[0] == 0
    assert cli("deliveries", "--replay-failed") == (0, "1 failed deliveries queued again\n", "")
    assert webhook_deliveries(cli_db) == [("D-1", "pending", 0)]
    assert cli("deliveries", "--replay-failed") == (0, "0 failed deliveries queued again\n", "")
    assert cli("worker", "--once")[0] == 0
    assert webhook_deliveries(cli_db) == [("D-1", "delivered", 1)]
    assert len(receiver.ok()) == 1


DELIVERY_FIELDS = {"id", "message_id", "case_id", "channel", "event_type", "target",
                   "endpoint_id", "endpoint_url", "state", "attempts", "next_attempt_at",
                   "last_status_code", "last_error", "created_at", "finished_at"}


def test_deliveries_json(cli_db, cli, receiver):
    endpoint_id, secret = add_endpoint(cli, receiver.url)
    approve(cli_db, cli, "J-1")
    assert cli("worker", "--once")[0] == 0
    code, out, err = cli("deliveries", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert all(set(r) == DELIVERY_FIELDS for r in rows)
    by_channel = {r["channel"]: r for r in rows}
    assert set(by_channel) == {"webhook", "email"}
    hook = by_channel["webhook"]
    assert (hook["case_id"], hook["event_type"], hook["target"], hook["endpoint_id"],
            hook["endpoint_url"], hook["state"], hook["attempts"], hook["last_status_code"]) == (
        "J-1", "case.approved", f"endpoint:{endpoint_id}", endpoint_id, receiver.url,
        "delivered", 1, 200)
    assert hook["message_id"] == receiver.ok()[0]["id"]
    assert by_channel["email"]["state"] == "skipped"  # no SMTP host configured
    assert secret not in out
    code, out, _ = cli("deliveries", "--json", "--status", "delivered")
    assert [r["id"] for r in json.loads(out)] == [hook["id"]]


def test_keys_add_list_revoke(cli_db, cli):
    from core.access import api_keys
    code, out, err = cli("keys", "add", "crm-sync", "--scopes", "read,act", "--as-user", "reviewer")
    assert code == 0, err
    secret = out.splitlines()[1].split(": ", 1)[1]
    assert api_keys.authenticate(cli_db, secret).username == "reviewer"
    code, out, _ = cli("keys", "list")
    assert "crm-sync" in out and "scopes=act,read" in out and secret not in out
    assert cli("keys", "revoke", "crm-sync")[0] == 0
    assert "REVOKED" in cli("keys", "list")[1]
    code, _, err = cli("keys", "add", "bad", "--scopes", "launch", "--as-user", "reviewer")
    assert code == 1 and "scopes must be" in err


def test_hooks_add_list_rotate_disable(cli_db, cli, tmp_path):
    from core.errors import Unauthenticated
    from core.intake import hooks
    from tests.intake.hook_payloads import SUMSUB_MAPPING, body_of, signed
    mapping = tmp_path / "sumsub.json"
    mapping.write_text(json.dumps(SUMSUB_MAPPING))
    code, out, err = cli("hooks", "add", "sumsub", "--as-user", "admin", "--mapping", mapping)
    assert code == 0, err
    [secret] = SECRET.findall(out)
    body = body_of({"type": "applicantCreated"})
    assert hooks.receive(cli_db, "sumsub", signed(secret, body), body).outcome == "ignored"
    code, out, _ = cli("hooks", "list")
    assert "sumsub" in out and "as=admin" in out and "ignored 1" in out and secret not in out
    code, out, _ = cli("hooks", "rotate-secret", "sumsub")
    [new] = SECRET.findall(out)
    assert code == 0 and new != secret and "secrets=2" in cli("hooks", "list")[1]
    assert cli("hooks", "drop-old-secrets", "sumsub")[0] == 0
    with pytest.raises(Unauthenticated):
        hooks.receive(cli_db, "sumsub", signed(secret, body), body)
    assert cli("hooks", "disable", "sumsub")[0] == 0
    assert "DISABLED" in cli("hooks", "list")[1]
    with pytest.raises(Unauthenticated):
        hooks.receive(cli_db, "sumsub", signed(new, body), body)
    assert cli("hooks", "enable", "sumsub")[0] == 0
    assert hooks.receive(cli_db, "sumsub", signed(new, body), body).outcome == "ignored"


def test_hooks_set_mapping_reads_yaml(cli_db, cli, tmp_path):
    from core.intake import hooks
    from tests.intake.hook_payloads import SUMSUB_MAPPING
    as_json = tmp_path / "m.json"
    as_json.write_text(json.dumps(SUMSUB_MAPPING))
    assert cli("hooks", "add", "registry", "--as-user", "admin", "--mapping", as_json)[0] == 0
    as_yaml = tmp_path / "m.yaml"
    as_yaml.write_text("case_id: data.case\nrules:\n  - when: {type: company.found}\n"
                       "    event: process_completed\n    params: {name: {const: registry}}\n")
    code, _, err = cli("hooks", "set-mapping", "registry", "--mapping", as_yaml)
    assert code == 0, err
    assert hooks.list_sources(cli_db)[0].mapping["rules"][0]["event"] == "process_completed"


@pytest.mark.parametrize("argv, message", [
    (("hooks", "add", "vendor", "--as-user", "reviewer", "--mapping", "{good}"),
     "must be allowed to import cases"),
    (("hooks", "add", "vendor", "--as-user", "admin", "--mapping", "{bad}"),
     "rules[0].event: 'kyc_complete' is not an event"),
    (("hooks", "add", "vendor", "--as-user", "admin", "--mapping", "{good}", "--actor",
      "reviewer"), "may not manage integrations"),
    (("hooks", "add", "vendor", "--as-user", "admin", "--mapping", "nowhere.json"),
     "no file at"),
    (("hooks", "rotate-secret", "nobody"), "no hook source named 'nobody'"),
])
def test_hooks_refusals_say_why_and_change_nothing(cli_db, cli, tmp_path, argv, message):
    from tests.intake.hook_payloads import SUMSUB_MAPPING
    (tmp_path / "good.json").write_text(json.dumps(SUMSUB_MAPPING))
    (tmp_path / "bad.json").write_text(json.dumps(
        {"case_id": "x", "rules": [{"when": {}, "event": "kyc_complete"}]}))
    argv = [str(a).replace("{good}", str(tmp_path / "good.json"))
            .replace("{bad}", str(tmp_path / "bad.json")) for a in argv]
    before = row_counts(cli_db)
    code, out, err = cli(*argv)
    assert code == 1 and message in err and "whsec_" not in out
    assert row_counts(cli_db) == before
