"""Who may call what, for EVERY operation of the live OpenAPI document × every kind of
credential, against the real server.

The expectations come from the table below (RULES: operation → the key scope it needs and the
roles whose users may do it), written from docs/API.md ("Keys") and the roles of
docs/ARCHITECTURE.md, not from the app's code. An operation in the live document without a
row fails `test_every_operation_of_the_live_document_has_a_rule`; each case action is an
operation of its own (the `action` path parameter's values are expanded).

Every call is made so that only the credential can stop it: a valid body, a case in the state
the action needs, assigned to the key's user when it is a reviewer or an admin. So an allowed
call answers its success status, and a refused one 401 (no valid key) or 403 (scope, then
role), writing nothing."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Callable

import httpx
import pytest
from sqlalchemy import select, update

from core.access import api_keys, users
from core.cases import actions as ca
from core.intake import hooks
from core.intake.events import report_event
from core.intake.importer import push_cases
from core.screening.dispositions import disposition_hit
from core.screening.hits import record_screening
from core.store.models import Case, Delivery, Document, utcnow
from tests.api.conftest import Api, a_case, new_id
from tests.factories import row_counts
from tests.intake.hook_payloads import SUMSUB_MAPPING, body_of, signed

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEUlEQVR42mM4cecDHDEQxwEA"
                       "LnApQXFCNDEAAAAASUVORK5CYII=")
EVERYONE = frozenset({"analyst", "reviewer", "lead", "admin"})
DECIDERS = frozenset({"reviewer", "lead", "admin"})
ASSIGNERS = frozenset({"lead", "admin"})  # a team lead reassigns like an admin
ADMIN = frozenset({"admin"})
SIGNATURE = "signature"  # no API key: the vendor's Standard Webhooks signature authenticates


@dataclass(frozen=True)
class Rule:
    scope: str               # the key scope it needs (or SIGNATURE)
    roles: frozenset[str]    # roles whose users may do it (on their own case, for an action)
    success: int             # its status when allowed


RULES: dict[str, Rule] = {
    "GET /cases": Rule("read", EVERYONE, 200),
    "GET /cases/{case_id}": Rule("read", EVERYONE, 200),
    "GET /views": Rule("read", EVERYONE, 200),
    "GET /deliveries": Rule("read", ADMIN, 200),               # targets and errors
    "POST /cases": Rule("intake", ADMIN, 200),                  # importing cases
    "POST /cases/{case_id}/documents": Rule("intake", ADMIN, 201),
    "POST /cases/{case_id}/events": Rule("events", ADMIN, 200),
    "POST /cases/{case_id}/screening": Rule("events", ADMIN, 200),  # like outside events
    "POST /deliveries/{delivery_id}/replay": Rule("act", ADMIN, 202),  # integrations
    "POST /hooks/{source}": Rule(SIGNATURE, frozenset(), 200),
    "POST /cases/{case_id}/actions/approve": Rule("act", DECIDERS, 200),
    "POST /cases/{case_id}/actions/reject": Rule("act", DECIDERS, 200),
    "POST /cases/{case_id}/actions/ask-for-reuploads": Rule("act", DECIDERS, 200),
    "POST /cases/{case_id}/actions/approve-block": Rule("act", DECIDERS, 200),
    "POST /cases/{case_id}/actions/ask-to-reupload": Rule("act", DECIDERS, 200),
    "POST /cases/{case_id}/actions/undo-reupload": Rule("act", DECIDERS, 200),
    "POST /cases/{case_id}/actions/assign": Rule("act", DECIDERS, 200),  # a reviewer: to self
    "POST /cases/{case_id}/actions/unassign": Rule("act", ASSIGNERS, 200),
    "POST /cases/{case_id}/actions/note": Rule("act", DECIDERS, 200),
    "POST /cases/{case_id}/actions/edit": Rule("act", DECIDERS, 200),
    "POST /cases/{case_id}/actions/edit-subject": Rule("act", DECIDERS, 200),
    "POST /cases/{case_id}/actions/tag": Rule("act", DECIDERS, 200),  # a reviewer: own cases
    "POST /cases/{case_id}/actions/untag": Rule("act", DECIDERS, 200),
    # screening hits: the assignee (or a lead or admin) decides; a lead or admin signs off
    "POST /cases/{case_id}/actions/disposition-hit": Rule("act", DECIDERS, 200),
    "POST /cases/{case_id}/actions/sign-off-hit": Rule("act", ASSIGNERS, 200),
}
ACTION = "POST /cases/{case_id}/actions/"


@dataclass(frozen=True)
class Credential:
    key: str | None          # a key of tests/api/conftest.py, or one made by `keys` below
    user: str | None         # the key's acting user
    role: str | None
    scopes: frozenset[str]
    valid: bool = True       # False: revoked, or its user disabled

    @property
    def assignee(self) -> str | None:
        """Who the case of an action is assigned to: the key's user when they may hold one."""
        return self.user if self.valid and self.role in DECIDERS else None


