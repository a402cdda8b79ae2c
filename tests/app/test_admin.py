"""The admin pages through AppTest: who can reach them, the views builder (live count, then
the Cases list), workflows, users, import and the simulator; plus the view commands behind
the builder (move, delete: admin-only, audited)."""
from __future__ import annotations

import base64
import io
import json

import pytest
import yaml
from PIL import Image
from sqlalchemy import select

from core.access.users import get_user, verify_login
from core.errors import NotAllowed
from core.store.models import AuditEvent, Case
from core.workflows import admin as workflow_admin
from core.worklist.views import delete_view, ensure_default_views, list_views, move_view
from tests.app.harness import errors, new_app, sign_in, submit_login, table, texts
from tests.factories import make_case, row_counts
from ui.navigation import specs_for

# Written out here, not taken from ui.navigation (the code under test).
ADMIN_PAGES = ("pages/admin_views.py", "pages/admin_workflows.py", "pages/admin_users.py",
               "pages/import_cases.py", "pages/settings.py", "pages/deliveries.py")
ADMIN_TITLES = ["Cases", "Overview", "Workload", "Views", "Workflows", "Users", "Import", "Simulator",
                "Settings", "Screening lists", "Deliveries", "Retention", "My account"]  # the sidebar, simulator on


@pytest.fixture
def views(db):
    with db.unit_of_work() as s:
        ensure_default_views(s)
    return db


def _app(monkeypatch, database_url, role="admin", page=None, simulator="off"):
    monkeypatch.setenv("DOCKET_SIMULATOR", simulator)
    at = sign_in(new_app(monkeypatch, database_url), role)
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def _titles(role: str) -> list[str]:
    return [p.title for p in specs_for(role)]


def _warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def _frame(at, column: str):
    """The shown table that has this column (None: no such table)."""
    return next((d.value for d in at.dataframe
                 if d.value is not None and column in d.value.columns), None)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


# --- who can reach what ---------------------------------------------------------------------

@pytest.mark.parametrize("role", ["reviewer", "analyst"])
def test_reviewers_and_analysts_cannot_reach_admin_pages(db, database_url, monkeypatch, role):
    at = _app(monkeypatch, database_url, role)
    for page in ADMIN_PAGES:
        with pytest.raises(ValueError, match="Known pages"):
            at.switch_page(page)  # not registered with st.navigation: no URL reaches it
    assert _titles(role) == ["Cases", "Overview", "My account"]


