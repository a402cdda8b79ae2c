"""Issue #10 in a real browser: the case preview's timeline reads as sentences with case data
shown as text (raw codes and before/after behind an expander), and the Overview's charts have
every label whole, whole-number count axes, and links that open the Cases list filtered."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.cases import actions as case_actions
from core.cases.read import case_detail
from core.cases.status import CaseStatus
from core.worklist.overview import status_counts
from core.worklist.views import list_views
from tests.browser.conftest import _version
from tests.browser.helpers import open_page, sign_in, wait_idle

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__ran = 1</script>"
FORMULA = '=HYPERLINK("http://evil.example","x")'
MARKDOWN = "**bold** [link](http://evil.example)"


def _prepare_timeline_case(db) -> None:
    """BR-TIMELINE: taken by the reviewer, edited with hostile values, noted, its document
    approved, then the case."""
    case_id = "BR-TIMELINE"
    case_actions.assign_case(db, case_id, "reviewer", actor="reviewer",
                             expected_version=_version(db, case_id))
    case_actions.edit_user_data(db, case_id, {"industry": SCRIPT, "website": FORMULA},
                                actor="reviewer", expected_version=_version(db, case_id))
    case_actions.add_note(db, case_id, MARKDOWN, actor="reviewer",
                          expected_version=_version(db, case_id))
    document = case_detail(db, case_id, "reviewer").documents[0].ref
    case_actions.approve_block(db, case_id, document, actor="reviewer",
                               expected_version=_version(db, case_id))
    case_actions.approve_case(db, case_id, actor="reviewer",
                              expected_version=_version(db, case_id), reason="all in order")


def test_the_timeline_reads_as_sentences_and_shows_case_data_as_text(page: Page, app_url, app_db):
    _prepare_timeline_case(app_db)
    sign_in(page, app_url, "reviewer", query="?case=BR-TIMELINE")
    expect(page.get_by_role("heading", name="Wrenfield Chronicle Ltd")).to_be_visible()
    wait_idle(page)

    timeline = page.locator(".st-key-case_timeline")
    for sentence in (
            f"reviewer changed Industry from “trading” to “{SCRIPT}”",
            f"reviewer set Website to “{FORMULA}”",
            f"reviewer added a note: “{MARKDOWN}”",
            "reviewer approved Certificate of incorporation",
            "reviewer approved the case: all in order",
            "Status changed from Manual review to Approved",
            "reviewer took the case",
            "browser-tests imported the case into the onboarding workflow"):
        expect(timeline).to_contain_text(sentence)
    for code in ("user_data.edited", "case.approved", "note.added", '"field"'):
        expect(timeline).not_to_contain_text(code)
    # case data is text: no element made from it, nothing ran
    assert timeline.locator("script, strong, a, img").count() == 0
    assert page.evaluate("window.__ran") is None

    raw = page.get_by_test_id("stExpander").filter(has_text="Raw events")
    raw.locator("summary").click()
    code = raw.get_by_test_id("stCode")
    expect(code).to_contain_text('"kind": "user_data.edited"')
    expect(code).to_contain_text(SCRIPT)
    assert page.evaluate("window.__ran") is None


def _chart(page: Page, title: str):
    return page.get_by_test_id("stVegaLiteChart").filter(
        has=page.locator(".role-title-text", has_text=title))


def _axis_labels(chart, axis_title: str | None = None) -> list[str]:
    axes = chart.locator(".role-axis")
    if axis_title is not None:
        axes = axes.filter(has=chart.page.locator(".role-axis-title", has_text=axis_title))
    return [t.strip() for t in axes.locator(".role-axis-label text").all_text_contents()]


def test_overview_charts_have_whole_labels_whole_counts_and_drill_down_links(page: Page, app_url,
                                                                              app_db):
    sign_in(page, app_url, "analyst")
    open_page(page, "Overview")

    by_status = _chart(page, "Cases by status")
    expect(by_status.locator(".role-axis-label text").first).to_be_attached()
    labels = _axis_labels(by_status)
    for status in CaseStatus:  # every status, whole: none dropped or cut short
        assert status.label in labels, labels
    assert not any(t.endswith("…") for t in labels), labels
    counts_axis = _axis_labels(by_status, "Cases")
    assert counts_axis and all(re.fullmatch(r"[\d,]+", t) for t in counts_axis), counts_axis

    decisions = page.get_by_test_id("stVegaLiteChart").filter(
        has=page.locator(".role-axis-title", has_text="Decisions")).first
    expect(decisions.locator(".role-axis-label text").first).to_be_attached()
    ticks = _axis_labels(decisions, "Decisions")
    assert ticks and all(re.fullmatch(r"[\d,]+", t) for t in ticks), ticks  # no 0.5 steps

    # every bar of "Cases by status" has a link to the Cases list filtered to it
    counts = status_counts(app_db)
    links = page.locator(".st-key-status_links")
    for status in CaseStatus:
        link = links.get_by_role("link", name=f"{status.label} ({counts[status.value]:,})")
        expect(link).to_have_count(1)
        assert link.evaluate("a => a.href") == f"{app_url}/?status={status.value}"
    view = list_views(app_db)[0]
    view_link = page.locator(".st-key-view_links").get_by_role("link", name=view.name, exact=True)
    assert view_link.evaluate("a => a.href") == f"{app_url}/?view={view.id}"
    review_link = page.locator(".st-key-ageing_links").get_by_role("link")
    assert review_link.evaluate("a => a.href") == (
        f"{app_url}/?status=manual_review&sort=created_at&order=asc")

    # a link opens the Cases list at that address (in a new tab, signed in by the cookie)
    with page.expect_popup() as opened:
        links.get_by_role("link", name=re.compile(r"^Manual review \(")).click()
    cases = opened.value
    expect(cases.get_by_role("heading", name="Cases")).to_be_visible()
    expect(cases).to_have_url(f"{app_url}/?status=manual_review")


def test_every_count_axis_of_the_overview_has_whole_ticks_and_every_label_whole():
    """The same property read off the charts' specs, whatever the data (with 1 to 4
    decisions a default axis ticks 0.5 or 0.2 steps; the browser test's data may not)."""
    import pandas as pd

    from ui.overview_charts import decisions_chart, horizontal_bars, throughput_chart, vertical_bars

    frame = pd.DataFrame({"Day": pd.to_datetime(["2026-01-01"]), "Action": ["Approve"],
                          "Decisions": [1], "Reviewer": ["r"], "Status": ["Manual review"],
                          "Cases": [1]})
    charts = [horizontal_bars(frame, "Status", "Cases", ["Manual review"], "t"),
              vertical_bars(frame, "Status", "Cases", ["Manual review"], "t"),
              decisions_chart(frame, ["Approve"]), throughput_chart(frame, ["r"], ["Approve"])]
    for chart in charts:
        spec = chart.to_dict()
        for layer in spec.get("layer", [spec]):
            for channel in ("x", "y"):
                encoding = layer["encoding"][channel]
                if encoding.get("type") == "quantitative" or "sum(" in encoding.get("field", ""):
                    assert encoding["axis"]["format"] == "d", encoding
                    assert encoding["axis"]["tickMinStep"] == 1, encoding
                elif encoding.get("type") == "nominal":
                    assert encoding["axis"]["labelLimit"] == 0, encoding
        assert spec["usermeta"]["embedOptions"]["renderer"] == "svg"
