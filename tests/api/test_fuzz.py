"""The live API fuzzed from its own OpenAPI document with schemathesis (issue #9).

A server of its own on a database of its own (a SQLite file, or a PostgreSQL schema when
DOCKET_TEST_DATABASE_URL is set), seeded with cases that have documents, UBOs and a decided
case with deliveries; schemathesis (its CLI, as CI and a developer run it) reads
/api/v1/openapi.json and calls every operation with an admin key holding every scope. Its
dictionaries hand it the seeded ids (case ids, block refs, document and UBO ids, views,
deliveries, users) most of the time, so reads and actions reach real cases, not only 404s.

Checks: no 5xx, every status declared, every body valid against its declared schema, every
content type declared. The run is reproducible (a fixed seed, no example database); CI runs
DOCKET_FUZZ_EXAMPLES examples per operation and phase (default 50, under two minutes). Longer,
locally (`--timeout 0`: pytest's 600 s guard against a hang would stop a long run):

    DOCKET_FUZZ_EXAMPLES=500 DOCKET_FUZZ_SEED=$RANDOM python -m pytest tests/api/test_fuzz.py --timeout 0

A failure prints schemathesis's report (the operation, the check, a curl reproduction) and
the server's tracebacks; the run's files (report JSON, server log) stay in the test's tmp dir.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.access import api_keys, users
from core.app_setup import prepare_database
from core.cases.commands import perform
from core.intake.importer import import_cases
from core.notifications.endpoints import create_endpoint
from core.notifications.fanout import expand_pending
from core.store.db import Database
from core.store.models import Case, Delivery, Document, Ubo
from core.worklist.views import list_views
from tests.api.conftest import PASSWORD, a_case, fresh_database_url, new_id
from tests.servers import ROOT, running_app

EXAMPLES = int(os.environ.get("DOCKET_FUZZ_EXAMPLES", "50"))
SEED = int(os.environ.get("DOCKET_FUZZ_SEED", "20260909"))
CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance",
          "content_type_conformance")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
ADMIN = "fuzz"


def _seed(db: Database) -> dict[str, list]:
    """Cases worth fuzzing (documents, UBOs, a process, the collection flow, manual review,
    one approved with its deliveries); returns the ids schemathesis should try."""
    prepare_database(db, demo=False)
    users.add_user(db, ADMIN, "Fuzz Admin", "admin", PASSWORD)
    users.add_user(db, "fuzz-rev", "Fuzz Reviewer", "reviewer", PASSWORD)
    import_cases(db, (ROOT / "examples" / "cases.json").read_bytes(), actor=ADMIN)
    import_cases(db, {"cases": [a_case(new_id("FUZZ")) for _ in range(3)]}, actor=ADMIN)
    decided = import_cases(db, {"cases": [a_case(new_id("DONE"))]}, actor=ADMIN)[0]
    create_endpoint(db, "https://hooks.example/docket", actor=ADMIN)
    perform(db, decided, "assign", actor=ADMIN, expected_version=1)
    perform(db, decided, "approve", actor=ADMIN, expected_version=2, reason="fuzz seed")
    expand_pending(db)
    with db.read() as s:
        case_ids = list(s.scalars(select(Case.id).order_by(Case.id)))
        documents = list(s.scalars(select(Document.id).order_by(Document.id)))
        ubos = list(s.scalars(select(Ubo.id).order_by(Ubo.id)))
        deliveries = list(s.scalars(select(Delivery.id).order_by(Delivery.id)))
    views = list_views(db)
    return {
        "case-ids": case_ids,
        "versions": list(range(1, 13)),
        "blocks": [f"document:{d}" for d in documents] + [f"kyc:{u}" for u in ubos],
        "documents": documents,
        "ubos": ubos,
        "users": [ADMIN, "fuzz-rev"],
        "views": [v.name for v in views] + [str(v.id) for v in views],
        "deliveries": deliveries,
    }


# parameter (bare name: any location) -> dictionary; each drawn with this probability, so
# schemathesis still tries ids of its own invention the rest of the time
BINDINGS = {"case_id": "case-ids", "body.expected_version": "versions", "body.block": "blocks",
            "body.document_id": "documents", "body.ubo_id": "ubos", "body.to": "users",
            "query.view": "views", "delivery_id": "deliveries"}
PROBABILITY = 0.8


def _config(dictionaries: dict[str, list]) -> str:
    lines = []
    for name, values in dictionaries.items():
        if values:
            lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for key, name in BINDINGS.items():
        if dictionaries.get(name):
            lines.append(f'"{key}" = {{ dictionary = "{name}", probability = {PROBABILITY} }}')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    """(API URL, admin key with every scope, working dir) of a private, seeded server."""
    work = tmp_path_factory.mktemp("fuzz")
    with fresh_database_url(work, "fuzz") as url:
        db = Database(url)
        try:
            dictionaries = _seed(db)
            key = api_keys.create_key(db, "fuzz-all", scopes=",".join(api_keys.SCOPES),
                                      acting_user=ADMIN).secret
            (work / "schemathesis.toml").write_text(_config(dictionaries))
            # no rate limit: the fuzzer is one client sending as fast as it can
            with running_app(db.url, work, DOCKET_EMBEDDED_WORKER="off",
                             DOCKET_API_RATE_LIMIT="off") as app_url:
                yield f"{app_url}/api/v1", key, work
        finally:
            db.dispose()


def _tracebacks(log: Path) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    first = text.find("Traceback")
    return text[first:][-20_000:] if first >= 0 else "(no traceback in the server log)"


def test_every_operation_answers_by_its_contract(fuzz_target):
    api_url, key, work = fuzz_target
    report = work / "schemathesis.json"
    command = [sys.executable, "-m", "schemathesis.cli",
               "--config-file", str(work / "schemathesis.toml"),
               "run", f"{api_url}/openapi.json", "--url", api_url, "--no-color",
               "-H", f"Authorization: Bearer {key}",
               "--checks", ",".join(CHECKS), "--max-examples", str(EXAMPLES),
               "--seed", str(SEED), "--workers", "1", "--generation-database", "none",
               "--request-timeout", "120", "--report", "json",
               "--report-json-path", str(report)]
    run = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
    out = run.stdout + run.stderr
    if run.returncode != 0:
        pytest.fail(f"schemathesis found failures (exit {run.returncode}), seed {SEED}:\n{out}"
                    f"\n--- server tracebacks ({work / 'streamlit.log'}) ---\n"
                    f"{_tracebacks(work / 'streamlit.log')}", pytrace=False)
    result = json.loads(report.read_text())
    assert result["failures"] == [] and result["errors"] == [], out
    document = httpx.get(f"{api_url}/openapi.json").json()
    operations = sum(1 for item in document["paths"].values() for m in item if m in HTTP_METHODS)
    ops = result["operations"]
    assert ops["tested"] == ops["selected"] == ops["total"] == operations >= 6, out
    # the seeded ids were used: reads and actions reached real cases, not only 404s and 422s
    rates = {op: {k: sum(phase.get(k, 0) for phase in by_phase.values())
                  for k in ("accepted", "conflicts", "rejected", "unreachable")}
             for op, by_phase in result["valid_rates"].items()}
    assert rates["GET /cases/{case_id}"]["accepted"] > 0, rates
    assert rates["GET /cases"]["accepted"] > 0, rates
    action = rates["POST /cases/{case_id}/actions/{action}"]
    assert action["accepted"] + action["conflicts"] > 0, rates
