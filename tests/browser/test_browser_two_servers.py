"""A team's deployment, proven (docs/DEPLOY.md): two app servers and two notification workers
on one PostgreSQL database, one shared cookie key, reviewers in Chromium on both servers.

- a sign-in cookie written by server A signs the reviewer in on server B;
- a decision taken on A shows on B;
- a user disabled on A is signed out on B at their next action;
- a session an admin ends (the session table both servers read) is signed out on B at its
  next click, and the idle timeout saved on A signs a browser on B out by itself;
- every webhook of the decisions is delivered exactly once across both workers.

The servers run with DOCKET_EMBEDDED_WORKER=off; the workers are `python -m core worker`
processes. Like the other PostgreSQL browser test it needs DOCKET_PG_URL (it fails in CI
without it, skips locally with the reason).
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack

import pytest
from playwright.sync_api import Browser, Page, expect
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.engine import make_url

from core.access.users import set_disabled
from core.cases import actions as ca
from core.notifications import endpoints as ep
from core.settings_store import clear_setting, set_setting
from core.signin import sessions
from core.store.db import Database
from core.store.models import Delivery
from tests.browser.conftest import _seed, running_app
from tests.browser.helpers import (
    case_button,
    case_status_badge,
    click_row,
    keyed_button,
    search,
    sign_in,
    wait_idle,
)
from tests.browser.test_browser_postgres import _connect, _drop, _server_url
from tests.factories import make_case, version_of
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, wait_until
from tests.servers import ROOT, stop

pytestmark = pytest.mark.browser

DECIDED_BY_CORE = 20  # decisions written straight to the database, besides the browser's


@pytest.fixture(scope="module")
def team(browser_type_launch_args, tmp_path_factory):
    """Database, receiver, two app servers and two workers; torn down in reverse."""
    server = make_url(_server_url())
    name = f"docket_team_{secrets.token_hex(4)}"
    with _connect(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = Database(server.set(database=name).render_as_string(hide_password=False))
    receiver = Receiver().start()
    with ExitStack() as stack:
        stack.callback(_drop, server, name)
        stack.callback(db.dispose)
        stack.callback(receiver.stop)
        _seed(db)
        previous = os.environ.get("DOCKET_OUTBOUND_ALLOWLIST")
        os.environ["DOCKET_OUTBOUND_ALLOWLIST"] = LOOPBACK_ALLOWLIST  # the receiver's address
        try:
            receiver.secrets.append(ep.create_endpoint(db, receiver.url, actor="admin",
                                                       event_types=["case.approved"]).secret)
        finally:
            if previous is None:
                os.environ.pop("DOCKET_OUTBOUND_ALLOWLIST")
            else:
                os.environ["DOCKET_OUTBOUND_ALLOWLIST"] = previous
        shared = {"DOCKET_COOKIE_KEY": secrets.token_urlsafe(48)[:64],
                  "DOCKET_EMBEDDED_WORKER": "off",
                  "DOCKET_OUTBOUND_ALLOWLIST": LOOPBACK_ALLOWLIST}
        urls = [stack.enter_context(running_app(db.url, tmp_path_factory.mktemp(f"app-{i}"),
                                                **shared)) for i in "ab"]
        env = {**os.environ, "DOCKET_DATABASE_URL": db.url, **shared}
        for i in range(2):
            log = (tmp_path_factory.mktemp(f"worker-{i}") / "worker.log").open("wb")
            stack.callback(log.close)
            worker = subprocess.Popen([sys.executable, "-m", "core", "worker"], cwd=ROOT,
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(stop, worker, 15)
        yield db, urls[0], urls[1], receiver


def test_a_cookie_from_a_signs_in_on_b_and_a_decision_on_a_shows_on_b(page: Page, team):
    db, url_a, url_b, receiver = team
    sign_in(page, url_a, "reviewer")
    on_b = page.context.new_page()  # same browser, same cookies (one host, two ports)
    on_b.goto(url_b + "/")
    expect(on_b.get_by_role("heading", name="Cases")).to_be_visible()
    expect(on_b.get_by_role("textbox", name="Password")).to_have_count(0)  # no sign-in form
    wait_idle(on_b)

    search(page, "Quillfeather")
    click_row(page, 0)
    expect(page.get_by_role("heading", name="Quillfeather Approvals Ltd")).to_be_visible()
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("Case assigned to you.")).to_be_visible()
    wait_idle(page)
    case_button(page, "approve").click()
    keyed_button(page, "dialog_confirm").click()
    expect(page.get_by_text("Case approved.")).to_be_visible()

    search(on_b, "Quillfeather")
    click_row(on_b, 0)
    expect(case_status_badge(on_b)).to_have_text("Approved")
    expect(on_b.get_by_text("reviewer approved the case")).to_be_visible()


def test_a_user_disabled_on_a_is_signed_out_on_b(browser: Browser, team):
    db, url_a, url_b, _ = team
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, url_b, "reviewer2")
        set_disabled(db, "reviewer2", True, actor="admin")  # what Users on server A writes
        search(page, "Quillfeather", expect_total=None)  # the next action on B
        expect(page.get_by_role("textbox", name="Password")).to_be_visible()
        expect(page.get_by_role("heading", name="Cases")).to_have_count(0)
    finally:
        set_disabled(db, "reviewer2", False, actor="admin")
        context.close()


def test_sessions_ended_or_idle_are_signed_out_on_either_server(browser: Browser, team):
    db, url_a, url_b, _ = team
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        on_a = context.new_page()
        sign_in(on_a, url_a, "analyst")
        on_b = context.new_page()  # the same session, served by B
        on_b.goto(url_b + "/")
        expect(on_b.get_by_role("heading", name="Cases")).to_be_visible()
        wait_idle(on_b)
        mine = [s for s in sessions.list_open(db, actor="admin") if s.username == "analyst"]
        assert len(mine) == 1 and mine[0].client_addr == "loopback"
        assert "Chrome" in mine[0].user_agent
        sessions.end_session(db, mine[0].id, actor="admin")  # what the Sessions tab writes
        search(on_b, "Quillfeather", expect_total=None)  # the next click, on B
        expect(on_b.get_by_text("An admin ended your session; sign in again.")).to_be_visible()
        expect(on_b.get_by_role("heading", name="Cases")).to_have_count(0)

        sign_in(on_a, url_a, "analyst")
        set_setting(db, "signin.idle_minutes", "0.1", actor="admin")  # saved on A: 6 seconds
        try:
            on_b.goto(url_b + "/")  # B's page watches the session every 2 seconds
            expect(on_b.get_by_role("heading", name="Cases")).to_be_visible()
            expect(on_b.get_by_text("You were signed out after 6 seconds without activity.")) \
                .to_be_visible(timeout=30_000)
        finally:
            clear_setting(db, "signin.idle_minutes", actor="admin")
    finally:
        context.close()


def test_every_webhook_is_delivered_once_across_both_workers(team):
    db, _, _, receiver = team
    for i in range(DECIDED_BY_CORE):
        case_id = f"TEAM-{i}"
        make_case(db, case_id, assignee="reviewer", reviewed=True)
        ca.approve_case(db, case_id, actor="reviewer", expected_version=version_of(db, case_id))

    def webhooks() -> dict[str, str]:
        with db.read() as s:
            return dict(s.execute(select(Delivery.message_id, Delivery.state)  # to the
                                  .where(Delivery.endpoint_id.is_not(None))).all())  # receiver
    try:
        wait_until("every webhook delivered",
                   lambda: len(webhooks()) >= DECIDED_BY_CORE
                   and set(webhooks().values()) == {"delivered"})
    except AssertionError:
        with db.read() as s:
            states = s.execute(select(Delivery.channel, Delivery.state, Delivery.last_error)).all()
        raise AssertionError(f"deliveries: {Counter(states).most_common(5)}") from None
    received = Counter(r["id"] for r in receiver.ok())
    assert set(received) == set(webhooks())  # each delivery arrived...
    assert max(received.values()) == 1, received.most_common(3)  # ...once, by one worker
    assert all(r["verified"] for r in receiver.ok())
