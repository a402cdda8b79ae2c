"""Signed vendor callbacks (core.intake.hooks, core.intake.hook_mapping): a mapping is checked
whole, a callback is verified with Standard Webhooks before anything is read, a replayed
webhook-id changes nothing, and each callback is recorded as applied, ignored or refused."""
from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from core.access.users import add_user, set_disabled, set_role
from core.errors import ActionNotAllowed, InvalidInput, NotAllowed, NotFound, Unauthenticated
from core.intake import hooks
from core.intake.hook_mapping import plan, read_mapping, validate_mapping
from core.store.models import AuditEvent, HookMessage
from tests.factories import row_counts, version_of
from tests.intake.hook_payloads import SUMSUB_MAPPING, body_of, minutes_ago, reviewed, signed
from tests.intake.import_files import case_of, import_one

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def source(db):
    """A Sumsub source acting as the service user "svc" (an admin); its secret."""
    add_user(db, "svc", "Sumsub service", "admin", "a-long-password")
    return hooks.create_source(db, "sumsub", mapping=SUMSUB_MAPPING, acting_user="svc",
                               actor="admin").secret


def a_kyc_case(db, state="sent") -> tuple[str, int]:
    kyc = {"state": state, **({"result": {"outcome": "clear"}} if state == "completed" else {})}
    case_id = import_one(db, ubos=[{"full_name": "Jo Bloggs", "kyc": kyc}])
    return case_id, case_of(db, case_id).ubos[0].id


def deliver(db, secret, payload, **signing):
    body = body_of(payload)
    return hooks.receive(db, "sumsub", signed(secret, body, **signing), body)


def messages(db) -> list[tuple[str, str | None, str | None, str]]:
    with db.read() as s:
        return [(m.outcome, m.case_id, m.event, m.detail)
                for m in s.scalars(select(HookMessage).order_by(HookMessage.id))]


# --- the mapping -------------------------------------------------------------------------

BAD_MAPPINGS = [
    ([], "a mapping is an object"),
    ({"rules": [], "case_id": "x"}, "rules: a list of 1 to 50 rules"),
    ({"case_id": "x", "rules": [{}] * 51}, "rules: a list of 1 to 50 rules"),
    ({"case_id": "x", "ruels": []}, "mapping: unknown keys ruels"),
    ({"rules": [{"when": {}, "event": "collection_completed"}]},
     "rules[0].case_id: needed"),
    ({"case_id": "x", "rules": [{"when": {}, "event": "kyc_complete"}]},
     "rules[0].event: 'kyc_complete' is not an event"),
    ({"case_id": "x", "rules": [{"when": {}, "event": "document_uploaded"}]},
     "rules[0].event: 'document_uploaded' is not an event"),
    ({"case_id": "x", "rules": [{"when": {}, "event": "kyc_completed",
                                 "params": {"ubo_id": "a"}}]},
     "rules[0].params.result: kyc_completed needs it"),
    ({"case_id": "x", "rules": [{"when": {}, "event": "kyc_sent",
                                 "params": {"ubo_id": "a", "name": "b"}}]},
     "rules[0].params.name: kyc_sent takes ubo_id"),
    ({"case_id": "x", "rules": [{"event": "collection_completed"}]}, "rules[0].when: an object"),
    ({"case_id": "x", "rules": [{"when": {"a": {"b": 1}}, "event": "collection_completed"}]},
     "rules[0].when.a: compare with text"),
    ({"case_id": "x", "rules": [{"when": {"a": []}, "event": "collection_completed"}]},
     "rules[0].when.a: compare with text"),
    ({"case_id": "data..id", "rules": [{"when": {}, "event": "collection_completed"}]},
     "case_id: 'data..id' has an empty step"),
    ({"case_id": {"path": "a", "split": "", "part": -1},
      "rules": [{"when": {}, "event": "collection_completed"}]},
     "case_id.split: the separator is 1 to 10 characters"),
    ({"case_id": {"path": "a", "split": ":", "part": True},
      "rules": [{"when": {}, "event": "collection_completed"}]},
     "case_id.part: a piece's index is a whole number"),
    ({"case_id": {"pth": "a"}, "rules": [{"when": {}, "event": "collection_completed"}]},
     "case_id: a value is a path"),
    ({"case_id": "x", "rules": [{"when": {}, "event": "collection_completed", "evnt": 1}]},
     "rules[0]: unknown keys evnt"),
    ({"case_id": "x", "rules": [{"when": {"a": float("nan")}, "event": "kyc_sent"}]},
     "a mapping is plain JSON"),
]


