"""The preview's Screening blocks: one expander per subject (the entity, then each UBO) with
its hits as a table, then each hit's decision: its state, "cleared before by X on DATE:
reason" for a decision carried from an earlier hit, the disposition form (true match, false
positive, needs information, with a reason) and a lead's sign-off of a true match. A lead or
admin also gets one form to disposition several open hits with one reason.

Everything shown comes from `CaseDetail.screening` (core/cases/hits_read.py): each control is
enabled or off with the core's reason, shown under it; the commands are core/screening's.
Hit data comes from vendors and applicants: it is shown in tables and as text, never as HTML.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.access.users import UserInfo
from core.cases.actions import MAX_REASON
from core.cases.hits_read import HitView, ScreeningSubject
from core.cases.read import CaseDetail
from core.cases.status import HitDisposition
from core.cases.subjects import edit_subject
from core.errors import DocketError
from core.screening.dispositions import (
    BulkDispositionResult,
    bulk_disposition,
    disposition_hit,
    sign_off_true_match,
)
from core.store.db import Database
from ui.actions import attempt, changes_since, fail, show_outcome
from ui.case_list import refresh_counts
from ui.limits import up_to
from ui.text import esc, when

DISPOSITIONS = [d.value for d in HitDisposition]
LABELS = {d.value: d.label for d in HitDisposition}
BULK_WHERE = "hits_bulk"
BULK_RESULT_KEY = "hits_bulk_result"


def _where(hit_id: int) -> str:
    return f"hit_{hit_id}"


def _sentence(text: str) -> str:
    """The core's words as a sentence: the first letter up, the rest as written."""
    return text[:1].upper() + text[1:]


def _listed(values) -> str:
    return ", ".join(str(v) for v in values or [])


def _table(hits: list[HitView]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Entry": h.entry.get("name", ""), "List": h.dataset, "Score": h.score,
        "Matched": _listed(h.matched_fields), "Aliases": _listed(h.entry.get("aliases")),
        "Born": _listed(h.entry.get("birth_dates")),
        "Countries": _listed(h.entry.get("countries")),
        "Programme": h.entry.get("programme") or "", "State": h.state_label,
        "First seen": h.first_seen_at, "Source": h.source, "Entry ID": h.entry_id,
    } for h in hits])


# --- commands -------------------------------------------------------------------------------

def _disposition(db: Database, actor: str, detail: CaseDetail, hit_id: int) -> None:
    chosen = st.session_state.get(f"hit_disp_{hit_id}")
    reason = st.session_state.get(f"hit_reason_{hit_id}") or ""
    if not chosen:
        fail("Choose a disposition first.", where=_where(hit_id))
        return
    case_id, version = detail.id, detail.version
    attempt(lambda: disposition_hit(db, hit_id, chosen, reason, actor=actor,
                                    expected_version=version, case_id=case_id),
            f"Hit marked {LABELS[chosen].lower()}.", where=_where(hit_id),
            changes=changes_since(db, detail))


def _sign_off(db: Database, actor: str, detail: CaseDetail, hit_id: int) -> None:
    case_id, version = detail.id, detail.version
    attempt(lambda: sign_off_true_match(db, hit_id, actor=actor, expected_version=version,
                                        case_id=case_id),
            "True match signed off.", where=_where(hit_id), changes=changes_since(db, detail))


def _bulk(db: Database, actor: str) -> None:
    ids = list(st.session_state.get("hits_bulk_ids") or [])
    chosen = st.session_state.get("hits_bulk_disp")
    reason = st.session_state.get("hits_bulk_reason") or ""
    if not ids or not chosen:
        fail("Choose the hits and a disposition first.", where=BULK_WHERE)
        return
    try:
        st.session_state[BULK_RESULT_KEY] = bulk_disposition(db, ids, chosen, reason,
                                                             actor=actor)
    except DocketError as e:
        fail(str(e).split("\n", 1)[0], where=BULK_WHERE)
    else:
        refresh_counts()


def _bulk_result() -> None:
    result: BulkDispositionResult | None = st.session_state.pop(BULK_RESULT_KEY, None)
    if result is None:
        return
    (st.warning if result.refused else st.success)(esc(result.summary()) + ".")
    for hit_id, why in result.refused:  # as text: the core's words name case data
        st.text(f"Hit {hit_id}: {why}", width="stretch")


# --- drawing --------------------------------------------------------------------------------

def _decision(hit: HitView) -> None:
    st.markdown(f"**{esc(hit.entry.get('name'))}** · {esc(hit.dataset)} · "
                f"{esc(hit.state_label)}")
    if hit.carried_note:  # as text: the reason is someone's words
        st.text(_sentence(hit.carried_note), width="stretch")
    elif hit.disposition:
        st.caption(f"{esc(LABELS.get(hit.disposition, hit.disposition))} by "
                   f"{esc(hit.disposed_by)} on {when(hit.disposed_at)}")
        if hit.reason:
            st.text(f"Reason: {hit.reason}", width="stretch")
    if hit.signed_off_by:
        st.caption(f"Signed off by {esc(hit.signed_off_by)} on {when(hit.signed_off_at)}")
    if hit.entry.get("url"):
        st.text(f"Entry: {hit.entry['url']}", width="stretch")