ALL_SCOPES = frozenset({"intake", "events", "read", "act"})
LEAD = "authz-lead"  # a team lead, added by `keys` (the conftest has no lead)
CREDENTIALS: dict[str, Credential] = {
    "no key": Credential(None, None, None, frozenset(), valid=False),
    "revoked key": Credential("revoked", "svc", "admin", ALL_SCOPES, valid=False),
    "disabled user": Credential("disabled-user", "gone", "reviewer", ALL_SCOPES, valid=False),
    # one scope alone, on an admin's key: only the scope can refuse
    "intake alone": Credential("intake-admin", "svc", "admin", frozenset({"intake"})),
    "events alone": Credential("events-admin", "svc", "admin", frozenset({"events"})),
    "read alone": Credential("read-admin", "svc", "admin", frozenset({"read"})),
    "act alone": Credential("authz-act-admin", "svc", "admin", frozenset({"act"})),
    # every scope: only the role can refuse
    "analyst": Credential("authz-all-analyst", "ana", "analyst", ALL_SCOPES),
    "reviewer": Credential("authz-all-reviewer", "rev", "reviewer", ALL_SCOPES),
    "lead": Credential("authz-all-lead", LEAD, "lead", ALL_SCOPES),
    "admin": Credential("all-admin", "svc", "admin", ALL_SCOPES),
}
MADE_HERE = {"authz-act-admin": ("act", "svc"),  # name -> (scopes, acting user)
             "authz-all-analyst": (",".join(ALL_SCOPES), "ana"),
             "authz-all-reviewer": (",".join(ALL_SCOPES), "rev"),
             "authz-all-lead": (",".join(ALL_SCOPES), LEAD)}


def expected_status(rule: Rule, cred: Credential) -> int:
    if not cred.valid:
        return 401
    if rule.scope not in cred.scopes or cred.role not in rule.roles:
        return 403
    return rule.success


@pytest.fixture(scope="module")
def keys(api: Api) -> dict[str, str]:
    """The conftest's keys and the ones this matrix adds (names unique to this session)."""
    if users.get_user(api.db, LEAD) is None:
        users.add_user(api.db, LEAD, "Lee Lead", "lead", "a-long-password")
    made = {}
    for name, (scopes, user) in MADE_HERE.items():
        unique = f"{name}-{new_id().lower()}"
        made[name] = api_keys.create_key(api.db, unique, scopes=scopes, acting_user=user).secret
    return {**api.keys, **made}


@pytest.fixture(scope="module")
def hook_secret(api: Api) -> tuple[str, str]:
    name = f"authz-{new_id().lower()}"
    return name, hooks.create_source(api.db, name, mapping=SUMSUB_MAPPING, acting_user="svc",
                                     actor="boss").secret


# --- the state each call needs, written directly through core ------------------------------

def _version(api: Api, case_id: str) -> int:
    with api.db.read() as s:
        return s.scalar(select(Case.version).where(Case.id == case_id))