def test_admin_reaches_every_admin_page(db, database_url, monkeypatch):
    monkeypatch.setenv("DOCKET_SIMULATOR", "on")
    assert _titles("admin") == ADMIN_TITLES
    at = _app(monkeypatch, database_url, "admin", simulator="on")
    for page in (*ADMIN_PAGES, "pages/simulator.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not errors(at), (page, errors(at))


@pytest.mark.parametrize("simulator, demo, role, reachable", [
    ("on", "off", "admin", True), ("on", "off", "reviewer", True),
    ("on", "off", "analyst", False), ("off", "on", "admin", False),
    ("auto", "off", "reviewer", False)])
def test_simulator_visibility(db, database_url, monkeypatch, simulator, demo, role, reachable):
    at = _app(monkeypatch, database_url, role, simulator=simulator)
    monkeypatch.setenv("DOCKET_DEMO_MODE", demo)
    at.run()
    assert ("Simulator" in _titles(role)) is reachable
    if reachable:
        at.switch_page("pages/simulator.py").run()
        assert not at.exception and [t.value for t in at.title] == ["Simulator"]
    else:
        with pytest.raises(ValueError, match="Known pages"):
            at.switch_page("pages/simulator.py")


# --- views ----------------------------------------------------------------------------------

def test_creating_a_view_shows_the_live_count_then_filters_the_cases_list(views, database_url,
                                                                         monkeypatch):
    for i in range(3):
        make_case(views, f"HK-{i}", country="HK", user_data={"industry": "shipping"})
    make_case(views, "HK-9", country="HK", user_data={"industry": "retail"})
    make_case(views, "DE-1", country="DE", user_data={"industry": "shipping"})
    at = _app(monkeypatch, database_url, page="pages/admin_views.py")
    assert [m.value for m in at.metric] == ["5"]  # a new view with no condition: every case
    at.text_input(key="vb_name").input("HK shipping").run()
    at.button(key="vb_add").click().run()
    at.text_input(key="vb_p_value_0").input("HK").run()
    assert [m.value for m in at.metric] == ["4"]
    at.button(key="vb_add").click().run()
    at.selectbox(key="vb_p_field_1").set_value("user_data").run()
    at.text_input(key="vb_p_user_1").input("industry").run()
    at.selectbox(key="vb_p_op_1").set_value("in").run()
    at.text_input(key="vb_p_value_1").input("shipping, logistics").run()
    assert [m.value for m in at.metric] == ["3"]
    at.button(key="vb_save").click().run()
    assert not at.exception and not errors(at)
    assert any("HK shipping" in s.value for s in at.success)
    saved = next(v for v in list_views(views) if v.name == "HK shipping")
    assert saved.predicates == ({"field": "country", "op": "equals", "value": "HK"},
                                {"field": "user_data.industry", "op": "in",
                                 "value": ["shipping", "logistics"]})

    at.switch_page("pages/cases.py").run()
    at.radio(key="f_view").set_value(saved.id).run()
    assert not at.exception
    assert sorted(table(at)["ID"]) == ["HK-0", "HK-1", "HK-2"]
    assert any("3 cases" in t for t in texts(at))
    assert any("HK shipping" in o for o in at.radio(key="f_view").options)


def test_invalid_conditions_are_refused_with_a_clear_message(views, database_url, monkeypatch):
    at = _app(monkeypatch, database_url, page="pages/admin_views.py")
    at.text_input(key="vb_name").input("Risky").run()
    at.button(key="vb_add").click().run()
    at.selectbox(key="vb_p_field_0").set_value("risk_score").run()
    at.selectbox(key="vb_p_op_0").set_value("range").run()
    at.text_input(key="vb_p_low_0").input("80").run()
    at.text_input(key="vb_p_high_0").input("10").run()
    assert any("range minimum 80 is above maximum 10" in w for w in _warnings(at))
    assert not at.metric
    before = row_counts(views)
    at.button(key="vb_save").click().run()
    assert any("range minimum 80 is above maximum 10" in e for e in errors(at))
    assert row_counts(views) == before
    at.text_input(key="vb_p_high_0").input("").run()
    assert [m.value for m in at.metric] == ["0"]
    at.button(key="vb_save").click().run()
    assert not errors(at)
    assert next(v for v in list_views(views) if v.name == "Risky").predicates == (
        {"field": "risk_score", "op": "range", "value": [80, None]},)


def test_editing_reordering_and_deleting_views(views, database_url, monkeypatch):
    at = _app(monkeypatch, database_url, page="pages/admin_views.py")
    first, second = list_views(views)[:2]
    at.button(key=f"vb_down_{first.id}").click().run()
    assert [v.name for v in list_views(views)][:2] == [second.name, first.name]
    hk = next(v for v in list_views(views) if v.name == "Hong Kong companies")
    at.button(key=f"vb_edit_{hk.id}").click().run()
    assert at.text_input(key="vb_name").value == "Hong Kong companies"
    assert at.text_input(key="vb_p_value_0").value == "HK"
    at.text_input(key="vb_name").input("HK businesses").run()
    at.multiselect(key="vb_statuses").set_value(["manual_review"]).run()
    at.button(key="vb_save").click().run()
    edited = next(v for v in list_views(views) if v.id == hk.id)
    assert edited.name == "HK businesses" and edited.statuses == ("manual_review",)
    at.button(key=f"vb_delete_{hk.id}").click().run()
    at.button(key="vb_delete_confirm").click().run()
    assert not at.exception
    assert hk.id not in [v.id for v in list_views(views)]
    with views.read() as s:
        kinds = list(s.scalars(select(AuditEvent.kind).where(AuditEvent.kind.like("view.%"))
                              .order_by(AuditEvent.id)))
    assert kinds == ["view.moved", "view.saved", "view.deleted"]


def test_view_commands_are_admin_only(views):
    view = list_views(views)[0]
    for who in ("reviewer", "analyst"):
        with pytest.raises(NotAllowed):
            move_view(views, view.id, 1, actor=who)
        with pytest.raises(NotAllowed):
            delete_view(views, view.id, actor=who)
    order = [v.name for v in move_view(views, view.id, 99, actor="admin")]
    assert order[-1] == view.name


# --- workflows ------------------------------------------------------------------------------

def test_editing_a_workflows_document_types(db, database_url, monkeypatch):
    make_case(db, "C-1", documents=2)  # certificate_of_incorporation + passport
    at = _app(monkeypatch, database_url, page="pages/admin_workflows.py")
    assert at.selectbox(key="wf_pick").value == "onboarding"
    area = at.text_area(key="wf_e_types__onboarding")
    assert "passport: Passport" in area.value
    lines = [line for line in area.value.splitlines() if not line.startswith("passport")]
    area.input("\n".join(lines + ["Utility bill"])).run()
    assert any("existing document" in i.value and "of type 'passport' keep their files" in i.value
               for i in at.info)
    assert at.button(key="wf_delete").disabled  # a workflow with cases cannot be deleted
    at.button(key="wf_save").click().run()
    assert not at.exception and not errors(at)
    types = workflow_admin.get_workflow(db, "onboarding")["document_types"]
    assert "passport" not in types and types["utility_bill"] == "Utility bill"


def test_a_bad_document_type_line_blocks_saving(db, database_url, monkeypatch):
    at = _app(monkeypatch, database_url, page="pages/admin_workflows.py")
    at.text_area(key="wf_e_types__onboarding").input("bad type: Bad").run()
    assert any("type 'bad type' must be" in w for w in _warnings(at))
    assert at.button(key="wf_save").disabled


def test_creating_a_workflow_and_importing_yaml(db, database_url, monkeypatch):
    at = _app(monkeypatch, database_url, page="pages/admin_workflows.py")
    at.selectbox(key="wf_pick").set_value("").run()
    at.text_input(key="wf_new_title").input("Periodic review")
    at.button(key="FormSubmitter:wf_new-Create workflow").click().run()
    assert not errors(at)
    assert workflow_admin.get_workflow(db, "periodic_review")["title"] == "Periodic review"
    assert at.selectbox(key="wf_pick").value == "periodic_review"
    data = yaml.safe_load(workflow_admin.export_yaml(db, ["periodic_review"]))
    data["workflows"][0]["reupload_reasons"] = ["Too dark"]
    at.get("file_uploader")[0].upload("wf.yaml", yaml.safe_dump(data).encode(),
                                      "application/x-yaml")
    at.run()
    at.button(key="wf_import_go").click().run()
    assert not errors(at)
    assert workflow_admin.get_workflow(db, "periodic_review")["reupload_reasons"] == ["Too dark"]
    assert at.text_area(key="wf_e_reasons__periodic_review").value == "Too dark"


# --- import ---------------------------------------------------------------------------------

GOOD_FILE = {"cases": [
    {"id": f"IMP-{i}", "workflow": "onboarding", "collection_completed": True,
     "entity": {"type": "business", "name": f"Imported {i} Ltd", "country": "SG"},
     "documents": [{"type": "passport", "file": {
         "filename": "p.png", "content_base64": base64.b64encode(_png()).decode()}}]}
    for i in range(3)]}


def test_importing_a_file_with_errors_writes_nothing_and_shows_the_report(db, database_url,
                                                                         monkeypatch):
    bad = json.loads(json.dumps(GOOD_FILE))
    bad["cases"][1]["workflow"] = "kyb"
    bad["cases"][2]["entity"]["country"] = "sg"
    at = _app(monkeypatch, database_url, page="pages/import_cases.py")
    before = row_counts(db)
    at.get("file_uploader")[0].upload("cases.json", json.dumps(bad).encode(), "application/json")
    at.run()
    assert not at.exception
    assert any("refused: 2 problems" in e for e in errors(at))
    report = _frame(at, "Where")
    assert list(report["Where"]) == ["cases[1].workflow", "cases[2].entity.country"]
    assert "unknown workflow 'kyb'" in report["Problem"][0]
    assert not [b for b in at.button if b.key == "imp_go"]
    assert _frame(at, "Workflow") is None  # no summary of cases to import
    assert row_counts(db) == before


def test_a_good_import_shows_progress_then_the_cases_are_listed(db, database_url, monkeypatch):
    at = _app(monkeypatch, database_url, page="pages/import_cases.py")
    at.get("file_uploader")[0].upload("cases.json", json.dumps(GOOD_FILE).encode(),
                                      "application/json")
    at.run()
    assert any("3 cases ready to import" in s.value for s in at.success)
    with db.read() as s:
        assert s.scalars(select(Case)).first() is None  # nothing written before Import
    at.button(key="imp_go").click().run()
    assert not at.exception and not errors(at)
    progress = at.get("progress")
    assert progress and progress[0].value == 100
    assert "3 of 3" in progress[0].proto.text
    assert any("Imported 3 cases" in s.value for s in at.success)
    at.switch_page("pages/cases.py").run()
    assert sorted(table(at)["ID"]) == ["IMP-0", "IMP-1", "IMP-2"]


def test_one_case_is_one_case_on_the_import_page(db, database_url, monkeypatch):
    """#18.11: "1 case", never "1 cases" nor "1 case(s)"."""
    one = {**GOOD_FILE, "cases": GOOD_FILE["cases"][:1]}
    at = _app(monkeypatch, database_url, page="pages/import_cases.py")
    at.get("file_uploader")[0].upload("cases.json", json.dumps(one).encode(), "application/json")
    at.run()
    assert any("The file is valid: 1 case ready to import." in s.value for s in at.success)
    assert at.button(key="imp_go").label == "Import 1 case"
    at.button(key="imp_go").click().run()
    assert at.get("progress")[0].proto.text == "Imported 1 of 1 case"
    assert any(s.value.startswith("Imported 1 case. ") for s in at.success)
    texts = [e.value for kind in ("success", "error", "caption", "markdown")
             for e in getattr(at, kind) if isinstance(e.value, str)]
    assert not [t for t in texts if "(s)" in t or "1 cases" in t]


def test_csv_import_through_the_page(db, database_url, monkeypatch):
    at = _app(monkeypatch, database_url, page="pages/import_cases.py")
    csv_text = ("workflow,entity_type,name,country,collection_completed\n"
                "onboarding,business,Csv Ltd,HK,true\nonboarding,robot,Bad,HK,true\n")
    at.get("file_uploader")[0].upload("cases.csv", csv_text.encode(), "text/csv")
    at.run()
    report = _frame(at, "Where")
    assert list(report["Where"]) == ["line 3, column entity_type"]


# --- simulator ------------------------------------------------------------------------------

def test_simulator_round_trip_from_collection_flow_to_manual_review(db, database_url,
                                                                   monkeypatch):
    at = _app(monkeypatch, database_url, "reviewer", page="pages/simulator.py", simulator="on")
    at.number_input(key="sim_ubos").set_value(1).run()
    at.button(key="sim_create").click().run()
    assert not errors(at)

    def status():
        return at.metric[0].value

    def click(prefix):
        next(b for b in at.button if (b.key or "").startswith(prefix)).click().run()
        assert not at.exception and not errors(at), errors(at)

    assert status() == "Collection flow"
    seen = [status()]
    for prefix in ("sim_collection", "sim_process_completed_registry_lookup",
                   "sim_process_completed_sanctions_screening", "sim_kyc_sent",
                   "sim_kyc_completed"):
        click(prefix)
        seen.append(status())
    assert seen == ["Collection flow", "Pending process", "Pending process", "Manual review",
                    "Pending ID verification", "Manual review"]
    shown = "\n".join(texts(at))
    # onboarding approves only once every block is reviewed: the reason names what is left
    assert (":material/block: Approve — Approve needs every document and KYC block reviewed "
            "first") in shown
    assert ":material/check_circle: Reject" in shown
    assert ":material/block: Ask for all re\\-uploads \\(0\\) — Ask for all re" in shown
    click("sim_document_uploaded")
    assert status() == "Manual review"
    case_id = at.selectbox(key="sim_case").value
    with db.read() as s:
        assert s.get(Case, case_id).case_status == "manual_review"


# --- users ----------------------------------------------------------------------------------

def test_users_add_disable_reset_password_change_role(db, database_url, monkeypatch):
    at = _app(monkeypatch, database_url, page="pages/admin_users.py")
    at.text_input(key="ua_new_username").input("carol")
    at.text_input(key="ua_new_name").input("Carol Checker")
    at.selectbox(key="ua_new_role").set_value("reviewer")
    at.text_input(key="ua_new_password").input("carol-initial-pass")
    at.button(key="FormSubmitter:ua_add-Add user").click().run()
    assert not errors(at)
    assert get_user(db, "carol").role == "reviewer"
    assert "carol" in list(_frame(at, "Username")["Username"])

    at.selectbox(key="ua_user").set_value("carol").run()
    at.selectbox(key="ua_role_carol").set_value("analyst").run()
    at.button(key="ua_set_role").click().run()
    assert get_user(db, "carol").role == "analyst"
    at.text_input(key="ua_password_carol").input("carol-second-pass").run()
    at.button(key="ua_reset_password").click().run()
    assert not errors(at)
    assert verify_login(db, "carol", "carol-second-pass").username == "carol"
    at.button(key="ua_disable").click().run()
    assert get_user(db, "carol").disabled
    at.button(key="ua_enable").click().run()
    assert not get_user(db, "carol").disabled
    with db.read() as s:
        kinds = list(s.scalars(select(AuditEvent.kind).where(
            AuditEvent.actor == "admin", AuditEvent.kind.like("user.%")).order_by(AuditEvent.id)))
    assert kinds == ["user.added", "user.role_changed", "user.password_set", "user.disabled",
                     "user.enabled"]


def test_short_password_and_last_admin_are_refused(db, database_url, monkeypatch):
    at = _app(monkeypatch, database_url, page="pages/admin_users.py")
    at.selectbox(key="ua_user").set_value("admin").run()
    at.button(key="ua_disable").click().run()
    assert any("cannot disable the last admin" in e for e in errors(at))
    at.selectbox(key="ua_role_admin").set_value("reviewer").run()
    at.button(key="ua_set_role").click().run()
    assert any("cannot change the role of the last admin" in e for e in errors(at))
    at.text_input(key="ua_password_admin").input("short").run()
    at.button(key="ua_reset_password").click().run()
    assert any("at least 12 characters" in e for e in errors(at))
    assert get_user(db, "admin").role == "admin" and not get_user(db, "admin").disabled


def test_a_disabled_users_session_stops_at_their_next_action(db, database_url, monkeypatch):
    reviewer = _app(monkeypatch, database_url, "reviewer2")
    admin = _app(monkeypatch, database_url, page="pages/admin_users.py")
    admin.selectbox(key="ua_user").set_value("reviewer2").run()
    admin.button(key="ua_disable").click().run()
    assert get_user(db, "reviewer2").disabled
    reviewer.run()
    assert [t.label for t in reviewer.text_input] == ["Username", "Password"]
    assert any("disabled" in e for e in errors(reviewer))
    submit_login(reviewer, "reviewer2", "demo-reviewer2-pass")
    assert reviewer.session_state["authentication_status"] is False


# --- settings -------------------------------------------------------------------------------

SECRET = "s3cret-smtp-password-XYZ"


def _all_shown_text(at) -> str:
    values = [str(getattr(w, "value", "")) for w in at.text_input]
    return "\n".join(values + texts(at) + [str(d.value) for d in at.dataframe])


def test_settings_store_values_and_never_show_a_secret_back(db, database_url, monkeypatch):
    at = _app(monkeypatch, database_url, page="pages/settings.py")
    at.text_input(key="st_v_smtp_host").input("smtp.example.com")
    at.text_input(key="st_v_smtp_password").input(SECRET)
    at.button(key="st_save_smtp").click().run()
    assert not errors(at), errors(at)
    from core import settings_store
    assert settings_store.values(db, "smtp.host", "smtp.password") == {
        "smtp.host": "smtp.example.com", "smtp.password": SECRET}
    assert at.text_input(key="st_v_smtp_password").value == ""
    assert SECRET not in _all_shown_text(at)
    at.switch_page("pages/cases.py").run()
    at.switch_page("pages/settings.py").run()
    assert at.text_input(key="st_v_smtp_host").value == "smtp.example.com"
    assert at.text_input(key="st_v_smtp_password").value == ""
    assert SECRET not in _all_shown_text(at)
    with db.read() as s:
        changed = [e.after for e in s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "settings.changed"))]
    assert {"key": "smtp.password", "value": "(secret changed)"} in changed
    assert SECRET not in json.dumps(changed)


