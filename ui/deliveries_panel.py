"""The Deliveries page's widgets: counts per state; every notification, filtered by status,
channel, endpoint or case and paged in SQL (50 a page, newest first, fast at 1M deliveries:
docs/PERFORMANCE.md), with the attempts of the one selected and "Replay"; "Replay all failed";
endpoint health; and the webhook endpoints — add one (its secret shown once), disable/enable,
rotate its secret. Every call goes through `core.notifications` (admin-only there too).
Secrets are never shown after the one run that created them."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.notifications import deliveries as dl
from core.notifications import endpoints as ep
from core.notifications.circuit_board import circuits_to_show, describe
from core.notifications.outbox import EVENT_TYPES
from core.store.db import Database
from core.workflows.admin import list_workflows
from ui.admin import flash, show_error
from ui.limits import cut_to_limit, refuse_too_long, show_cut_note, up_to
from ui.text import count_of, esc, plain, when

TABLE_KEY = "dl_table_key"        # the table's widget key, new for each filter (no stale row)
SECRET_KEY = "dl_new_secret"       # (what, secret): shown at the next run, then forgotten
EMPTY_NEXT_RUN = "dl_empty_next_run"  # an endpoint was added: empty the form before drawing it
ALL = "All"
PAGE_SIZE = 50
PAGE_KEY = "dl_page"               # the page of the deliveries list shown
# characters: the endpoint's URL and description as stored (their columns), a disabling
# reason, a case id to filter by
MAX_URL, MAX_DESCRIPTION, MAX_REASON, MAX_CASE_ID = 2000, 200, 200, 64


def counted(n: int) -> str:
    """A count made up to the cap (core.notifications.deliveries.COUNT_CAP): "10,000+"
    beyond it."""
    return f"{dl.COUNT_CAP:,}+" if n > dl.COUNT_CAP else f"{n:,}"


def state_counts(db: Database) -> None:
    counts = dl.count_deliveries(db, cap=dl.COUNT_CAP)
    for column, state in zip(st.columns(len(dl.STATES)), dl.STATES):
        column.metric(state.capitalize(), counted(counts[state]))


def show_new_secret() -> None:
    """The secret of an endpoint just created or rotated: this once, never again."""
    shown = st.session_state.pop(SECRET_KEY, None)
    if shown is None:
        return
    what, secret = shown
    with st.container(border=True):
        st.warning(f"{what} Copy its signing secret now: it will not be shown again.",
                   icon=":material/key:")
        st.code(secret, language=None)


def _attempt(fn, success: str) -> None:
    try:
        result = fn()
    except DocketError as e:
        show_error(e)
        return
    flash(success.format(result=result))
    st.rerun()


# --- deliveries ---------------------------------------------------------------------------

def _filters(endpoints: list[ep.EndpointInfo]) -> dict:
    """The list's filters, as `core.notifications.deliveries.delivery_page` takes them."""
    by_id = {e.id: e for e in endpoints}
    state, channel, endpoint, case = st.columns([1, 1, 2, 1.4])
    status = state.selectbox("Status", [ALL, *dl.STATES], key="dl_status",
                             on_change=_first_page)
    chosen_channel = channel.selectbox("Channel", [ALL, *dl.CHANNELS], key="dl_channel",
                                       on_change=_first_page)
    endpoint_id = endpoint.selectbox("Endpoint", [ALL, *by_id], key="dl_endpoint",
                                     on_change=_first_page,
                                     format_func=lambda i: i if i == ALL else
                                     f"#{i} {by_id[i].url}")
    case_id = case.text_input("Case", key="dl_case", placeholder="case id",
                              on_change=cut_to_limit("dl_case", MAX_CASE_ID, "Case",
                                                     then=_first_page))
    show_cut_note("dl_case", case)
    return {"status": None if status == ALL else status,
            "channel": None if chosen_channel == ALL else chosen_channel,
            "endpoint_id": None if endpoint_id == ALL else endpoint_id,
            "case_id": case_id.strip() or None}


def _first_page() -> None:
    st.session_state[PAGE_KEY] = 1


def _deliveries_frame(rows: list[dl.DeliveryInfo]) -> pd.DataFrame:
    columns = ["ID", "Created", "Case", "Event", "Channel", "Target", "State", "Attempts",
               "Last status", "Last error", "Next attempt"]
    return pd.DataFrame([{
        "ID": d.id, "Created": when(d.created_at), "Case": d.case_id, "Event": d.event_type,
        "Channel": d.channel, "Target": d.endpoint_url or d.target, "State": d.state,
        "Attempts": d.attempts,
        "Last status": "" if d.last_status_code is None else str(d.last_status_code),
        "Last error": plain(d.last_error), "Next attempt": when(d.next_attempt_at)
        if d.next_attempt_at else "",
    } for d in rows], columns=columns)


def _selected(rows: list[dl.DeliveryInfo]) -> dl.DeliveryInfo | None:
    selection = (st.session_state.get(st.session_state[TABLE_KEY]) or {}).get("selection") or {}
    picked = selection.get("rows") or []
    return rows[picked[0]] if picked and picked[0] < len(rows) else None


