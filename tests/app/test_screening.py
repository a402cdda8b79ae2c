"""The preview's Screening blocks through AppTest: a block per subject with its hits, Approve
off with the core's reason while a hit is open, a disposition from the block (a missing
reason refused, nothing written), a carried decision shown as "cleared before by …", a
lead's sign-off and bulk disposition; hit data shown as text."""
from __future__ import annotations

from core.screening.dispositions import disposition_hit
from tests.app.harness import buttons, errors, new_app, sign_in, table, texts
from tests.factories import row_counts, version_of
from tests.screening.helpers import ENTRY, hit, screen, ubo_case

HOSTILE = "<img src=x onerror=alert(1)>"


def _open(monkeypatch, database_url, case_id="S-1", role="reviewer"):
    return sign_in(new_app(monkeypatch, database_url, query={"case": case_id}), role)


def _save(at, hit_id):
    button = next(b for b in at.button if b.label == "Save decision"
                  and b.proto.form_id == f"hit_form_{hit_id}")
    return button.click().run()


def _shown(at) -> list[str]:
    return [*texts(at), *(t.value for t in at.text)]


def test_a_ubo_hit_holds_approve_back_until_it_is_dispositioned(db, database_url,
                                                                monkeypatch):
    case_id, ubo = ubo_case(db)
    hit_id = screen(db, case_id, ubo, {**ENTRY, "programme": HOSTILE}).new[0]
    at = _open(monkeypatch, database_url)
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert "Screening · UBO · Owner 0 · 1 open" in labels
    assert "Screening · Entity · Acme Trading Ltd · no hits" in labels
    frame = next(d.value for d in at.dataframe if d.value is not None
                 and "Entry" in d.value.columns)
    assert list(frame["Entry ID"]) == ["SDN-12345"] and list(frame["Programme"]) == [HOSTILE]
    assert buttons(at)["Approve"] is False
    approve = next(b for b in at.button if b.key == "case_action_approve")
    assert approve.help.startswith("Approve is refused while 1 screening hit is open")
    assert any(t.startswith("Approve is refused while 1 screening hit is open")
               for t in _shown(at))

    before = row_counts(db)  # a false positive without its reason is refused
    at.selectbox(key=f"hit_disp_{hit_id}").set_value("false_positive")
    _save(at, hit_id)
    assert not at.exception
    assert any("a reason is required for false positive" in e for e in errors(at))
    assert row_counts(db) == before

    at.selectbox(key=f"hit_disp_{hit_id}").set_value("false_positive")
    at.text_input(key=f"hit_reason_{hit_id}").input("born 1970 in Tehran; ours in Leeds")
    _save(at, hit_id)
    assert not at.exception, at.exception
    assert "Hit marked false positive." in [s.value for s in at.success]
    decided = hit(db, hit_id)
    assert (decided.disposition, decided.disposed_by) == ("false_positive", "reviewer")
    assert buttons(at)["Approve"] is True
    assert "Screening · UBO · Owner 0 · no open hits" in [e.label for e in at.expander]


def test_a_carried_decision_says_who_cleared_it_before(db, database_url, monkeypatch):
    first, ubo = ubo_case(db, "S-1")
    disposition_hit(db, screen(db, first, ubo, ENTRY).new[0], "false_positive",
                    "different birth year", actor="reviewer",
                    expected_version=version_of(db, first))
    second, ubo2 = ubo_case(db, "S-2")
    screen(db, second, ubo2, ENTRY)
    at = _open(monkeypatch, database_url, "S-2")
    assert not at.exception
    assert any(t.startswith("Cleared before by reviewer on ") and
               t.endswith(": different birth year") for t in _shown(at)), _shown(at)
    assert buttons(at)["Approve"] is True


def test_a_reviewer_not_assigned_sees_why_and_a_lead_signs_off(db, database_url, monkeypatch):
    case_id, ubo = ubo_case(db)
    hit_id = screen(db, case_id, ubo, ENTRY).new[0]
    disposition_hit(db, hit_id, "true_match", "same passport", actor="reviewer",
                    expected_version=version_of(db, case_id))
    at = _open(monkeypatch, database_url, role="reviewer2")
    save = next(b for b in at.button if b.label == "Save decision")
    assert save.disabled and "only the assignee (reviewer) or a lead" in save.help
    sign = next(b for b in at.button if b.key == f"hit_signoff_{hit_id}")
    assert sign.disabled and "a lead or an admin signs off" in sign.help

    at = _open(monkeypatch, database_url, role="lead")
    assert not at.exception
    at.button(key=f"hit_signoff_{hit_id}").click().run()
    assert not at.exception
    assert "True match signed off." in [s.value for s in at.success]
    assert hit(db, hit_id).signed_off_by == "lead"


def test_a_lead_dispositions_several_hits_with_one_reason(db, database_url, monkeypatch):
    case_id, ubo = ubo_case(db)
    ids = screen(db, case_id, ubo, ENTRY, {**ENTRY, "entry_id": "UN-9"},
                 {**ENTRY, "entry_id": "EU-3"}).new
    at = _open(monkeypatch, database_url, role="lead")
    at.multiselect(key="hits_bulk_ids").set_value(ids[:2])
    at.selectbox(key="hits_bulk_disp").set_value("false_positive")
    at.text_input(key="hits_bulk_reason").input("another person: born in 1990")
    next(b for b in at.button if b.label == "Disposition selected").click().run()
    assert not at.exception
    assert "2 dispositioned, 0 unchanged, 0 refused." in [s.value for s in at.success]
    assert [hit(db, i).disposition for i in ids] == ["false_positive", "false_positive", None]
    assert "Screening · UBO · Owner 0 · 1 open" in [e.label for e in at.expander]


def test_the_case_list_shows_and_filters_open_hits(db, database_url, monkeypatch):
    case_id, ubo = ubo_case(db, "S-1")
    screen(db, case_id, ubo, ENTRY)
    ubo_case(db, "S-2")
    at = sign_in(new_app(monkeypatch, database_url), "reviewer")
    assert dict(zip(table(at)["ID"], table(at)["Open hits"])) == {"S-1": 1, "S-2": 0}
    at.selectbox(key="f_hits").set_value("open").run()
    assert not at.exception
    assert list(table(at)["ID"]) == ["S-1"]
    assert at.query_params["open_hits"] in ("open", ["open"])  # the link carries it (as text or list)
    at.selectbox(key="f_hits").set_value("none").run()
    assert list(table(at)["ID"]) == ["S-2"]