@pytest.mark.parametrize("mapping, problem", BAD_MAPPINGS, ids=[p for _, p in BAD_MAPPINGS])
def test_a_bad_mapping_is_refused_naming_the_problem(mapping, problem):
    with pytest.raises(InvalidInput) as refused:
        validate_mapping(mapping)
    assert problem in str(refused.value)


def test_every_problem_of_a_mapping_is_named_at_once():
    with pytest.raises(InvalidInput) as refused:
        validate_mapping({"rules": [{"when": {}, "event": "nope"},
                                    {"when": {}, "event": "kyc_sent"}]})
    assert {p.split(":")[0] for p in refused.value.problems} == {
        "rules[0].case_id", "rules[0].event", "rules[1].case_id", "rules[1].params.ubo_id"}


def test_a_payload_is_planned_by_the_first_matching_rule():
    mapping = validate_mapping({
        "case_id": "data.case", "rules": [
            {"when": {"kind": ["started", "restarted"], "flag": True}, "event": "process_started",
             "params": {"name": {"const": "registry"}, "detail": "data.items.1"}},
            {"when": {"kind": "started"}, "event": "collection_completed"},
            {"when": {}, "event": "kyc_sent", "case_id": {"const": "OTHER-1"},
             "params": {"ubo_id": {"path": "ref", "split": "/", "part": 2}}}]})
    payload = {"kind": "restarted", "flag": True, "data": {"case": "C-1", "items": ["a", "b"]}}
    assert plan(mapping, payload).__dict__ == {
        "event": "process_started", "case_id": "C-1", "rule": 0, "unfit": None,
        "params": {"name": "registry", "detail": "b"}}
    # true is not 1: the first rule does not hold, the second does
    assert plan(mapping, {**payload, "kind": "started", "flag": 1}).event == "collection_completed"
    last = plan(mapping, {"kind": "other", "ref": "x/y/42"})
    assert (last.event, last.case_id, last.params) == ("kyc_sent", "OTHER-1", {"ubo_id": "42"})


def test_a_matching_rule_whose_values_are_missing_is_unfit():
    mapping = validate_mapping(SUMSUB_MAPPING)
    no_ubo = plan(mapping, reviewed("C-1", 1) | {"externalUserId": "C-1"})
    assert no_ubo.event == "kyc_completed" and no_ubo.case_id == "C-1"
    assert "has no piece 1 when split at ':'" in str(no_ubo.unfit)
    bad_case = plan(mapping, reviewed("C-1", 1) | {"externalUserId": "C 1/x:3"})
    assert "is not a case id" in str(bad_case.unfit)
    nothing = plan(mapping, reviewed("C-9", 1, "RED", reject="RETRY"))
    assert (nothing.event, nothing.case_id, nothing.unfit) == (None, "C-9", None)


def test_a_mapping_file_is_json_or_yaml(tmp_path):
    as_json = tmp_path / "sumsub.json"
    as_json.write_text(json.dumps(SUMSUB_MAPPING))
    as_yaml = tmp_path / "sumsub.yaml"
    as_yaml.write_text("case_id: {path: externalUserId, split: ':', part: 0}\nrules:\n"
                       "  - when: {type: applicantReviewed}\n    event: kyc_completed\n"
                       "    params: {ubo_id: {path: externalUserId, split: ':', part: 1},"
                       " result: $}\n")
    assert read_mapping(as_json) == SUMSUB_MAPPING
    assert read_mapping(as_yaml)["rules"][0]["params"]["result"] == "$"
    for name, text, problem in [
            ("m.yaml", "rules: [a\n", "is not YAML"),
            ("m.yml", "a: &x [1]\nb: *x\n", "anchors and aliases"),
            ("m.json", "{\"rules\": }", "is not JSON: Expecting value at line 1"),
            ("m.yaml", "case_id: 2024-01-01\nrules: []\n", "plain JSON"),
            ("m.txt", "{}", "ends in .json, .yaml or .yml")]:
        (tmp_path / name).write_text(text)
        with pytest.raises(InvalidInput, match=problem):
            read_mapping(tmp_path / name)