def _case(api: Api, *, document: bool = False, marked: bool = False,
          assignee: str | None = None) -> tuple[str, int, str | None]:
    """A case in manual review: (its id, its version, its document block's ref). `document`:
    with a passport uploaded; `marked`: that passport marked 'Re-upload needed'."""
    case = a_case(new_id("AUTHZ"), **({"documents": [{"type": "passport"}]} if document else {}))
    case_id = case["id"]
    assert push_cases(api.db, case, actor="svc").created == [case_id]
    block = None
    if document:
        with api.db.read() as s:
            doc = s.scalar(select(Document.id).where(Document.case_id == case_id))
        block = f"document:{doc}"
        report_event(api.db, case_id, "document_uploaded", reporter="svc", document_id=doc,
                     filename="passport.png", content=PNG)
    if marked:
        ca.assign_case(api.db, case_id, "boss", actor="boss",
                       expected_version=_version(api, case_id))
        ca.ask_to_reupload_block(api.db, case_id, block, reason="the photo is blurred",
                                 actor="boss", expected_version=_version(api, case_id))
    if assignee is not None:
        ca.assign_case(api.db, case_id, assignee, actor="boss",
                       expected_version=_version(api, case_id))
    return case_id, _version(api, case_id), block


def _failed_delivery(api: Api) -> int:
    """An email delivery of an approved case, failed: a replay may send it again."""
    case_id, version, _ = _case(api, assignee="svc")
    ca.approve_case(api.db, case_id, actor="svc", expected_version=version)
    with api.db.unit_of_work() as s:
        delivery = s.scalars(select(Delivery).where(Delivery.case_id == case_id,
                                                    Delivery.channel == "email")).one()
        s.execute(update(Delivery).where(Delivery.id == delivery.id)
                  .values(state="failed", finished_at=utcnow()))
        return delivery.id


Call = tuple[str, str, dict[str, Any]]  # method, path under /api/v1, httpx keywords
ACTION_CASES: dict[str, Callable[[Api, Credential], tuple[str, dict]]] = {}


def _action(name: str, body: Callable[[int, str | None], dict], *, document: bool = False,
            marked: bool = False, assigned: bool = True) -> None:
    def make(api: Api, cred: Credential) -> tuple[str, dict]:
        case_id, version, block = _case(api, document=document, marked=marked,
                                        assignee=cred.assignee if assigned else None)
        return case_id, {"expected_version": version, **body(version, block)}
    ACTION_CASES[name] = make


_action("approve", lambda v, b: {"reason": "registry and documents verified"})
_action("reject", lambda v, b: {"reason": "the documents are forged"})
_action("ask-for-reuploads", lambda v, b: {}, document=True, marked=True)
_action("approve-block", lambda v, b: {"block": b}, document=True)
_action("ask-to-reupload", lambda v, b: {"block": b, "reason": "the photo is blurred"},
        document=True)
_action("undo-reupload", lambda v, b: {"block": b}, document=True, marked=True)
_action("assign", lambda v, b: {}, assigned=False)
_action("unassign", lambda v, b: {})
_action("note", lambda v, b: {"text": "called the director"})
_action("edit", lambda v, b: {"changes": {"industry": "shipping"}})
_action("edit-subject", lambda v, b: {"subject": "entity",
                                      "changes": {"name": "Acme Trading Limited"}})
_action("tag", lambda v, b: {"tag": "vip"})
_action("untag", lambda v, b: {"tag": "vip"})


def _screened(api: Api, assignee: str | None) -> tuple[str, int]:
    """A case of `assignee` with one open screening hit of its entity: (case id, hit id)."""
    case_id, _, _ = _case(api, assignee=assignee)
    summary = record_screening(api.db, case_id, "entity", "authz", [
        {"entry_id": new_id("E"), "dataset": "UN SC", "name": "Acme Trading Ltd"}],
        actor="svc")
    return case_id, summary.new[0]


def _disposition_hit(api: Api, cred: Credential) -> tuple[str, dict]:
    case_id, hit = _screened(api, cred.assignee)
    return case_id, {"expected_version": _version(api, case_id), "hit": hit,
                     "disposition": "false_positive", "reason": "a different company"}


def _sign_off_hit(api: Api, cred: Credential) -> tuple[str, dict]:
    case_id, hit = _screened(api, cred.assignee)
    disposition_hit(api.db, hit, "true_match", "the same registration number", actor="boss",
                    expected_version=_version(api, case_id))
    return case_id, {"expected_version": _version(api, case_id), "hit": hit}


