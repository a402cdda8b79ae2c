"""docs/API.md's examples, run against a live server, so the guide stays true.

The convention (stated in one line at the top of the guide's "Examples" section):

- An example is a ```sh block that calls `curl`; other blocks (`python -m core keys add`, the
  `export` lines) are not run. Examples run in document order, each as its own
  `bash -c 'set -euo pipefail; ...'`, with DOCKET_URL (the server, without `/api/v1`),
  DOCKET_KEY (an admin's key: intake, events, read), DOCKET_REVIEWER_KEY (a reviewer's
  key: read, act) and the hook sources' secrets (DOCKET_HOOK_SECRET: sumsub,
  DOCKET_CA_HOOK_SECRET: complyadvantage) exported, in a scratch directory holding
  `certificate.pdf` (the small real PDF of examples/cases.json).
- A successful example uses `--fail-with-body`, so an error answer makes it exit non-zero.
- An example showing an error has a line `# expect: STATUS` and prints the status on its
  output's last line (`-w '\\n%{http_code}\\n'`); that line must be STATUS.
- A ```json block right after an example (nothing but blank lines between) is its answer,
  abridged: each field shown must be in the answer with the value shown (fields left out are
  not checked); a list must hold exactly the items shown, unless its last item is "...":
  then only its first items are shown.
- Every operation of /api/v1/openapi.json (path x method), every plain route served beside
  the API (a `ROUTES` list in a module of `api/`: /healthz, /readyz, ...) and the OpenAPI
  document itself need an example: a new endpoint fails here until it has one.

The examples get a server and database of their own (not the session's `api` server): they
build on each other under readable ids (ACME-0001) and show exact versions, totals and view
counts, which only a fresh database gives; the other API tests' cases would change them.
"""
from __future__ import annotations

import base64
import importlib
import json
import os
import pkgutil
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

import api
from api.app import API_PREFIX
from core.access import api_keys, users
from core.app_setup import prepare_database
from core.intake import hooks
from core.store.db import Database
from tests.api.conftest import PASSWORD, fresh_database_url
from tests.intake.hook_payloads import COMPLYADVANTAGE_MAPPING, SUMSUB_MAPPING
from tests.servers import ROOT, running_app

GUIDE = ROOT / "docs" / "API.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.M | re.S)
EXPECT = re.compile(r"^\s*#\s*expect:\s*(\d{3})\s*$", re.M)
DATA_OPTIONS = {"-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "--json",
                "-F", "--form", "-T", "--upload-file"}
MORE = "..."


@dataclass
class Example:
    line: int  # where the block starts in docs/API.md
    code: str
    answer: Any = None  # the ```json block that follows it, if any
    has_answer: bool = False

    @property
    def expected_status(self) -> int | None:
        m = EXPECT.search(self.code)
        return int(m.group(1)) if m else None

    def where(self) -> str:
        return f"docs/API.md line {self.line}:\n{self.code}"


def examples(text: str) -> list[Example]:
    found: list[Example] = []
    previous_end = None
    for m in FENCE.finditer(text):
        lang, body = m.group(1), m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        if (lang == "json" and found and previous_end is not None
                and text[previous_end:m.start()].strip() == ""):
            try:
                found[-1].answer = json.loads(body)
            except ValueError as e:
                pytest.fail(f"docs/API.md line {line}: the answer is not JSON ({e})")
            found[-1].has_answer = True
        previous_end = None
        if lang == "sh" and re.search(r"\bcurl\b", body):
            found.append(Example(line, body))
            previous_end = m.end()
    return found


def requests_made(code: str) -> list[tuple[str, str]]:
    """(METHOD, path) of each curl call, path relative to $DOCKET_URL, without its query."""
    tokens = shlex.split(code.replace("\\\n", " "), comments=True)
    calls, current = [], None
    for token in tokens:
        if token == "curl":
            current = []
            calls.append(current)
        elif current is not None:
            current.append(token)
    out = []
    for args in calls:
        method = "POST" if DATA_OPTIONS & set(args) else "GET"
        for flag in ("-X", "--request"):
            if flag in args:
                method = args[args.index(flag) + 1].upper()
        urls = [a for a in args if "$DOCKET_URL" in a or "${DOCKET_URL}" in a]
        for url in urls:
            path = re.sub(r"^.*\$\{?DOCKET_URL\}?", "", url).split("?")[0]
            out.append((method, path))
    return out


def routes_beside_the_api() -> list[tuple[str, str]]:
    """(METHOD, path) of the plain routes that api/ modules list in `ROUTES`, which
    streamlit_app.py serves beside the API (outside the OpenAPI document)."""
    out = []
    for module in pkgutil.iter_modules(api.__path__, "api."):
        for route in getattr(importlib.import_module(module.name), "ROUTES", []):
            if isinstance(route, Route):
                out += [(m, route.path) for m in sorted(route.methods or {"GET"}) if m != "HEAD"]
    return out


def _template(path: str) -> re.Pattern:
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")