def test_the_worked_example_in_the_api_guide_does_what_it_says():
    """docs/API.md's Sumsub mapping is valid, and maps its example payload to the event."""
    guide = (ROOT / "docs" / "API.md").read_text().split("## Vendor callbacks", 1)[1]
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", guide, re.S)]
    mapping = validate_mapping(next(b for b in blocks if "rules" in b))
    payload = next(b for b in blocks if b.get("type") == "applicantReviewed")
    assert mapping == SUMSUB_MAPPING
    planned = plan(mapping, payload)
    case_id, ubo = payload["externalUserId"].split(":")
    assert (planned.event, planned.case_id, planned.params) == (
        "kyc_completed", case_id, {"ubo_id": ubo, "result": payload})


# --- sources -------------------------------------------------------------------------------

def test_a_source_is_made_by_an_admin_and_its_secret_shown_once(db):
    created = hooks.create_source(db, "Sumsub", mapping=SUMSUB_MAPPING, acting_user="admin",
                                  actor="admin")
    assert created.secret.startswith("whsec_") and created.info.name == "sumsub"
    [info] = hooks.list_sources(db)
    assert (info.acting_user, info.enabled, info.active_secrets) == ("admin", True, 1)
    assert created.secret not in repr(info)
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "hook_source.created")).one()
    assert event.actor == "admin" and event.after["source"] == "sumsub"


@pytest.mark.parametrize("kwargs, error, text", [
    ({"actor": "reviewer"}, NotAllowed, "may not manage integrations"),
    ({"acting_user": "reviewer"}, InvalidInput, "must be allowed to import cases"),
    ({"acting_user": "nobody"}, NotAllowed, "does not exist"),
    ({"name": "x"}, InvalidInput, "2 to 64 characters"),
    ({"mapping": {"rules": []}}, InvalidInput, "the mapping was refused"),
])
def test_a_bad_source_is_refused_and_nothing_written(db, kwargs, error, text):
    before = row_counts(db)
    args = {"name": "vendor", "mapping": SUMSUB_MAPPING, "acting_user": "admin",
            "actor": "admin", **kwargs}
    with pytest.raises(error, match=text):
        hooks.create_source(db, args.pop("name"), **args)
    assert row_counts(db) == before


def test_a_name_is_taken_once(db, source):
    before = row_counts(db)
    with pytest.raises(InvalidInput, match="already exists"):
        hooks.create_source(db, "sumsub", mapping=SUMSUB_MAPPING, acting_user="admin")
    assert row_counts(db) == before


def test_managing_a_source_is_an_admin_power(db, source):
    before = row_counts(db)
    for change in (lambda: hooks.rotate_source_secret(db, "sumsub", actor="analyst"),
                   lambda: hooks.set_source_enabled(db, "sumsub", False, actor="reviewer"),
                   lambda: hooks.drop_old_secrets(db, "sumsub", actor="analyst"),
                   lambda: hooks.set_source_mapping(db, "sumsub", SUMSUB_MAPPING,
                                                    actor="reviewer")):
        with pytest.raises(NotAllowed):
            change()
    with pytest.raises(NotFound):
        hooks.rotate_source_secret(db, "veriff", actor="admin")
    assert row_counts(db) == before


# --- receiving -----------------------------------------------------------------------------