def deliveries_section(db: Database, user: UserInfo, endpoints: list[ep.EndpointInfo]) -> None:
    flt = _filters(endpoints)
    failed = dl.count_deliveries(db, endpoint_id=flt["endpoint_id"], cap=dl.COUNT_CAP)["failed"]
    if st.button(f"Replay all failed ({counted(failed)})", key="dl_replay_failed",
                 icon=":material/replay:", disabled=failed == 0,
                 help="Send every failed delivery (of the chosen endpoint) again (same "
                      "webhook-id, fresh retry schedule); deliveries to a disabled endpoint "
                      "are left alone"):
        _attempt(lambda: dl.replay_failed(db, actor=user.username,
                                          endpoint_id=flt["endpoint_id"]),
                 "{result} failed deliveries queued again.")
    try:
        result = dl.delivery_page(db, actor=user.username, page=st.session_state.get(PAGE_KEY, 1),
                                  page_size=PAGE_SIZE, count_cap=dl.COUNT_CAP, **flt)
        if result.rows == [] and result.page > result.pages:  # the list got shorter
            result = dl.delivery_page(db, actor=user.username, page=result.pages,
                                      page_size=PAGE_SIZE, count_cap=dl.COUNT_CAP, **flt)
    except DocketError as e:
        show_error(e)
        return
    st.session_state[PAGE_KEY] = result.page
    first = (result.page - 1) * result.page_size + 1 if result.total else 0
    last = first + len(result.rows) - 1 if result.rows else 0
    total = f"{result.total:,}+" if result.total_capped else f"{result.total:,}"
    noun = "delivery" if total == "1" else "deliveries"
    st.caption(f"**{total} {noun}**, newest first · showing {first:,}–{last:,}. "
               "Select a row for its attempts." if result.total else "No deliveries match.")
    st.session_state[TABLE_KEY] = (f"dl_table_{flt['status']}_{flt['channel']}_"
                                   f"{flt['endpoint_id']}_{flt['case_id']}_{result.page}")
    st.dataframe(_deliveries_frame(result.rows), hide_index=True, width="stretch",
                 key=st.session_state[TABLE_KEY],
                 on_select="rerun", selection_mode="single-row")
    _pager(result)
    chosen = _selected(result.rows)
    if chosen is not None:
        delivery_detail(db, user, chosen)


def _pager(result: dl.DeliveryPage) -> None:
    if result.pages <= 1:
        return
    back, label, forward = st.columns([1, 2, 1], vertical_alignment="center")

    def go(page: int):
        return lambda: st.session_state.__setitem__(PAGE_KEY, page)
    back.button("Previous", key="dl_page_previous", icon=":material/chevron_left:",
                disabled=result.page <= 1, on_click=go(result.page - 1), width="stretch")
    more = "+" if result.total_capped else ""
    label.markdown(f"Page {result.page:,} of {max(result.pages, result.page):,}{more}")
    forward.button("Next", key="dl_page_next", icon=":material/chevron_right:",
                   disabled=result.page >= result.pages and not result.total_capped,
                   on_click=go(result.page + 1),
                   width="stretch")


def delivery_detail(db: Database, user: UserInfo, d: dl.DeliveryInfo) -> None:
    with st.container(border=True):
        st.subheader(f"Delivery {d.id} · {d.event_type} · {d.state}", anchor=False)
        st.caption(f"webhook-id {d.message_id} · case {d.case_id} · {d.channel} to "
                   f"{d.endpoint_url or d.target}")
        attempts = dl.delivery_attempts(db, d.id)
        if attempts:
            st.dataframe(pd.DataFrame([{
                "#": a.number, "Started": when(a.started_at), "Duration ms": a.duration_ms,
                "Status": "" if a.status_code is None else str(a.status_code),
                "Outcome": a.outcome, "Response": a.response_excerpt, "Error": plain(a.error),
                "Next attempt": when(a.next_attempt_at) if a.next_attempt_at else "",
                "Worker": a.worker} for a in attempts]), hide_index=True, width="stretch",
                key="dl_attempts")
        else:
            st.caption("No attempt yet." if d.state == "pending" else
                       f"No attempt: {plain(d.last_error)}")
        why_not = ("still pending" if d.state == "pending" else
                   "it had no endpoint to go to" if d.target == "webhook" else "")
        if st.button("Replay", key="dl_replay", icon=":material/replay:", disabled=bool(why_not),
                     help=f"Not now: {why_not}" if why_not else
                     "Send it again (same webhook-id, fresh retry schedule)"):
            _attempt(lambda: dl.replay_delivery(db, d.id, actor=user.username),
                     f"Delivery {d.id} queued again.")


# --- endpoints ----------------------------------------------------------------------------

