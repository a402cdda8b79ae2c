"""The Overview page's charts and their drill-down links.

Counts are whole numbers, so every count axis has whole ticks (`tickMinStep=1`, format "d").
Categories with long names ("Pending ID verification") are horizontal bars with the whole
label. Charts are drawn as SVG, so their labels are text a screen reader and a test can read.

Each bar that a Cases list filter can express has a link that opens the Cases list filtered to
it, with the list's query parameters (`view=ID`, `status=VALUE` (repeatable), `assignee=`,
`q=`, `from=`/`to=` YYYY-MM-DD, `sort=`, `order=`), at the Cases page's address (the
default page, `/`). The links carry the app's absolute address (from the browser's URL), so
they open in a new tab and copy as the right URL.
"""
from __future__ import annotations

from typing import Iterable, Mapping
from urllib.parse import urlencode, urljoin

import altair as alt
import pandas as pd
import streamlit as st

from ui.text import esc

SVG = {"embedOptions": {"renderer": "svg"}}
BAR_SIZE = 26  # px per bar of a horizontal bar chart (a fixed height would squeeze the bars)


def count_axis(title: str) -> alt.Axis:
    return alt.Axis(title=title, format="d", tickMinStep=1)


def horizontal_bars(data: pd.DataFrame, category: str, value: str, order: list[str],
                    title: str) -> alt.LayerChart:
    """One bar per category, labels whole on the left, the count at the end of each bar."""
    y = alt.Y(f"{category}:N", sort=order, title=None, axis=alt.Axis(labelLimit=0))
    x = alt.X(f"{value}:Q", axis=count_axis(value), scale=alt.Scale(nice=True))
    base = alt.Chart(data, title=title).encode(
        y=y, x=x, tooltip=[alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{value}:Q", format=",d")])
    bars = base.mark_bar()
    counts = base.mark_text(align="left", dx=4).encode(text=alt.Text(f"{value}:Q", format=",d"))
    return (bars + counts).properties(height=alt.Step(BAR_SIZE), usermeta=SVG)


def vertical_bars(data: pd.DataFrame, category: str, value: str, order: list[str],
                  title: str) -> alt.Chart:
    """Short category names (ageing buckets): upright bars, whole counts."""
    return (alt.Chart(data, title=title).mark_bar()
            .encode(x=alt.X(f"{category}:N", sort=order, title=None,
                            axis=alt.Axis(labelAngle=0, labelLimit=0)),
                    y=alt.Y(f"{value}:Q", axis=count_axis(value)),
                    tooltip=[alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{value}:Q")])
            .properties(usermeta=SVG))


def decisions_chart(data: pd.DataFrame, actions: list[str]) -> alt.Chart:
    return (alt.Chart(data).mark_bar()
            .encode(x=alt.X("yearmonthdate(Day):T", title=None),
                    y=alt.Y("sum(Decisions):Q", axis=count_axis("Decisions")),
                    color=alt.Color("Action:N", sort=actions),
                    tooltip=[alt.Tooltip("yearmonthdate(Day):T", title="Day"),
                             alt.Tooltip("Action:N"), alt.Tooltip("sum(Decisions):Q")])
            .properties(usermeta=SVG))


def throughput_chart(data: pd.DataFrame, reviewers: list[str], actions: list[str]) -> alt.Chart:
    return (alt.Chart(data).mark_bar()
            .encode(y=alt.Y("Reviewer:N", sort=reviewers, title=None,
                            axis=alt.Axis(labelLimit=0)),
                    x=alt.X("sum(Decisions):Q", axis=count_axis("Decisions")),
                    color=alt.Color("Action:N", sort=actions),
                    tooltip=["Reviewer:N", "Action:N", "sum(Decisions):Q"])
            .properties(height=alt.Step(BAR_SIZE), usermeta=SVG))


# --- drill-down links ---------------------------------------------------------------------------

def cases_url(params: Mapping[str, str | Iterable[str]]) -> str:
    """The Cases list's address with these query parameters: absolute when the browser's URL
    is known (pages are one level under the app's root), else from the root (`/?...`)."""
    query = urlencode({k: v if isinstance(v, str) else list(v) for k, v in params.items()},
                      doseq=True)
    here = st.context.url
    root = urljoin(here, "./") if here and here.startswith(("http://", "https://")) else "/"
    return f"{root}?{query}"


def cases_links(key: str, links: list[tuple[str, Mapping[str, str | Iterable[str]]]],
                caption: str = "Open in the Cases list (new tab):") -> None:
    """A row of links (label, query parameters) to the Cases list, each opening a new tab
    (no help tooltip: Streamlit would draw a hidden second copy of each link)."""
    if caption:
        st.caption(caption)
    with st.container(key=key, horizontal=True, gap="small"):
        for label, params in links:
            url = cases_url(params)
            if url.startswith("/"):  # no browser URL (a test harness): a root-relative link
                st.link_button(esc(label), url)
            else:
                st.page_link(url, label=esc(label), icon=":material/open_in_new:")


# --- SLA breaches -------------------------------------------------------------------------------

BREACH_KINDS = ("Still overdue", "Left late")  # open, late (core/worklist/breaches.py)
BREACH_COLORS = ("#d62728", "#ff9896")


def _breach_color() -> alt.Color:
    return alt.Color("Kind:N", sort=list(BREACH_KINDS), title=None,
                     scale=alt.Scale(domain=list(BREACH_KINDS), range=list(BREACH_COLORS)),
                     legend=alt.Legend(orient="top"))


def breaches_per_day_chart(data: pd.DataFrame) -> alt.Chart:
    """Breaches per UTC day (Day, Kind, Breaches), stacked: still overdue, left late."""
    return (alt.Chart(data, title="Breaches per day").mark_bar()
            .encode(x=alt.X("yearmonthdate(Day):T", title=None,
                            axis=alt.Axis(format="%b %d", labelAngle=0)),
                    y=alt.Y("sum(Breaches):Q", axis=count_axis("Breaches")),
                    color=_breach_color(), order=alt.Order("Kind:N", sort="descending"),
                    tooltip=[alt.Tooltip("yearmonthdate(Day):T", title="Day"),
                             alt.Tooltip("Kind:N"), alt.Tooltip("sum(Breaches):Q", format=",d")])
            .properties(usermeta=SVG))


def breaches_per_reviewer_chart(data: pd.DataFrame, reviewers: list[str]) -> alt.LayerChart:
    """One horizontal bar per reviewer (Reviewer, Kind, Breaches), whole labels on the left,
    the reviewer's total at the end of the bar."""
    y = alt.Y("Reviewer:N", sort=reviewers, title=None, axis=alt.Axis(labelLimit=0))
    bars = (alt.Chart(data).mark_bar()
            .encode(y=y, x=alt.X("sum(Breaches):Q", axis=count_axis("Breaches"),
                                 scale=alt.Scale(nice=True)),
                    color=_breach_color(), order=alt.Order("Kind:N", sort="descending"),
                    tooltip=["Reviewer:N", "Kind:N", alt.Tooltip("sum(Breaches):Q", format=",d")]))
    totals = (alt.Chart(data).mark_text(align="left", dx=4)
              .encode(y=y, x=alt.X("sum(Breaches):Q"),
                      text=alt.Text("sum(Breaches):Q", format=",d")))
    return (bars + totals).properties(title="Breaches per reviewer (assignee then)",
                                      height=alt.Step(BAR_SIZE), usermeta=SVG)