def mismatches(shown: Any, actual: Any, at: str = "answer") -> list[str]:
    """Where the answer differs from what the guide shows (see the module's docstring)."""
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return [f"{at}: shown an object, answered {actual!r}"]
        out = []
        for key, value in shown.items():
            if key not in actual:
                out.append(f"{at}.{key}: shown, but not in the answer")
            else:
                out += mismatches(value, actual[key], f"{at}.{key}")
        return out
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return [f"{at}: shown a list, answered {actual!r}"]
        abridged = bool(shown) and shown[-1] == MORE
        items = shown[:-1] if abridged else shown
        if len(actual) < len(items) or (not abridged and len(actual) != len(items)):
            return [f"{at}: shown {len(items)} items{' and more' if abridged else ''}, "
                    f"answered {len(actual)}"]
        out = []
        for i, item in enumerate(items):
            out += mismatches(item, actual[i], f"{at}[{i}]")
        return out
    if shown != actual or isinstance(shown, bool) != isinstance(actual, bool):
        return [f"{at}: shown {shown!r}, answered {actual!r}"]
    return []


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory):
    """A fresh server and database for the guide, with the keys its examples use."""
    with fresh_database_url(tmp_path_factory.mktemp("docs-db"), "docs") as url:
        db = Database(url)
        prepare_database(db, demo=False)
        users.add_user(db, "svc", "Onboarding service", "admin", PASSWORD)
        users.add_user(db, "rev", "Rev", "reviewer", PASSWORD)
        env = {
            "DOCKET_KEY": api_keys.create_key(db, "onboarding", scopes="intake,events,read",
                                              acting_user="svc").secret,
            "DOCKET_REVIEWER_KEY": api_keys.create_key(db, "rev-desk", scopes="read,act",
                                                       acting_user="rev").secret,
            "DOCKET_HOOK_SECRET": hooks.create_source(db, "sumsub", mapping=SUMSUB_MAPPING,
                                                      acting_user="svc").secret,
            "DOCKET_CA_HOOK_SECRET": hooks.create_source(
                db, "complyadvantage", mapping=COMPLYADVANTAGE_MAPPING,
                acting_user="svc").secret,
        }
        try:
            with running_app(db.url, tmp_path_factory.mktemp("docs-app"),
                             DOCKET_EMBEDDED_WORKER="off") as server:
                yield {"DOCKET_URL": server, **env}
        finally:
            db.dispose()


@pytest.fixture
def workdir(tmp_path) -> Path:
    cases = json.loads((ROOT / "examples" / "cases.json").read_text())
    pdf = next(d["file"] for c in cases["cases"] for d in c.get("documents", [])
               if d.get("file", {}).get("filename", "").endswith(".pdf"))
    (tmp_path / "certificate.pdf").write_bytes(base64.b64decode(pdf["content_base64"]))
    return tmp_path


def run(example: Example, env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + example.code], cwd=cwd,
                          env={**os.environ, **env, "NO_PROXY": "127.0.0.1,localhost"},
                          capture_output=True, text=True, timeout=300)
    told = f"{example.where()}\n--- stdout:\n{done.stdout}\n--- stderr:\n{done.stderr}"
    assert done.returncode == 0, f"the example exited {done.returncode}\n{told}"
    body = done.stdout
    if example.expected_status is not None:
        body, _, status = body.rstrip("\n").rpartition("\n")
        assert status.strip() == str(example.expected_status), (
            f"expected status {example.expected_status}; the last line of the output was "
            f"{status!r} (print it with -w '\\n%{{http_code}}\\n')\n{told}")
    if example.has_answer:
        try:
            answer = json.loads(body)
        except ValueError:
            pytest.fail(f"an example followed by a json block must print one JSON answer\n{told}")
        wrong = mismatches(example.answer, answer)
        assert wrong == [], f"the answer differs from the guide\n{told}"


def test_the_guide_has_examples_that_follow_the_convention():
    found = examples(GUIDE.read_text())
    assert len(found) >= 10
    for example in found:
        assert requests_made(example.code), f"no request to $DOCKET_URL\n{example.where()}"
        if example.expected_status is None:
            assert "--fail-with-body" in example.code, (
                f"a successful example uses --fail-with-body\n{example.where()}")
        else:
            assert "%{http_code}" in example.code, (
                f"an example with '# expect:' prints the status\n{example.where()}")


def test_the_complyadvantage_mapping_shown_is_the_one_tested():
    """The guide's example mapping is the one the hook tests run (tests/intake)."""
    text = GUIDE.read_text()
    start = text.index("`complyadvantage.json`:")
    shown = json.loads(FENCE.search(text, start).group(2))
    assert shown == COMPLYADVANTAGE_MAPPING


def test_every_example_runs_and_answers_as_shown(docs_server, workdir):
    for example in examples(GUIDE.read_text()):
        run(example, docs_server, workdir)


def test_every_endpoint_has_an_example(docs_server):
    document = httpx.get(f"{docs_server['DOCKET_URL']}{API_PREFIX}/openapi.json", timeout=120)
    assert document.status_code == 200
    endpoints = [(method.upper(), API_PREFIX + path)
                 for path, operations in document.json()["paths"].items()
                 for method in operations]
    endpoints += routes_beside_the_api()
    endpoints.append(("GET", f"{API_PREFIX}/openapi.json"))
    shown = {call for e in examples(GUIDE.read_text()) for call in requests_made(e.code)}
    missing = [f"{method} {path}" for method, path in endpoints
               if not any(m == method and _template(path).match(p) for m, p in shown)]
    assert missing == [], ("docs/API.md has no example (section Examples) for: "
                           + ", ".join(missing))