ACTION_CASES["disposition-hit"] = _disposition_hit
ACTION_CASES["sign-off-hit"] = _sign_off_hit


def _upload(api: Api) -> Call:
    """A passport block not uploaded yet, and its file."""
    case = a_case(new_id("AUTHZ"), documents=[{"type": "passport"}])
    assert push_cases(api.db, case, actor="svc").created == [case["id"]]
    with api.db.read() as s:
        doc = s.scalar(select(Document.id).where(Document.case_id == case["id"]))
    return ("POST", f"/cases/{case['id']}/documents",
            {"data": {"document_id": str(doc)}, "files": {"file": ("p.png", PNG, "image/png")}})


CALLS: dict[str, Callable[[Api, Credential], Call]] = {
    "GET /cases": lambda api, cred: ("GET", "/cases", {}),
    "GET /cases/{case_id}": lambda api, cred: ("GET", f"/cases/{_case(api)[0]}", {}),
    "GET /views": lambda api, cred: ("GET", "/views", {}),
    "GET /deliveries": lambda api, cred: ("GET", "/deliveries", {}),
    "POST /cases": lambda api, cred: ("POST", "/cases", {"json": a_case(new_id("AUTHZ"))}),
    "POST /cases/{case_id}/documents": lambda api, cred: _upload(api),
    "POST /cases/{case_id}/events": lambda api, cred: (
        "POST", f"/cases/{_case(api)[0]}/events",
        {"json": {"event": "process_started", "name": "screening"}}),
    "POST /deliveries/{delivery_id}/replay": lambda api, cred: (
        "POST", f"/deliveries/{_failed_delivery(api)}/replay", {}),
    "POST /cases/{case_id}/screening": lambda api, cred: (
        "POST", f"/cases/{_case(api)[0]}/screening",
        {"json": {"subject": "entity", "source": "authz", "hits": [
            {"entry_id": new_id("E"), "dataset": "UN SC", "name": "Acme Trading Ltd"}]}}),
}


def _call(api: Api, cred: Credential, op: str) -> Call:
    """The request for `op`, its state prepared for `cred`'s user."""
    if op.startswith(ACTION):
        case_id, body = ACTION_CASES[op.removeprefix(ACTION)](api, cred)
        return "POST", f"/cases/{case_id}/actions/{op.removeprefix(ACTION)}", {"json": body}
    return CALLS[op](api, cred)


def _client(api: Api, keys: dict[str, str], cred: Credential) -> httpx.Client:
    auth = {"Authorization": f"Bearer {keys[cred.key]}"} if cred.key else {}
    return httpx.Client(base_url=f"{api.url}/api/v1", headers=auth, timeout=120)


def _assert_refused(r: httpx.Response, status: int, rule: Rule, cred: Credential) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.text
    detail = r.json()["detail"]
    if status == 401:
        if rule.scope != SIGNATURE:  # a callback is not refused for want of a Bearer key
            assert r.headers["www-authenticate"] == "Bearer"
    elif rule.scope not in cred.scopes:
        assert f"lacks the '{rule.scope}' scope" in detail, detail
    else:  # the role (or the case's assignee) refused it
        assert "scope" not in detail, detail


# --- the tests -----------------------------------------------------------------------------