def endpoint_health_table(db: Database, health: list[dl.EndpointHealth]) -> None:
    if not health:
        st.caption("No webhook endpoint yet: add one below.")
        return
    # every worker's circuit breakers (reported through the database) and this app server's
    circuit = circuits_to_show(db)

    def circuit_of(endpoint_id: int) -> str:
        return describe(circuit.get(f"endpoint:{endpoint_id}"))

    st.dataframe(pd.DataFrame([{
        "ID": h.endpoint.id, "URL": h.endpoint.url, "Workflow": h.endpoint.workflow or "all",
        "Events": ", ".join(h.endpoint.event_types) or "all",
        "Enabled": h.endpoint.enabled,
        "Disabled because": plain(h.endpoint.disabled_reason),
        "Circuit": circuit_of(h.endpoint.id),
        "Failing since": when(h.endpoint.failing_since) if h.endpoint.failing_since else "",
        "Pending": h.pending, "Delivered": h.delivered, "Failed": h.failed,
        "Last delivered": when(h.last_delivered_at) if h.last_delivered_at else "",
        "Last error": plain(h.last_error), "Secrets": h.endpoint.active_secrets,
    } for h in health]), hide_index=True, width="stretch", key="dl_health")


def manage_endpoint(db: Database, user: UserInfo, endpoints: list[ep.EndpointInfo]) -> None:
    by_id = {e.id: e for e in endpoints}
    with st.container(border=True):
        st.markdown("**Manage an endpoint**")
        if not by_id:
            st.caption("No endpoint to manage.")
            return
        endpoint_id = st.selectbox("Endpoint", list(by_id), key="dl_manage",
                                   format_func=lambda i: f"#{i} {by_id[i].url}")
        e = by_id[endpoint_id]
        st.caption(("Enabled" if e.enabled else f"Disabled: {esc(e.disabled_reason)}")
                   + f" · {count_of(e.active_secrets, 'signing secret')}")
        if e.enabled:
            reason = st.text_input("Reason for disabling", key="dl_disable_reason",
                                   help=up_to(MAX_REASON))
            if st.button("Disable", key="dl_disable", icon=":material/block:",
                         help="Its waiting deliveries fail; replay them after enabling it") \
                    and not refuse_too_long({"Reason for disabling": (reason, MAX_REASON)}):
                _attempt(lambda: ep.disable_endpoint(db, e.id, actor=user.username,
                                                     reason=reason.strip() or None),
                         f"Endpoint #{e.id} disabled.")
        elif st.button("Enable", key="dl_enable", icon=":material/check_circle:"):
            _attempt(lambda: ep.enable_endpoint(db, e.id, actor=user.username),
                     f"Endpoint #{e.id} enabled; replay its failed deliveries if needed.")
        left, right = st.columns(2)
        if left.button("Rotate secret", key="dl_rotate", icon=":material/key:",
                       help="A new secret signs from now on; the previous ones keep signing "
                            "too until you drop them"):
            try:
                secret = ep.rotate_secret(db, e.id, actor=user.username)
            except DocketError as error:
                show_error(error)
            else:
                st.session_state[SECRET_KEY] = (f"Endpoint #{e.id} has a new secret.", secret)
                flash(f"Secret of endpoint #{e.id} rotated.")
                st.rerun()
        if right.button("Drop previous secrets", key="dl_drop_secrets",
                        disabled=e.active_secrets < 2,
                        help="Once the receiver uses the new secret"):
            _attempt(lambda: ep.drop_previous_secrets(db, e.id, actor=user.username),
                     f"Endpoint #{e.id} now signs with its newest secret only.")


def add_endpoint_form(db: Database, user: UserInfo) -> None:
    workflows = [w["name"] for w in list_workflows(db)]
    if st.session_state.pop(EMPTY_NEXT_RUN, False):  # set before the widgets are drawn
        st.session_state.update(dl_new_url="", dl_new_description="", dl_new_events=[])
    with st.form("dl_add", border=True):
        st.markdown("**Add an endpoint**")
        url = st.text_input("URL", key="dl_new_url", help=up_to(MAX_URL),
                            placeholder="https://example.com/webhooks/docket")
        workflow = st.selectbox("Workflow", [ALL, *workflows], key="dl_new_workflow")
        events = st.multiselect("Event types (none: all)", list(EVENT_TYPES.values()),
                                key="dl_new_events")
        description = st.text_input("Description", key="dl_new_description",
                                    help=up_to(MAX_DESCRIPTION))
        if st.form_submit_button("Add endpoint", type="primary", icon=":material/add_link:") \
                and not refuse_too_long({"URL": (url, MAX_URL),
                                         "Description": (description, MAX_DESCRIPTION)}):
            try:
                created = ep.create_endpoint(db, url, actor=user.username,
                                             workflow=None if workflow == ALL else workflow,
                                             event_types=events, description=description)
            except DocketError as e:
                show_error(e)
            else:
                st.session_state[SECRET_KEY] = (f"Endpoint #{created.endpoint.id} added.",
                                                created.secret)
                st.session_state[EMPTY_NEXT_RUN] = True  # (popping the keys would leave
                # the typed text in the browser's fields)
                flash(f"Endpoint #{created.endpoint.id} added.")
                st.rerun()
