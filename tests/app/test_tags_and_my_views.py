"""Tags and "My views" through AppTest: a tags view made in the builder lists the tagged cases,
the sidebar's Tags filter, and a saved filter that brings the list back."""
from __future__ import annotations

from sqlalchemy import update

from core.store.models import Case
from core.worklist.saved_filters import list_saved_filters, save_filter
from core.worklist.views import ensure_default_views, list_views
from tests.app.harness import errors, new_app, open_case, sign_in, table
from tests.factories import make_case


def _tags(db, case_id: str) -> list[str]:
    with db.read() as s:
        return list(s.get(Case, case_id).tags)


def _cases(db) -> None:
    with db.unit_of_work() as s:
        ensure_default_views(s)
    for i in range(3):
        make_case(db, f"T-{i}", assignee="reviewer")
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id.in_(["T-0", "T-2"])).values(tags=["vip"]))


def test_a_tags_contains_view_from_the_builder_lists_the_tagged_cases(db, database_url,
                                                                     monkeypatch):
    _cases(db)
    at = sign_in(new_app(monkeypatch, database_url), "admin")
    at.switch_page("pages/admin_views.py").run()
    at.text_input(key="vb_name").input("VIP").run()
    at.button(key="vb_add").click().run()
    at.selectbox(key="vb_p_field_0").set_value("tags").run()
    assert at.selectbox(key="vb_p_op_0").options == ["contains"]  # the only one for tags
    at.text_input(key="vb_p_value_0").input("vip").run()
    assert [m.value for m in at.metric] == ["2"]
    at.button(key="vb_save").click().run()
    assert not at.exception and not errors(at)
    saved = next(v for v in list_views(db) if v.name == "VIP")
    assert saved.predicates == ({"field": "tags", "op": "contains", "value": "vip"},)
    at.switch_page("pages/cases.py").run()
    at.radio(key="f_view").set_value(saved.id).run()
    assert sorted(table(at)["ID"]) == ["T-0", "T-2"]


def test_the_tag_filter_and_a_saved_filter(db, database_url, monkeypatch):
    _cases(db)
    at = sign_in(new_app(monkeypatch, database_url), "reviewer")
    assert "vip" in at.multiselect(key="f_tags").options
    at.multiselect(key="f_tags").select("vip").run()
    assert not at.exception
    assert sorted(table(at)["ID"]) == ["T-0", "T-2"]
    at.sidebar.text_input(key="my_views_new_name").input("VIP only")
    at.button(key="FormSubmitter:my_views_save_form-Save").click().run()
    assert not at.exception and not errors(at)
    [saved] = list_saved_filters(db, "reviewer")
    assert saved.filters["tags"] == ["vip"]
    at.multiselect(key="f_tags").unselect("vip").run()
    assert sorted(table(at)["ID"]) == ["T-0", "T-1", "T-2"]
    at.button(key=f"my_view_{saved.id}").click().run()
    assert at.multiselect(key="f_tags").value == ["vip"]
    assert sorted(table(at)["ID"]) == ["T-0", "T-2"]
    assert "VIP only (2)" in at.button(key=f"my_view_{saved.id}").label


def test_nobody_else_sees_a_saved_filter(db, database_url, monkeypatch):
    _cases(db)
    fid = save_filter(db, "reviewer", "Mine", {"tags": ["vip"]})
    at = sign_in(new_app(monkeypatch, database_url), "reviewer2")
    assert not [b for b in at.button if b.key == f"my_view_{fid}"]


def test_the_preview_tags_a_case_with_the_version_seen(db, database_url, monkeypatch):
    _cases(db)
    at = sign_in(new_app(monkeypatch, database_url), "reviewer")
    open_case(at, "T-1")
    at.text_input(key="tag_new_T-1").input("  sar filed ")
    at.button(key="FormSubmitter:tag_form_T-1-Add").click().run()
    assert not at.exception and not errors(at)
    assert _tags(db, "T-1") == ["sar filed"]
    assert at.button(key="tag_remove_0").label == "sar filed"
    assert "sar filed" in at.multiselect(key="f_tags").options  # the filter offers it at once
    # someone else changes the case: the next change is refused, nothing written
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "T-1").values(version=Case.version + 1))
    at.button(key="tag_remove_0").click().run()
    assert any("changed since you opened it" in e for e in errors(at)), errors(at)
    assert _tags(db, "T-1") == ["sar filed"]


def test_someone_who_may_not_tag_sees_the_tags_only(db, database_url, monkeypatch):
    _cases(db)
    at = sign_in(new_app(monkeypatch, database_url), "reviewer2")  # not their case
    open_case(at, "T-0")
    assert not [b for b in at.button if (b.key or "").startswith("tag_remove_")]
    assert not [t for t in at.text_input if (t.key or "").startswith("tag_new_")]
