"""The bulk bar through AppTest (ui/bulk_bar.py, ui/case_table.py): who sees "Select cases",
which actions each role is offered, ticked rows kept across pages, select all, the result."""
from __future__ import annotations

from core.store.models import Case
from tests.app.harness import new_app, select_row, sign_in, table, texts
from tests.factories import make_case


def _app(monkeypatch, database_url, role):
    return sign_in(new_app(monkeypatch, database_url), role)


def _bulk_on(at):
    return at.toggle(key="bulk_mode").set_value(True).run()


def _keys(at) -> set[str]:
    return {b.key for b in at.button if (b.key or "").startswith("bulk_")}


def test_analysts_have_no_bulk_mode(db, database_url, monkeypatch):
    make_case(db, "C-1")
    at = _app(monkeypatch, database_url, "analyst")
    assert not at.exception
    assert [t for t in at.toggle if t.key == "bulk_mode"] == []


def test_a_reviewer_is_offered_assign_to_me_only(db, database_url, monkeypatch):
    make_case(db, "C-1")
    make_case(db, "C-2", assignee="reviewer2")
    at = _bulk_on(_app(monkeypatch, database_url, "reviewer"))
    assert not at.exception
    assert _keys(at) == {"bulk_select_all", "bulk_clear", "bulk_assign_me"}
    at.button(key="bulk_select_all").click().run()
    assert any("2 selected" in t for t in texts(at))
    at.button(key="bulk_assign_me").click().run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["1 assigned, 0 unchanged, 1 refused"]
    with db.read() as s:
        assert s.get(Case, "C-1").assignee == "reviewer"
        assert s.get(Case, "C-2").assignee == "reviewer2"


def test_a_lead_ticks_rows_on_two_pages_and_tags_them(db, database_url, monkeypatch):
    for i in range(55):
        make_case(db, f"P-{i:02d}")
    at = _bulk_on(_app(monkeypatch, database_url, "lead"))
    assert _keys(at) >= {"bulk_assign", "bulk_unassign", "bulk_tag_add", "bulk_tag_remove",
                         "bulk_reject"}
    first = list(table(at)["ID"])[0]
    select_row(at, 0)  # a tick, not an opened case
    assert at.query_params.get("case") is None
    assert any("1 selected" in t for t in texts(at))
    at.button(key="page_next").click().run()
    second = list(table(at)["ID"])[0]
    select_row(at, 0)
    assert any("2 selected" in t for t in texts(at))
    at.text_input(key="bulk_tag").input("batch-7").run()
    at.button(key="bulk_tag_add").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["2 tagged, 0 unchanged, 0 refused"]
    with db.read() as s:
        tagged = {c.id for c in s.query(Case) if "batch-7" in (c.tags or [])}
    assert tagged == {first, second}