def _controls(db: Database, user: UserInfo, detail: CaseDetail, hit: HitView) -> None:
    if hit.gone_at is not None:
        st.caption(f"No longer returned since {when(hit.gone_at)}: it blocks nothing.")
        return
    with st.form(f"hit_form_{hit.id}", border=False):
        row = st.container(horizontal=True, vertical_alignment="bottom")
        with row:
            st.selectbox("Disposition", DISPOSITIONS, key=f"hit_disp_{hit.id}",
                         index=DISPOSITIONS.index(hit.disposition)
                         if hit.disposition in DISPOSITIONS else None,
                         format_func=LABELS.get, placeholder="Choose…", width=220,
                         disabled=not hit.can_disposition)
            st.text_input("Reason", key=f"hit_reason_{hit.id}",
                          disabled=not hit.can_disposition,
                          help="Required for true match and false positive: later screenings "
                               f"that return this entry for this person show it. "
                               f"{up_to(MAX_REASON)}")
            st.form_submit_button("Save decision", disabled=not hit.can_disposition,
                                  help=hit.disposition_note or None, on_click=_disposition,
                                  args=(db, user.username, detail, hit.id))
    if hit.disposition_note:  # why it is off, in words (the tooltip says it too)
        st.caption(esc(_sentence(hit.disposition_note)))
    if hit.state == "awaiting_sign_off":
        st.button("Sign off true match", key=f"hit_signoff_{hit.id}",
                  icon=":material/verified:", disabled=not hit.can_sign_off,
                  help=hit.sign_off_note or None, on_click=_sign_off,
                  args=(db, user.username, detail, hit.id))
        if hit.sign_off_note:
            st.caption(esc(_sentence(hit.sign_off_note)))


def _subject_where(subject: ScreeningSubject) -> str:
    return f"subject_{subject.key.replace(':', '_')}"


def _correct(db: Database, actor: str, detail: CaseDetail, subject: ScreeningSubject,
             fields: dict[str, str]) -> None:
    k = _subject_where(subject)
    changes = {f: (st.session_state.get(f"{k}_{f}") or "").strip() for f in fields}
    changes = {f: v for f, v in changes.items() if v != fields[f]}
    if not changes:
        fail("Nothing was changed.", where=k)
        return
    case_id, version = detail.id, detail.version
    attempt(lambda: edit_subject(db, case_id, subject.key, changes, actor=actor,
                                 expected_version=version),
            "Subject data corrected; the case is screened again against the lists.",
            where=k, changes=changes_since(db, detail))


def _correction_form(db: Database, user: UserInfo, detail: CaseDetail,
                     subject: ScreeningSubject) -> None:
    """Correcting the name, country or birth date a screening matches against (a typo, a
    date read off the passport): the assignee, while the case is editable."""
    if not detail.can_edit:
        return
    k = _subject_where(subject)
    if subject.kind == "entity":
        fields = {"name": subject.name, "country": subject.country}
        labels = {"name": "Name", "country": "Country (2-letter code)"}
    else:
        fields = {"full_name": subject.name, "date_of_birth": subject.birth_date,
                  "nationality": subject.country}
        labels = {"full_name": "Full name", "date_of_birth": "Date of birth (YYYY-MM-DD)",
                  "nationality": "Nationality (2-letter code)"}
    with st.popover("Correct subject data", icon=":material/edit:"):
        with st.form(f"{k}_form", border=False):
            for field, value in fields.items():
                st.text_input(labels[field], value=value, key=f"{k}_{field}")
            st.form_submit_button("Save and screen again", on_click=_correct,
                                  args=(db, user.username, detail, subject, fields))
    show_outcome(k)


def _subject(db: Database, user: UserInfo, detail: CaseDetail, subject: ScreeningSubject) -> None:
    n = subject.open_hits
    state = (f"{n} open" if n else "no open hits") if subject.hits else "no hits"
    who = "Entity" if subject.kind == "entity" else "UBO"
    with st.expander(f"Screening · {who} · {esc(subject.name)} · {state}",
                     icon=":material/policy:", key=f"screening_{subject.key.replace(':', '_')}"):
        _correction_form(db, user, detail, subject)
        if not subject.hits:
            st.caption("No screening hit for this subject.")
            return
        st.dataframe(_table(subject.hits), hide_index=True, width="stretch",
                     column_config={"Score": st.column_config.NumberColumn(format="%d"),
                                    "First seen": st.column_config.DatetimeColumn(
                                        format="YYYY-MM-DD HH:mm")})
        for hit in subject.hits:
            with st.container(border=True, key=f"hit_{hit.id}"):
                _decision(hit)
                _controls(db, user, detail, hit)
                show_outcome(_where(hit.id))


def _bulk_form(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    open_hits = [h for s in detail.screening for h in s.hits if h.is_open and h.can_disposition]
    if not detail.can_bulk_disposition or len(open_hits) < 2:
        return
    # unique labels: a multiselect tells its options apart by their label
    names = {h.id: f"#{h.id} {h.entry.get('name', '')} · {h.dataset} · {h.entry_id}"
             for h in open_hits}
    with st.form("hits_bulk_form", border=True):
        st.markdown("**Disposition several hits** (one reason for all)")
        st.multiselect("Hits", list(names), key="hits_bulk_ids", format_func=names.get)
        row = st.container(horizontal=True, vertical_alignment="bottom")
        with row:
            st.selectbox("Disposition", DISPOSITIONS, key="hits_bulk_disp", index=None,
                         format_func=LABELS.get, placeholder="Choose…", width=220)
            st.text_input("Reason", key="hits_bulk_reason", help=up_to(MAX_REASON))
            st.form_submit_button("Disposition selected", on_click=_bulk,
                                  args=(db, user.username))


def screening_block(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    """The case's Screening blocks, once it has a hit or the built-in screener has a list
    (then every case is screened, and "no hits" is an answer); otherwise none."""
    if not detail.screening_lists and not any(subject.hits for subject in detail.screening):
        return
    for subject in detail.screening:
        _subject(db, user, detail, subject)
    _bulk_form(db, user, detail)
    show_outcome(BULK_WHERE)
    _bulk_result()
