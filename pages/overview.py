"""Overview: the team lead's figures (cases by status and view, Manual review ageing,
decisions per day, reviewer throughput, approval rate, SLA breaches per day and per reviewer)
for a chosen period.

A thin page: every number comes from `core.worklist.overview` (SQL aggregates); this file only
lays them out as st.metric figures and the Altair charts of `ui.overview_charts`, each status,
view and the Manual review queue with a link to the Cases list filtered to it. No case data is
rendered as HTML.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.access.users import get_user
from core.cases.status import CaseAction, CaseStatus
from core.store.db import get_database
from core.worklist import overview as stats
from core.worklist.breaches import breaches_per_day, breaches_per_reviewer
from core.worklist.overdue import count_overdue
from core.worklist.query import CaseFilter
from ui.overview_charts import (
    BREACH_KINDS,
    breaches_per_day_chart,
    breaches_per_reviewer_chart,
    cases_links,
    decisions_chart,
    horizontal_bars,
    throughput_chart,
    vertical_bars,
)

ACTION_LABELS = {a.value: a.label for a in CaseAction}


def _signed_in_user():
    if st.session_state.get("authentication_status") is not True:
        return None
    username = st.session_state.get("username")
    if not username:
        return None
    user = get_user(get_database(), username)
    return None if user is None or user.disabled else user


st.title("Overview")

user = _signed_in_user()
if user is None:
    st.info("Sign in to see the overview.")
    st.stop()

db = get_database()  # one per URL and process, schema upgraded once
days = st.radio("Period", stats.PERIODS, index=1, horizontal=True, key="overview_period",
                format_func=lambda d: f"Last {d} days")

counts = stats.status_counts(db)
ageing = stats.manual_review_ageing(db)
rate = stats.approval_rate(db, days)
per_day = stats.decisions_per_day(db, days)
throughput = stats.reviewer_throughput(db, days)

over_7 = sum(n for label, n in ageing.items() if label in ("7-14d", "14-30d", ">30d"))
decided = sum(d.count for d in per_day)
overdue_now = count_overdue(db)
cols = st.columns(6)
cols[0].metric("Open cases", f"{stats.open_cases(counts):,}")
cols[1].metric("In manual review", f"{counts[CaseStatus.MANUAL_REVIEW.value]:,}")
cols[2].metric("Manual review > 7 days", f"{over_7:,}")
cols[3].metric(f"Decisions, last {days} days", f"{decided:,}")
cols[4].metric(f"Approval rate, last {days} days",
               "–" if rate.rate is None else f"{rate.rate:.0%}",
               help=f"{rate.approved} approved / {rate.approved + rate.rejected} approved or "
                    "rejected")
cols[5].metric("Overdue now", f"{overdue_now:,}",
               help="Open cases past the due time of their status's SLA")

left, right = st.columns(2)
with left:
    status_order = [s.label for s in CaseStatus]
    data = pd.DataFrame({"Status": [CaseStatus(s).label for s in counts],
                         "Cases": list(counts.values())})
    st.altair_chart(horizontal_bars(data, "Status", "Cases", status_order, "Cases by status"),
                    width="stretch", alt="Cases by status: " + ", ".join(
                        f"{CaseStatus(s).label} {n:,}" for s, n in counts.items()))
    cases_links("status_links", [(f"{CaseStatus(s).label} ({n:,})", {"status": s})
                                 for s, n in counts.items()])
with right:
    bucket_order = [label for label, _, _ in stats.AGEING_BUCKETS]
    data = pd.DataFrame({"Time in manual review": bucket_order,
                         "Cases": [ageing[b] for b in bucket_order]})
    st.altair_chart(vertical_bars(data, "Time in manual review", "Cases", bucket_order,
                                  "Manual review ageing"), width="stretch",
                    alt="Cases in Manual review by time in that status: " + ", ".join(
                        f"{b} {ageing[b]:,}" for b in bucket_order))
    in_review = counts[CaseStatus.MANUAL_REVIEW.value]
    cases_links("ageing_links", [(f"All in Manual review ({in_review:,}), oldest first",
                                  {"status": CaseStatus.MANUAL_REVIEW.value,
                                   "sort": "created_at", "order": "asc"})])

st.subheader(f"Decisions, last {days} days (UTC days)")
data = pd.DataFrame({"Day": [d.day for d in per_day],
                     "Action": [ACTION_LABELS.get(d.action, d.action) for d in per_day],
                     "Decisions": [d.count for d in per_day]})
data["Day"] = pd.to_datetime(data["Day"])
st.altair_chart(decisions_chart(data, list(ACTION_LABELS.values())), width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("Reviewer throughput")
    if not throughput:
        st.caption("No decisions in this period.")
    else:
        rows = [{"Reviewer": r.actor, "Action": ACTION_LABELS[a], "Decisions": n}
                for r in throughput
                for a, n in (("approve", r.approved), ("reject", r.rejected),
                             ("ask_for_reuploads", r.asked_reuploads))]
        st.altair_chart(throughput_chart(pd.DataFrame(rows), [r.actor for r in throughput],
                                         list(ACTION_LABELS.values())), width="stretch")
with right:
    st.subheader("Cases per view")
    views = stats.view_counts(db)
    if not views:
        st.caption("No views defined.")
    else:
        st.dataframe(pd.DataFrame({"View": [v.name for v in views],
                                   "Cases": [v.cases for v in views]}),
                     hide_index=True, width="stretch")
        cases_links("view_links", [(v.name, {"view": str(v.view_id)}) for v in views],
                    caption="Open a view in the Cases list (new tab):")

st.subheader(f"SLA breaches, last {days} days (UTC days)")
st.caption("A breach counts on the day its due time passed: still overdue (the case is still "
           "in that status), or left late (it moved on after its due time).")
per_day_breaches = breaches_per_day(db, days)
per_reviewer = breaches_per_reviewer(db, days)
left, right = st.columns(2)
with left:
    data = pd.DataFrame([{"Day": b.day, "Kind": kind, "Breaches": n} for b in per_day_breaches
                         for kind, n in zip(BREACH_KINDS, (b.open, b.late))])
    data["Day"] = pd.to_datetime(data["Day"])
    total = sum(b.total for b in per_day_breaches)
    st.altair_chart(breaches_per_day_chart(data), width="stretch",
                    alt=f"SLA breaches per day, last {days} days: {total:,} in all")
with right:
    if not per_reviewer:
        st.caption("No SLA breach in this period.")
    else:
        names = [r.assignee or "Unassigned" for r in per_reviewer]
        rows = [{"Reviewer": name, "Kind": kind, "Breaches": n}
                for name, r in zip(names, per_reviewer)
                for kind, n in zip(BREACH_KINDS, (r.open, r.late))]
        st.altair_chart(breaches_per_reviewer_chart(pd.DataFrame(rows), names),
                        width="stretch", alt="SLA breaches per reviewer: " + ", ".join(
                            f"{name} {r.total:,}" for name, r in zip(names, per_reviewer)))
overdue = {"overdue": "1", "sort": "due_at", "order": "asc"}
links = [(f"Overdue now ({overdue_now:,}), most overdue first", overdue)]
for label, assignee in (("Unassigned", "unassigned"), ("Mine", "me")):
    n = count_overdue(db, CaseFilter(assignee=assignee, me=user.username))
    if n:
        links.append((f"{label}, overdue ({n:,})", {**overdue, "assignee": assignee}))
cases_links("breach_links", links)