def test_every_operation_of_the_live_document_has_a_rule(api):
    """Paths × methods of GET /api/v1/openapi.json, a path parameter with fixed values (the
    case action) expanded: exactly the operations of RULES, so a new endpoint or action
    without a row fails here."""
    doc = httpx.get(f"{api.url}/api/v1/openapi.json", timeout=120).json()
    live = set()
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            if method not in {"get", "put", "post", "patch", "delete", "head", "options"}:
                continue
            paths = [path]
            for param in op.get("parameters", []):
                values = param.get("schema", {}).get("enum")
                if param["in"] == "path" and values:
                    paths = [p.replace(f"{{{param['name']}}}", v) for p in paths for v in values]
            live |= {f"{method.upper()} {p}" for p in paths}
    assert live == set(RULES), {"without a rule": sorted(live - set(RULES)),
                                "rule for no operation": sorted(set(RULES) - live)}
    assert {op for op in RULES if op.startswith(ACTION)} == {
        ACTION + name for name in ACTION_CASES}
    assert set(RULES) - {op for op in RULES if op.startswith(ACTION)} == {
        *CALLS, "POST /hooks/{source}"}


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("op", [op for op in RULES if RULES[op].scope != SIGNATURE])
def test_each_operation_answers_each_credential_as_the_table_says(api, keys, op, credential):
    rule, cred = RULES[op], CREDENTIALS[credential]
    method, path, request = _call(api, cred, op)
    status = expected_status(rule, cred)
    before = row_counts(api.db)
    with _client(api, keys, cred) as c:
        r = c.request(method, path, **request)
    assert r.status_code < 500, r.text
    if status in (401, 403):
        _assert_refused(r, status, rule, cred)
        assert row_counts(api.db) == before  # a refusal writes nothing
    else:
        assert r.status_code == status, r.text  # allowed: it did what it was asked
        assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_a_vendor_callback_ignores_api_keys_and_needs_its_signature(api, keys, hook_secret,
                                                                   credential):
    """`POST /hooks/{source}` takes no API key: whatever key is sent, no signature is 401 and
    a valid one is accepted."""
    source, secret = hook_secret
    cred = CREDENTIALS[credential]
    body = body_of({"type": "applicantPending", "externalUserId": f"{new_id('HOOK')}:1"})
    json = {"Content-Type": "application/json"}
    before = row_counts(api.db)
    with _client(api, keys, cred) as c:
        unsigned = c.post(f"/hooks/{source}", content=body, headers=json)
        _assert_refused(unsigned, 401, RULES["POST /hooks/{source}"], cred)
        assert row_counts(api.db) == before
        r = c.post(f"/hooks/{source}", content=body, headers={**json, **signed(secret, body)})
    assert r.status_code == RULES["POST /hooks/{source}"].success, r.text
    assert r.json()["outcome"] == "ignored"  # signed, and no rule of the mapping matched


# A reviewer acts on their own cases; on a colleague's case only a note is theirs to add.
# (An admin reassigns and notes on any case; whether an admin decides on a case assigned to
# someone else is not settled by the docs, so it is not asserted here.)
ON_A_COLLEAGUES_CASE = {("reviewer", name): (200 if name == "note" else 403)
                        for name in ACTION_CASES if name != "sign-off-hit"}  # (a role's)
ON_A_COLLEAGUES_CASE |= {("admin", "assign"): 200, ("admin", "unassign"): 200,
                         ("admin", "note"): 200, ("admin", "tag"): 200, ("admin", "untag"): 200,
                         ("admin", "disposition-hit"): 200, ("admin", "sign-off-hit"): 200}
# A team lead reassigns (takes or unassigns) a colleague's case and notes on it; deciding
# on it stays the assignee's (a lead may be the second approver: tests/api/test_actions.py).
# A lead also decides on screening hits and signs off true matches on any case.
ON_A_COLLEAGUES_CASE |= {("lead", name): (200 if name in ("note", "assign", "unassign", "tag",
                                                            "untag", "disposition-hit",
                                                            "sign-off-hit") else 403)
                         for name in ACTION_CASES}


@pytest.mark.parametrize("role, action", ON_A_COLLEAGUES_CASE)
def test_on_a_case_assigned_to_a_colleague(api, keys, role, action):
    cred = CREDENTIALS[role]
    colleague = Credential(None, "rev2", "reviewer", ALL_SCOPES)
    case_id, body = ACTION_CASES[action](api, colleague)
    if action == "assign":  # the assign case is made unassigned: give it to the colleague
        ca.assign_case(api.db, case_id, "rev2", actor="boss", expected_version=body[
            "expected_version"])
        body["expected_version"] = _version(api, case_id)
    before = row_counts(api.db)
    with _client(api, keys, cred) as c:
        r = c.post(f"/cases/{case_id}/actions/{action}", json=body)
    status = ON_A_COLLEAGUES_CASE[(role, action)]
    if status == 403:
        _assert_refused(r, 403, RULES[ACTION + action], cred)
        assert "assign" in r.json()["detail"]  # refused for the assignment, not the role
        assert row_counts(api.db) == before
    else:
        assert r.status_code == status, r.text
