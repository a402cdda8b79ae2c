"""Single-use download links of the CSV export (core/worklist/export_links.py): only the
token's hash is stored, a link works once and for 10 minutes, the user is checked again when
it is used, a refusal writes nothing, and the export is audited."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from core.access import users
from core.errors import InvalidInput, NotAllowed
from core.store.db import Database
from core.store.models import AuditEvent, User, utcnow
from core.store.worklist_models import ExportLink
from core.worklist.export import export_cases
from core.worklist.export_links import (
    EXPIRES_AFTER,
    InvalidExportLink,
    create_export_link,
    download_url,
    redeem_export_link,
    token_hash,
)
from core.worklist.query import CaseFilter
from core.worklist.views import ensure_default_views, find_view
from tests.factories import make_case


def _links(db) -> list[ExportLink]:
    with db.read() as s:
        return list(s.scalars(select(ExportLink)))


def _exports(db) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.kind == "cases.exported")))


def _refused(db, token: str) -> str:
    with pytest.raises(InvalidExportLink) as e:
        redeem_export_link(db, token)
    return e.value.reason


def test_a_link_stores_only_the_tokens_hash_and_expires_in_ten_minutes(db):
    before = utcnow()
    token = create_export_link(db, actor="analyst", flt=CaseFilter(), sort="name",
                               descending=False)
    assert len(token) >= 43  # secrets.token_urlsafe(32)
    assert download_url(token) == f"/downloads/cases.csv?t={token}"
    [link] = _links(db)
    assert link.token_hash == token_hash(token) != token
    assert token not in repr(link.filters)
    assert (link.username, link.sort, link.descending, link.used_at) == \
        ("analyst", "name", False, None)
    assert before + EXPIRES_AFTER <= link.expires_at <= utcnow() + EXPIRES_AFTER
    assert create_export_link(db, actor="analyst", flt=CaseFilter()) != token  # random


def test_redeeming_gives_back_the_list_once_and_audits_it(db):
    with db.unit_of_work() as s:
        ensure_default_views(s)
    make_case(db, "HK-1", country="HK")
    make_case(db, "GB-1", country="GB")
    flt = CaseFilter(view=find_view(db, "Hong Kong companies"), statuses=("manual_review",),
                     assignee="unassigned", me="reviewer", search="acme",
                     workflows=("onboarding",), tags=(), created_from=date(2020, 1, 1),
                     created_to=date(2099, 1, 1), overdue=False)
    token = create_export_link(db, actor="reviewer", flt=flt, sort="name", descending=False)
    asked = redeem_export_link(db, token)
    assert asked == ("reviewer", flt, "name", False)
    assert asked.flt == flt  # the view too, as it was when the link was made
    text = "".join(export_cases(db, asked.flt, actor=asked.actor, sort=asked.sort,
                                descending=asked.descending))
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["HK-1"]

    [link] = _links(db)
    assert link.used_at is not None
    [event] = _exports(db)
    assert (event.actor, event.case_id) == ("reviewer", None)
    assert event.after["sort"] == "name" and event.after["order"] == "asc"
    assert event.after["filter"]["view"]["name"] == "Hong Kong companies"
    assert event.after["filter"]["statuses"] == ["manual_review"]

    assert _refused(db, token) == "used"  # single use
    assert len(_exports(db)) == 1


def test_an_expired_link_is_refused(db):
    token = create_export_link(db, actor="analyst", flt=CaseFilter())
    with db.unit_of_work() as s:
        s.execute(update(ExportLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert _refused(db, token) == "expired"
    assert _links(db)[0].used_at is None and not _exports(db)


def test_unknown_and_malformed_tokens_are_refused(db):
    create_export_link(db, actor="analyst", flt=CaseFilter())
    assert _refused(db, "x" * 43) == "unknown"
    for bad in ("", "short", "a b" * 20, "é" * 43, "x" * 101, None):
        assert _refused(db, bad) == "malformed"
    assert _links(db)[0].used_at is None and not _exports(db)


def test_a_user_disabled_after_making_the_link_cannot_use_it(db):
    token = create_export_link(db, actor="analyst", flt=CaseFilter())
    users.set_disabled(db, "analyst", True)
    with pytest.raises(NotAllowed):
        redeem_export_link(db, token)
    assert _links(db)[0].used_at is None and not _exports(db)  # nothing written
    users.set_disabled(db, "analyst", False)
    assert redeem_export_link(db, token).actor == "analyst"


def test_a_role_that_may_not_export_can_neither_make_nor_use_a_link(db):
    token = create_export_link(db, actor="analyst", flt=CaseFilter())
    with db.unit_of_work() as s:  # a role without Permission.EXPORT (none of today's four)
        s.execute(update(User).where(User.username == "analyst").values(role="auditor"))
    with pytest.raises(NotAllowed):
        redeem_export_link(db, token)
    with pytest.raises(NotAllowed):
        create_export_link(db, actor="analyst", flt=CaseFilter())
    with pytest.raises(NotAllowed):
        create_export_link(db, actor="nobody", flt=CaseFilter())
    assert len(_links(db)) == 1 and _links(db)[0].used_at is None and not _exports(db)


@pytest.mark.parametrize("flt, sort, descending", [
    (CaseFilter(statuses=("nonsense",)), "created_at", True),
    (CaseFilter(assignee="me"), "created_at", True),  # "me" without knowing who
    (CaseFilter(created_from=date(2025, 2, 1), created_to=date(2025, 1, 1)), "created_at", True),
    (CaseFilter(tags=("x" * 51,)), "created_at", True),
    (CaseFilter(), "password_hash", True),
    (CaseFilter(), "created_at", "yes"),
])
def test_a_bad_filter_or_sort_is_refused_and_nothing_written(db, flt, sort, descending):
    with pytest.raises(InvalidInput):
        create_export_link(db, actor="analyst", flt=flt, sort=sort, descending=descending)
    assert _links(db) == []


def test_old_links_are_pruned_when_a_new_one_is_made(db):
    old = create_export_link(db, actor="analyst", flt=CaseFilter())
    recent = create_export_link(db, actor="analyst", flt=CaseFilter())
    with db.unit_of_work() as s:
        s.execute(update(ExportLink).where(ExportLink.token_hash == token_hash(old))
                  .values(expires_at=utcnow() - timedelta(days=1, minutes=1)))
        s.execute(update(ExportLink).where(ExportLink.token_hash == token_hash(recent))
                  .values(expires_at=utcnow() - timedelta(hours=23)))
    create_export_link(db, actor="analyst", flt=CaseFilter())
    hashes = {link.token_hash for link in _links(db)}
    assert token_hash(old) not in hashes and token_hash(recent) in hashes and len(hashes) == 2
    assert _refused(db, recent) == "expired"
    assert _refused(db, old) == "unknown"


def test_two_servers_redeeming_the_same_link_at_once_export_once(db, database_url):
    token = create_export_link(db, actor="analyst", flt=CaseFilter())
    results: list[str] = []
    start = threading.Barrier(4)

    def redeem() -> None:
        other = Database(database_url)  # each its own engine, as another app server
        start.wait()
        try:
            results.append(redeem_export_link(other, token).actor)
        except InvalidExportLink as e:
            results.append(e.reason)
        finally:
            other.dispose()

    threads = [threading.Thread(target=redeem) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["analyst", "used", "used", "used"]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.kind == "cases.exported")) == 1