def test_a_signed_kyc_result_completes_the_ubos_kyc_as_the_sources_user(db, source):
    case_id, ubo = a_kyc_case(db)
    assert case_of(db, case_id).case_status == "pending_id_verification"
    payload = reviewed(case_id, ubo)
    outcome = deliver(db, source, payload)
    assert (outcome.outcome, outcome.case_id, outcome.event, outcome.duplicate) == (
        "applied", case_id, "kyc_completed", False)
    case = case_of(db, case_id)
    assert case.case_status == "manual_review"
    assert (case.ubos[0].kyc_state, case.ubos[0].kyc_result) == ("completed", payload)
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                   AuditEvent.kind == "kyc.completed")).one()
    assert (event.actor, event.via) == ("svc", "hook sumsub")
    assert messages(db) == [("applied", case_id, "kyc_completed", "rule 1")]
    assert hooks.list_sources(db)[0].applied == 1


def test_the_same_webhook_id_changes_the_case_once(db, source):
    case_id, ubo = a_kyc_case(db)
    body = body_of(reviewed(case_id, ubo))
    headers = signed(source, body)
    first = hooks.receive(db, "sumsub", headers, body)
    version, before = version_of(db, case_id), row_counts(db)
    again = hooks.receive(db, "sumsub", headers, body)
    assert first.duplicate is False and again.duplicate is True
    assert (again.outcome, again.case_id, again.event) == ("applied", case_id, "kyc_completed")
    assert version_of(db, case_id) == version and row_counts(db) == before


def test_a_replay_racing_the_original_is_applied_once(db, source):
    """Two deliveries of one webhook-id at the same moment: one applies, one is the replay."""
    case_id, ubo = a_kyc_case(db)
    body = body_of(reviewed(case_id, ubo))
    headers = signed(source, body)
    start, results = threading.Barrier(2), []

    def deliver_once():
        start.wait()
        results.append(hooks.receive(db, "sumsub", headers, body))

    threads = [threading.Thread(target=deliver_once) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.duplicate for r in results) == [False, True]
    assert {r.outcome for r in results} == {"applied"}
    assert len(messages(db)) == 1 and version_of(db, case_id) == 2


def _tampered(secret, body):
    return signed(secret, body), body.replace(b"GREEN", b"GREEN ")


def _retimed(secret, body):
    headers = signed(secret, body)
    return {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 1)}, body


REFUSED = {
    "tampered body": _tampered,
    "changed timestamp": _retimed,
    "wrong secret": lambda s, b: (signed(hooks.new_secret(), b), b),
    "stale timestamp": lambda s, b: (signed(s, b, at=minutes_ago(10)), b),
    "future timestamp": lambda s, b: (signed(s, b, at=minutes_ago(-10)), b),
    "no signature": lambda s, b: ({k: v for k, v in signed(s, b).items()
                                   if k != "webhook-signature"}, b),
    "garbled signature": lambda s, b: ({**signed(s, b), "webhook-signature": "v1 nonsense"}, b),
}


@pytest.mark.parametrize("forge", REFUSED.values(), ids=REFUSED)
def test_an_unverified_callback_is_refused_and_changes_nothing(db, source, forge):
    case_id, ubo = a_kyc_case(db)
    headers, body = forge(source, body_of(reviewed(case_id, ubo)))
    before = row_counts(db)
    with pytest.raises(Unauthenticated) as refused:
        hooks.receive(db, "sumsub", headers, body)
    assert str(refused.value) == hooks.NOT_VERIFIED
    assert row_counts(db) == before


def test_an_unknown_or_disabled_source_is_refused_like_a_bad_signature(db, source):
    case_id, ubo = a_kyc_case(db)
    body = body_of(reviewed(case_id, ubo))
    hooks.set_source_enabled(db, "sumsub", False, actor="admin")
    before = row_counts(db)
    for name in ("sumsub", "veriff"):
        with pytest.raises(Unauthenticated) as refused:
            hooks.receive(db, name, signed(source, body), body)
        assert str(refused.value) == hooks.NOT_VERIFIED
    assert row_counts(db) == before
    hooks.set_source_enabled(db, "sumsub", True, actor="admin")
    assert hooks.receive(db, "sumsub", signed(source, body), body).outcome == "applied"


