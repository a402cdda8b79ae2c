"""Two things st.dataframe's canvas cannot be told from Python, done by a small script
(st.components.v2, static and trusted: it carries no case data and adds no HTML):

- Enter or Space on a focused cell opens that row's case. The grid only selects a row with
  Shift+Space; Enter and Space open its read-only cell overlay. The script catches the two
  keys on the case table (before the grid sees them) and reports the focused row, which the
  grid marks with aria-selected in its accessible copy of the table.
- The column menu of the case table offers no "Sort ascending/descending". That sort would
  reorder only the page on screen; the list sorts in the database instead (a header click, or
  the Sort box). Streamlit has no switch for these two menu items, so the script hides them
  in a menu opened from the case table.

And a third, `reveal_row`: the open case's row is scrolled into the grid's view when a case
is opened other than by a click on its row (Next case, the J/K keys, a link, Work the queue),
so its highlighted row is seen; once per table and case, so the reviewer's own scrolling is
left alone.
"""
from __future__ import annotations

import streamlit as st

from ui import list_state

_JS = r"""
export default function (component) {
  const { setTriggerValue, data } = component;
  const scope = `[class*="${data.scope}"]`;
  const cellId = /^glide-cell-\d+-(\d+)$/;
  let menuFromCaseTable = false;

  const onKeyDown = (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    if (event.shiftKey || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (!(target instanceof Element) || !["CANVAS", "TD"].includes(target.tagName)) return;
    const table = target.closest(scope);
    if (!table) return;
    const focused = table.querySelector("td[aria-selected='true']");
    const match = focused && cellId.exec(focused.id);
    if (!match) return;
    event.preventDefault();
    event.stopPropagation();
    setTriggerValue("open", Number(match[1]));
  };

  const onPointerDown = (event) => {
    const target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("[data-testid='stDataFrameColumnMenu']")) return;
    menuFromCaseTable = Boolean(target.closest(scope));
  };

  const hideSortItems = () => {
    if (!menuFromCaseTable) return;
    for (const menu of document.querySelectorAll("[data-testid='stDataFrameColumnMenu']")) {
      for (const item of menu.querySelectorAll("[role='menuitem']")) {
        if (/Sort (ascending|descending)\s*$/.test(item.textContent || "")) {
          item.style.display = "none";
        }
      }
    }
  };
  const observer = new MutationObserver(hideSortItems);
  observer.observe(document.body, { childList: true, subtree: true });
  document.addEventListener("keydown", onKeyDown, true);
  document.addEventListener("pointerdown", onPointerDown, true);
  return () => {
    observer.disconnect();
    document.removeEventListener("keydown", onKeyDown, true);
    document.removeEventListener("pointerdown", onPointerDown, true);
  };
}
"""

_component = st.components.v2.component("docket_case_table_keys", js=_JS)


def table_keys(scope: str) -> int | None:
    """Mounts the script for the tables whose widget key starts with `scope`; returns the row
    the reviewer opened with Enter or Space in this run (None otherwise)."""
    result = _component(key="case_table_keys", data={"scope": f"st-key-{scope}"},
                        height=0, width="content", on_open_change=list_state.acted)
    row = getattr(result, "open", None)
    return row if isinstance(row, int) and row >= 0 else None


_REVEAL_JS = r"""
export default function (component) {
  const { data } = component;
  if (!data || data.row === null || data.row === undefined) return;
  const token = `${data.table}|${data.case}`;
  if (window.__docketRevealed === token) return;
  let tries = 0;
  let timer = null;
  const reveal = () => {
    const scroller = document.querySelector(
      `.st-key-${data.table}:not([data-stale=true]) .dvn-scroller`);
    const needed = data.header + (data.row + 1) * data.rowHeight;
    if (!scroller || scroller.scrollHeight < needed) {
      if (++tries < 50) timer = setTimeout(reveal, 100);
      return;
    }
    window.__docketRevealed = token;
    const top = data.row * data.rowHeight;
    const seen = scroller.clientHeight - data.header;
    if (top < scroller.scrollTop || top + data.rowHeight > scroller.scrollTop + seen) {
      scroller.scrollTop = Math.max(0, top - Math.floor(seen / 2));
    }
  };
  reveal();
  return () => { if (timer) clearTimeout(timer); };
}
"""

_reveal = st.components.v2.component("docket_case_table_reveal", js=_REVEAL_JS)


def reveal_row(table_key: str, row: int | None, case_id: str | None, *, row_height: int,
               header: int) -> None:
    """Scrolls the table `table_key` so its row `row` (the open case's) is in view, once
    per table and case (None: nothing to show)."""
    _reveal(key="case_table_reveal", height=0, width="content",
            data={"table": table_key, "row": row, "case": case_id, "rowHeight": row_height,
                  "header": header})