def test_send_test_email_and_sms_reach_real_servers(db, database_url, monkeypatch):
    from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, SmtpSink
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    receiver = Receiver().start()
    try:
        with SmtpSink() as smtp:
            at = _app(monkeypatch, database_url, page="pages/settings.py")
            at.text_input(key="st_v_smtp_host").input("127.0.0.1")
            at.text_input(key="st_v_smtp_port").input(str(smtp.port))
            at.text_input(key="st_v_smtp_security").input("none")
            at.button(key="st_save_smtp").click().run()
            at.text_input(key="st_to_smtp").input("ops@example.com")
            at.button(key="st_test_smtp").click().run()
            assert not errors(at), errors(at)
            assert any("sent to ops@example" in s.value for s in at.success)
            assert smtp.messages and smtp.messages[0]["Subject"] == "Docket test email"

            at.text_input(key="st_v_sms_url").input(receiver.url)
            at.text_input(key="st_v_sms_password").input("sms-token-123456")
            at.button(key="st_save_sms").click().run()
            at.text_input(key="st_to_sms").input("+44 20 7946 0000")
            at.button(key="st_test_sms").click().run()
            assert any("HTTP 200" in s.value for s in at.success), (errors(at), [s.value for s in at.success])
            record = receiver.all()[0]
            assert json.loads(record["body"])["to"] == "+44 20 7946 0000"
            assert record["headers"]["authorization"] == "Bearer sms-token-123456"

            at.button(key="st_test_crm").click().run()
            assert any("not configured" in e for e in errors(at))
    finally:
        receiver.stop()


def test_send_test_to_a_private_address_is_refused_without_the_allow_list(db, database_url,
                                                                         monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", "")
    at = _app(monkeypatch, database_url, page="pages/settings.py")
    at.text_input(key="st_v_crm_url").input("http://127.0.0.1:9/crm")
    at.button(key="st_save_crm").click().run()
    at.button(key="st_test_crm").click().run()
    assert any("refused, nothing sent" in e for e in errors(at))


def test_send_test_is_admin_only(db):
    from core.notifications.integration_check import send_test
    for who in ("reviewer", "analyst"):
        with pytest.raises(NotAllowed):
            send_test(db, "crm", actor=who)