def test_a_rotated_secret_verifies_beside_the_old_until_it_is_dropped(db, source):
    new = hooks.rotate_source_secret(db, "sumsub", actor="admin")
    assert new != source and hooks.list_sources(db)[0].active_secrets == 2
    ignored = body_of({"type": "applicantCreated"})
    for secret in (source, new):
        assert hooks.receive(db, "sumsub", signed(secret, ignored), ignored).outcome == "ignored"
    hooks.drop_old_secrets(db, "sumsub", actor="admin")
    with pytest.raises(Unauthenticated):
        hooks.receive(db, "sumsub", signed(source, ignored), ignored)
    assert hooks.receive(db, "sumsub", signed(new, ignored), ignored).outcome == "ignored"


def test_a_payload_no_rule_matches_is_recorded_as_ignored(db, source):
    case_id, ubo = a_kyc_case(db)
    version = version_of(db, case_id)
    outcome = deliver(db, source, reviewed(case_id, ubo, "RED", reject="RETRY"))
    assert (outcome.outcome, outcome.case_id, outcome.event) == ("ignored", case_id, None)
    assert version_of(db, case_id) == version
    assert messages(db) == [("ignored", case_id, None, "no rule matched")]


def test_an_event_core_refuses_is_recorded_and_its_replay_answered_from_the_record(db, source):
    case_id, ubo = a_kyc_case(db, state="completed")
    version = version_of(db, case_id)
    body = body_of(reviewed(case_id, ubo))
    headers = signed(source, body)
    with pytest.raises(ActionNotAllowed, match="already completed"):
        hooks.receive(db, "sumsub", headers, body)
    assert version_of(db, case_id) == version
    [(outcome, recorded_case, event, detail)] = messages(db)
    assert (outcome, recorded_case, event) == ("refused", case_id, "kyc_completed")
    assert "already completed" in detail
    again = hooks.receive(db, "sumsub", headers, body)
    assert (again.outcome, again.duplicate, again.detail) == ("refused", True, detail)


@pytest.mark.parametrize("payload, error, text", [
    (lambda c, u: reviewed("NO-SUCH-CASE", u), NotFound, "NO-SUCH-CASE"),
    (lambda c, u: reviewed(c, 999999), NotFound, "has no UBO 999999"),
    (lambda c, u: reviewed(c, u) | {"externalUserId": c}, InvalidInput, "has no piece 1"),
])
def test_a_callback_that_does_not_fit_the_case_is_refused_and_recorded(db, source, payload,
                                                                        error, text):
    case_id, ubo = a_kyc_case(db)
    version = version_of(db, case_id)
    with pytest.raises(error, match=text):
        deliver(db, source, payload(case_id, ubo))
    assert version_of(db, case_id) == version
    assert [m[0] for m in messages(db)] == ["refused"]


def test_the_sources_user_must_still_be_allowed_to_report_events(db, source):
    case_id, ubo = a_kyc_case(db)
    set_role(db, "svc", "reviewer", actor="admin")
    with pytest.raises(NotAllowed, match="svc \\(reviewer\\) may not import cases"):
        deliver(db, source, reviewed(case_id, ubo))
    set_role(db, "svc", "admin", actor="admin")
    set_disabled(db, "svc", True, actor="admin")
    with pytest.raises(NotAllowed, match="disabled"):
        deliver(db, source, reviewed(case_id, ubo))
    assert case_of(db, case_id).ubos[0].kyc_state == "sent"
    assert [m[0] for m in messages(db)] == ["refused", "refused"]


@pytest.mark.parametrize("body, text", [
    (b"\xff\xfe not utf-8", "not UTF-8 JSON"),
    (b"{not json", "not JSON: Expecting property name"),
    (b"[1, 2]", "must be a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_a_signed_body_that_is_not_a_json_object_is_refused_and_changes_nothing(db, source, body,
                                                                                 text):
    before = row_counts(db)
    headers = signed(source, body) if body.isascii() else {}
    with pytest.raises(InvalidInput, match=text):
        hooks.receive(db, "sumsub", headers, body)
    assert row_counts(db) == before


def test_a_webhook_id_too_long_to_record_is_refused(db, source):
    body = body_of({"type": "applicantCreated"})
    before = row_counts(db)
    with pytest.raises(InvalidInput, match="webhook-id"):
        hooks.receive(db, "sumsub", signed(source, body, msg_id="m" * 201), body)
    assert row_counts(db) == before
