"""The Cases page through AppTest: list, preview, case actions and their dialogs, errors."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.cases import actions as case_actions
from core.cases.read import case_detail
from core.store.models import AuditEvent, Case, Note
from tests.app.harness import buttons, errors, new_app, open_case, sign_in, table, texts
from tests.factories import make_case, row_counts, status_of, version_of

HOSTILE = "<img src=x onerror=alert(1)>"


def _app(monkeypatch, database_url, role="reviewer", query=None):
    return sign_in(new_app(monkeypatch, database_url, query=query), role)


def _click(at, key):
    return at.button(key=key).click().run()


def _document_ref(db, case_id):
    return case_detail(db, case_id, "reviewer").documents[0].ref


def test_list_shows_one_page_of_cases_with_their_columns(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer")
    make_case(db, "C-2", collection_completed=False, name="Beta GmbH", country="DE")
    at = _app(monkeypatch, database_url)
    assert not at.exception
    frame = table(at)
    assert list(frame.columns) == ["ID", "Entity name", "Type", "Country", "Workflow", "Status",
                                   "Due", "Open hits", "Risk", "Assignee", "Created",
                                   "Last update", "Age (days)"]
    assert set(frame["ID"]) == {"C-1", "C-2"}
    assert dict(zip(frame["ID"], frame["Status"])) == {"C-1": "Manual review",
                                                       "C-2": "Collection flow"}
    assert any("2 cases" in t for t in texts(at))


def test_list_is_paged_on_the_server(db, database_url, monkeypatch):
    for i in range(55):
        make_case(db, f"P-{i:02d}")
    at = _app(monkeypatch, database_url)
    assert len(table(at)) == 50
    assert any("55 cases" in t for t in texts(at))
    _click(at, "page_next")
    assert not at.exception
    assert len(table(at)) == 5
    assert any("Page 2 of 2" in t for t in texts(at))


def test_a_count_above_the_cap_shows_a_plus_and_counts_exactly_on_request(db, database_url,
                                                                           monkeypatch):
    monkeypatch.setattr("ui.case_table.COUNT_CAP", 60)  # the list counts up to 60 here
    for i in range(65):
        make_case(db, f"P-{i:02d}", name=f"Golden {i} Ltd" if i < 62 else f"Other {i} Ltd")
    at = _app(monkeypatch, database_url)
    assert any("65 cases" in t for t in texts(at))  # the counters: exact whatever the cap
    at.text_input(key="f_search").input("golden").run()  # a search counts the cases
    assert any(t.startswith("**60+ cases** · showing 1–50") for t in texts(at)), texts(at)
    assert any("Page 1 of 2+" in t for t in texts(at))
    assert not at.button(key="page_next").disabled  # more than the pages known
    _click(at, "count_exact")
    assert not at.exception
    assert any(t.startswith("**62 cases** · showing 1–50") for t in texts(at)), texts(at)
    assert not [b for b in at.button if b.key == "count_exact"]
    at.text_input(key="f_search").input("golden 1").run()  # another filter: capped again
    assert not at.exception


def test_status_filter_and_search_narrow_the_list(db, database_url, monkeypatch):
    make_case(db, "C-1", name="Acme Trading Ltd")
    make_case(db, "C-2", collection_completed=False, name="Beta GmbH")
    at = _app(monkeypatch, database_url)
    at.multiselect(key="f_status").set_value(["collection_flow"]).run()
    assert list(table(at)["ID"]) == ["C-2"]
    at.multiselect(key="f_status").set_value([]).run()
    at.text_input(key="f_search").input("beta").run()
    assert not at.exception
    assert list(table(at)["ID"]) == ["C-2"]


def test_selecting_a_row_opens_the_preview_and_puts_the_case_in_the_url(db, database_url, monkeypatch):
    make_case(db, "C-1", name="Acme Trading Ltd")
    at = _app(monkeypatch, database_url)
    assert not at.subheader or "Acme" not in at.subheader[0].value
    open_case(at, "C-1")
    assert not at.exception
    assert at.query_params["case"] == ["C-1"] or at.query_params["case"] == "C-1"
    assert "Acme Trading Ltd" in [s.value for s in at.subheader]
    assert "User provided data" in [e.label for e in at.expander]


def test_case_in_the_url_opens_that_case(db, database_url, monkeypatch):
    make_case(db, "C-1", name="Acme Trading Ltd")
    make_case(db, "C-2", name="Beta GmbH")
    at = _app(monkeypatch, database_url, query={"case": "C-1"})
    assert not at.exception
    assert "Acme Trading Ltd" in [s.value for s in at.subheader]
    assert "Beta GmbH" not in [s.value for s in at.subheader]


def test_unknown_case_in_the_url_says_so(db, database_url, monkeypatch):
    at = _app(monkeypatch, database_url, query={"case": "NOPE"})
    assert not at.exception
    assert any("NOPE" in w.value for w in at.warning)


def test_analyst_sees_no_enabled_action(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer")
    at = _app(monkeypatch, database_url, role="analyst")
    open_case(at, "C-1")
    assert buttons(at) == {"Approve": False, "Reject": False, "Ask for all re-uploads (0)": False}
    assert all(b.disabled for b in at.button if (b.key or "").startswith("block_"))
    assert "Assign to me" not in [b.label for b in at.button]
    assert not [f for f in at.button if f.label == "Add note"]


def test_manual_review_buttons_for_the_assignee(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer", reviewed=True)
    at = _app(monkeypatch, database_url)
    open_case(at, "C-1")
    assert buttons(at) == {"Approve": True, "Reject": True, "Ask for all re-uploads (0)": False}


def test_ask_for_reuploads_is_enabled_with_its_count_once_a_block_is_marked(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer")
    ref = _document_ref(db, "C-1")
    case_actions.ask_to_reupload_block(db, "C-1", ref, actor="reviewer",
                                       expected_version=version_of(db, "C-1"),
                                       reason="Bad image quality")
    at = _app(monkeypatch, database_url)
    open_case(at, "C-1")
    enabled = buttons(at)
    assert enabled["Ask for all re-uploads (1)"] is True
    assert enabled["Reject"] is True
    assert enabled["Approve"] is False  # refused while a block is "Re-upload needed"


def test_revisions_allow_only_reject(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer")
    ref = _document_ref(db, "C-1")
    case_actions.ask_to_reupload_block(db, "C-1", ref, actor="reviewer",
                                       expected_version=version_of(db, "C-1"),
                                       reason="Missing page")
    case_actions.ask_for_reuploads(db, "C-1", actor="reviewer",
                                   expected_version=version_of(db, "C-1"))
    assert status_of(db, "C-1") == "revisions"
    at = _app(monkeypatch, database_url)
    open_case(at, "C-1")
    assert buttons(at) == {"Approve": False, "Reject": True, "Ask for all re-uploads (0)": False}


def test_collection_flow_allows_nothing(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer", collection_completed=False)
    at = _app(monkeypatch, database_url)
    open_case(at, "C-1")
    assert not any(buttons(at).values())
    help_texts = {b.label: b.help for b in at.button if (b.key or "").startswith("case_action_")}
    assert all("Collection flow" in (h or "") for h in help_texts.values()), help_texts


def test_approving_through_the_dialog_changes_the_status(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer", reviewed=True)
    at = _app(monkeypatch, database_url)
    open_case(at, "C-1")
    _click(at, "case_action_approve")
    assert [t.label for t in at.text_area if t.key == "dialog_reason"] == ["Reason (optional)"]
    at.text_area(key="dialog_reason").input("all documents in order")
    _click(at, "dialog_confirm")
    assert not at.exception
    assert status_of(db, "C-1") == "approved"
    assert "Case approved." in [s.value for s in at.success]
    assert not [t for t in at.text_area if t.key == "dialog_reason"]  # dialog closed
    assert dict(zip(table(at)["ID"], table(at)["Status"]))["C-1"] == "Approved"
    assert buttons(at) == {"Approve": False, "Reject": False, "Ask for all re-uploads (0)": False}


def test_reject_without_a_reason_shows_an_error_and_writes_nothing(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer")
    at = _app(monkeypatch, database_url)
    open_case(at, "C-1")
    before = row_counts(db)
    _click(at, "case_action_reject")
    _click(at, "dialog_confirm")
    assert not at.exception
    assert any("reason is required" in e for e in errors(at))
    assert status_of(db, "C-1") == "manual_review"
    assert row_counts(db) == before
    at.text_area(key="dialog_reason").input("sanctions hit")
    _click(at, "dialog_confirm")
    assert status_of(db, "C-1") == "rejected"


def test_a_case_changed_behind_the_page_shows_reload_and_writes_nothing(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer", reviewed=True)
    at = _app(monkeypatch, database_url)
    open_case(at, "C-1")
    # another reviewer adds a note meanwhile: the case version moves on
    case_actions.add_note(db, "C-1", "looked at it", actor="reviewer2",
                          expected_version=version_of(db, "C-1"))
    _click(at, "case_action_approve")
    _click(at, "dialog_confirm")
    assert not at.exception
    assert any("This case changed since you opened it" in e for e in errors(at))
    assert status_of(db, "C-1") == "manual_review"
    _click(at, "dialog_reload")
    assert not at.exception
    assert not errors(at)
    assert buttons(at)["Approve"] is True  # usable again, on the fresh version


def test_assign_to_me_then_act(db, database_url, monkeypatch):
    make_case(db, "C-1", reviewed=True)
    at = _app(monkeypatch, database_url)
    open_case(at, "C-1")
    assert buttons(at)["Approve"] is False
    _click(at, "assign_me")
    assert not at.exception
    with db.read() as s:
        assert s.get(Case, "C-1").assignee == "reviewer"
    assert buttons(at)["Approve"] is True


def test_admin_reassigns(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer")
    at = _app(monkeypatch, database_url, role="admin")
    open_case(at, "C-1")
    at.selectbox(key="reassign_C-1").set_value("reviewer2")
    _click(at, "reassign")
    assert not at.exception
    with db.read() as s:
        assert s.get(Case, "C-1").assignee == "reviewer2"


def test_block_actions_and_notes(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer")
    ref = _document_ref(db, "C-1")
    at = _app(monkeypatch, database_url)
    open_case(at, "C-1")
    _click(at, f"block_approve_{ref}")
    assert not at.exception
    assert case_detail(db, "C-1", "reviewer").documents[0].status == "approved"
    at.text_area(key="note_C-1").input("checked the registry")
    next(b for b in at.button if b.label == "Add note").click().run()
    assert not at.exception
    with db.read() as s:
        assert [n.body for n in s.scalars(select(Note))] == ["checked the registry"]
    assert "checked the registry" in [t.value for t in at.text]


def test_edit_user_data_is_saved_and_audited(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer", user_data={"industry": "trading"})
    at = _app(monkeypatch, database_url)
    open_case(at, "C-1")
    field = next(t for t in at.text_input if t.label == "industry")
    field.input("shipping")
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert not at.exception
    with db.read() as s:
        assert s.get(Case, "C-1").user_data == {"industry": "shipping"}
        assert s.scalars(select(AuditEvent.kind).where(
            AuditEvent.kind == "user_data.edited")).all() == ["user_data.edited"]


def test_hostile_case_name_is_shown_as_text(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer", name=HOSTILE)
    at = _app(monkeypatch, database_url, query={"case": "C-1"})
    assert not at.exception
    assert HOSTILE in list(table(at)["Entity name"])  # the table shows text
    for node in at._tree:
        proto = getattr(node, "proto", None)
        body = getattr(proto, "body", "")
        if isinstance(body, str) and "onerror" in body:
            assert not getattr(proto, "allow_html", False), body
            assert not re.search(r"(?<!\\)<img", body), body  # escaped: shows literally
    assert any("onerror" in s.value for s in at.subheader)


def test_the_preview_shows_only_the_blocks_the_workflow_lists(db, database_url, monkeypatch):
    from core.workflows import admin as workflow_admin
    make_case(db, "WB-1", ubos=1)
    at = _app(monkeypatch, database_url, query={"case": "WB-1"})
    labels = [e.label for e in at.expander]
    assert any("Registry provided data" in label for label in labels)
    assert any(label.startswith("KYC") for label in labels)
    definition = workflow_admin.get_workflow(db, "onboarding")
    workflow_admin.save_workflow(db, {**definition, "blocks": ["user_data", "documents"]},
                                 actor="admin")
    at = _app(monkeypatch, database_url, query={"case": "WB-1"})
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert any("User provided data" in label for label in labels)
    assert not any("Registry provided data" in label for label in labels)
    assert not any(label.startswith("KYC") for label in labels)
