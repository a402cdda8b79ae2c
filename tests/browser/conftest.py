"""End-to-end fixtures: a seeded SQLite database, the real app under `streamlit run`, and
Chromium (Debian's /usr/bin/chromium) driven by pytest-playwright.

One app server per test session. Each test works on its own cases (see CASES), so the tests
do not depend on each other's order. Without Chromium the tests skip locally with the reason,
and fail when CI=true: the CI script (.ci/run) sets CI=true, and there a browser test that
cannot run is an error, never a silent skip.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import core.access.users
from core.access.users import ensure_demo_users
from core.app_setup import prepare_database
from core.cases import actions as case_actions
from core.cases.read import case_detail
from core.intake.importer import import_cases
from core.screening.hits import record_screening
from core.store.db import Database
from core.store.models import Case
from tests.browser.helpers import HOSTILE
from tests.browser.oidc_fixture import sso_server  # noqa: F401  (SSO tests: provider + app)
from tests.servers import free_port, running_app  # noqa: F401  (test modules import them from here)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
IN_CI = os.environ.get("CI", "").lower() == "true"
TIMEOUT_MS = 60_000  # only a hung page fails: a loaded machine may take a while
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEUlEQVR42mM4cecDHDEQxwEALnApQXFCNDEAAAAA"
       "SUVORK5CYII=")
PREVIEW_ASSIGNED = ("BR-UNDO", "BR-UNREVIEWED", "BR-MONITOR", "BR-CONFLICT", "BR-LIMITS",
                    "BR-ESCAPE", "BR-ESC", "BR-BLOCKMSG")
HK_FILLERS = 55   # more Hong Kong companies than fit on one page: the export must have them all

core.access.users.BCRYPT_ROUNDS = 4  # real bcrypt, fast enough for tests


def _case(case_id: str, name: str, *, country: str = "GB", kind: str = "business",
          workflow: str = "onboarding", collection_completed: bool = True,
          documents: bool = True, processes: list | None = None) -> dict:
    case = {"id": case_id, "workflow": workflow, "collection_completed": collection_completed,
            "entity": {"type": kind, "name": name, "country": country,
                       "email": "owner@example.com"},
            "user_data": {"industry": "trading"},
            "registry_data": {"status": "active"}}
    if documents:
        case["documents"] = [{"type": "certificate_of_incorporation",
                              "properties": {"issued_on": "2015-03-11"},
                              "file": {"filename": "certificate.png", "content_base64": PNG}}]
    if processes:
        case["processes"] = processes
    return case


# Each test's own cases; the names are unique words so a search finds exactly one case.
CASES = [
    _case("BR-APPROVE", "Quillfeather Approvals Ltd"),                # Manual review, unassigned
    _case("BR-REUPLOAD", "Marblewood Reuploads Ltd"),                 # Manual review, reviewer's
    _case("BR-REVISIONS", "Saltmarsh Revisions Ltd"),                 # -> Revisions (seeded)
    _case("BR-ANALYST", "Brackenridge Analyst Ltd"),                  # Manual review, reviewer's
    _case("BR-HOSTILE", HOSTILE),                                     # Manual review
    _case("BR-URL", "Thistledown Linkable Ltd"),                      # Manual review
    _case("BR-FLOW", "Juniper Collection Ltd", collection_completed=False),
    _case("BR-PENDING", "Larkspur Screening Ltd",
          processes=[{"name": "sanctions_screening", "state": "pending"}]),
    _case("BR-APPROVED", "Oakhollow Decided Ltd"),                    # -> Approved (seeded)
    _case("BR-REJECTED", "Fernbrook Refused Ltd"),                    # -> Rejected (seeded)
    _case("BR-PERSON", "Ivy Kowalski", kind="person", country="HK", workflow="ongoing_monitoring"),
    _case("BR-TIMELINE", "Wrenfield Chronicle Ltd"),                  # Manual review (timeline)
    # test_browser_preview.py: one case per test (PREVIEW_ASSIGNED are the reviewer's)
    _case("BR-UNDO", "Cobblestone Undo Ltd"),
    _case("BR-UNREVIEWED", "Gorsebrook Unreviewed Ltd"),
    _case("BR-MONITOR", "Heronsgate Monitoring Ltd", workflow="ongoing_monitoring"),
    _case("BR-READONLY", "Nettlecombe Readonly Ltd"),
    _case("BR-CONFLICT", "Pebblecroft Conflict Ltd"),
    _case("BR-LIMITS", "Rushmere Limits Ltd"),
    _case("BR-ESCAPE", "Sedgemoor Escaping Ltd"),
    _case("BR-RACE", "Tamarisk Race Ltd"),
    _case("BR-ESC", "Umberleigh Dialog Ltd"),
    _case("BR-NOTEKEY", "Verbena Notes Ltd"),
    _case("BR-BACK-1", "Wychwood Previous Ltd"),
    _case("BR-BACK-2", "Yarrowdale Next Ltd"),
    _case("BR-BLOCKMSG", "Alderbank Messages Ltd"),
    # test_browser_screening.py: the reviewer's, every block reviewed, its UBO screened
    {**_case("BR-SCREEN", "Oxwickham Screening Ltd"),
     "ubos": [{"full_name": "Ilse Varga", "date_of_birth": "1985-04-02", "nationality": "GB",
               "kyc": {"state": "completed", "result": {"outcome": "clear"}}}]},
] + [_case(f"BR-HK-{i:02d}", f"Harbourview Filler {i} Ltd", country="HK", documents=False)
     for i in range(HK_FILLERS)]


def _version(db: Database, case_id: str) -> int:
    with db.read() as s:
        return s.get(Case, case_id).version


def _review_documents(db: Database, case_id: str) -> None:
    """Approves the case's document blocks (onboarding approves a case only once every block
    is reviewed)."""
    for doc in case_detail(db, case_id, "reviewer").documents:
        case_actions.approve_block(db, case_id, doc.ref, actor="reviewer",
                                   expected_version=_version(db, case_id))


def _seed(db: Database) -> None:
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    import_cases(db, {"format_version": 1, "cases": CASES}, actor="browser-tests")
    for case_id in ("BR-REUPLOAD", "BR-REVISIONS", "BR-ANALYST", "BR-APPROVED", "BR-REJECTED",
                    *PREVIEW_ASSIGNED):
        case_actions.assign_case(db, case_id, "reviewer", actor="reviewer",
                                 expected_version=_version(db, case_id))
    ref = case_detail(db, "BR-REVISIONS", "reviewer").documents[0].ref
    case_actions.ask_to_reupload_block(db, "BR-REVISIONS", ref, actor="reviewer",
                                       expected_version=_version(db, "BR-REVISIONS"),
                                       reason="Missing page")
    case_actions.ask_for_reuploads(db, "BR-REVISIONS", actor="reviewer",
                                   expected_version=_version(db, "BR-REVISIONS"))
    _review_documents(db, "BR-APPROVED")
    case_actions.approve_case(db, "BR-APPROVED", actor="reviewer",
                              expected_version=_version(db, "BR-APPROVED"), reason="in order")
    # BR-APPROVE's document is reviewed, the case left unassigned for a test to take it
    case_actions.assign_case(db, "BR-APPROVE", "reviewer", actor="reviewer",
                             expected_version=_version(db, "BR-APPROVE"))
    _review_documents(db, "BR-APPROVE")
    case_actions.assign_case(db, "BR-APPROVE", None, actor="admin",
                             expected_version=_version(db, "BR-APPROVE"))
    case_actions.reject_case(db, "BR-REJECTED", actor="reviewer",
                             expected_version=_version(db, "BR-REJECTED"), reason="sanctions hit")
    _screened_case(db, "BR-SCREEN")


# The list entry BR-SCREEN's UBO is screened against (test_browser_screening.py).
SCREEN_ENTRY = {"entry_id": "BY-SDN-4411", "dataset": "OFAC SDN", "name": "Ilse Varga",
                "aliases": ["Ilsa Warga"], "birth_dates": ["1958"], "countries": ["Belarus"],
                "programme": "BELARUS-EO14038", "score": 87, "matched_fields": ["name"]}


def _screened_case(db: Database, case_id: str) -> None:
    """The reviewer's case, its document and KYC blocks approved, its UBO screened with one
    open hit: only screening holds Approve back."""
    case_actions.assign_case(db, case_id, "reviewer", actor="reviewer",
                             expected_version=_version(db, case_id))
    _review_documents(db, case_id)
    kyc = case_detail(db, case_id, "reviewer").kyc_blocks[0]
    case_actions.approve_block(db, case_id, kyc.ref, actor="reviewer",
                               expected_version=_version(db, case_id))
    record_screening(db, case_id, f"ubo:{kyc.id}", "worldcheck", [SCREEN_ENTRY],
                     actor="system")


# A browser test that fails is run once more in a new session, with a fresh app and database
# (tests/fresh_rerun.py): on a loaded 2-core machine a click can land while a run finishes and
# be dropped by the app. A defect fails both sessions. Flakes are still to be found and fixed
# one by one (the helpers' retries).


def _require_chromium() -> None:
    if Path(CHROMIUM).is_file():
        return
    reason = f"{CHROMIUM} is missing (install it: apt-get install -y chromium)"
    if IN_CI:
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    _require_chromium()
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def app_db(tmp_path_factory) -> Database:
    """The seeded database the app runs on (the tests read it to check what was written)."""
    _require_chromium()  # no point seeding and starting a server without a browser
    path = tmp_path_factory.mktemp("browser-db") / "docket.sqlite3"
    db = Database(f"sqlite:///{path}")
    _seed(db)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def app_url(app_db, tmp_path_factory) -> str:
    """The real app under `streamlit run` on a free port; stopped at the end of the session."""
    with running_app(app_db.url, tmp_path_factory.mktemp("browser-app")) as url:
        yield url


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return page


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1600, "height": 1000},
            "accept_downloads": True}
