"""A real OpenID Connect provider on loopback (the certified npm package `oidc-provider`,
tests/oidc/provider.mjs) and an app server signing in through it, for the SSO browser tests.

`sso_server` starts, on free ports: the provider, with one client whose redirect URI is the
app's /oauth2callback, and the real app (`streamlit run`) on a database of its own, its
provider given by the DOCKET_SSO_* variables (streamlit_app.py passes them to `st.App`), on
127.0.0.1, the host name of the redirect URI. The provider's accounts are ACCOUNTS: its login
page takes any password, the login name picks the account.

Without Node.js or `npm ci --prefix tests/oidc` the tests skip locally with the reason, and
fail in CI (CI=true): .ci/run installs the provider; a missing one is an error there.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from core.access.users import add_user, ensure_demo_users, set_disabled
from core.app_setup import prepare_database
from core.store.db import Database
from tests.servers import ROOT, START_TIMEOUT_S, free_port, running_app, stop

OIDC_DIR = ROOT / "tests" / "oidc"
PROVIDER_NAME = "testidp"        # [auth.testidp]: recorded with each sign-in
DISPLAY_NAME = "Test IdP"        # the button: "Sign in with Test IdP"
CLIENT_ID = "docket-browser-tests"
GROUPS = {"docket-leads": "lead", "docket-admins": "admin"}
ALLOWED_DOMAIN = "allowed.test"
# login name at the provider -> the claims it vouches for
ACCOUNTS = {
    "alice": {"email": "Alice@Example.test", "email_verified": True, "name": "Alice Example"},
    "stranger": {"email": "stranger@nowhere.test", "email_verified": True, "name": "A Stranger"},
    "newbie": {"email": "newbie@allowed.test", "email_verified": True, "name": "New Analyst"},
    "leader": {"email": "lena.lead@allowed.test", "email_verified": True, "name": "Lena Leader",
               "groups": ["staff", "docket-leads"]},
    "dora": {"email": "dora@example.test", "email_verified": True, "name": "Dora Disabled",
             "groups": ["docket-admins"]},
    "bob": {"email": "bob@example.test", "email_verified": True, "name": "Bob Builder"},
}
# Docket's own users (made by an admin): alice and bob by email, dora disabled
DOCKET_USERS = (("alice", "Alice Docket", "reviewer", "alice@example.test", False),
                ("bob", "Bob Docket", "analyst", "bob@example.test", False),
                ("dora", "Dora Docket", "reviewer", "dora@example.test", True))


@dataclass(frozen=True)
class SsoServer:
    url: str               # the app, http://127.0.0.1:PORT
    issuer: str            # the provider, http://127.0.0.1:PORT
    db: Database           # the app's database (the tests read what was written)


def _require_provider() -> None:
    problems = []
    if shutil.which("node") is None:
        problems.append("Node.js (node) is missing")
    if not (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        problems.append("the OpenID provider is not installed (npm ci --prefix tests/oidc)")
    if not problems:
        return
    reason = "; ".join(problems)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"SSO browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"SSO browser tests skipped: {reason}")


def _wait_for_discovery(issuer: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the OpenID provider exited with {proc.returncode}:\n"
                               f"{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration",
                                        timeout=2) as r:
                if r.status == 200 and json.load(r)["issuer"] == issuer:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the OpenID provider did not answer in {START_TIMEOUT_S} s:\n"
                       f"{log.read_text()}")


@contextmanager
def running_provider(log_dir: Path, redirect_uri: str, client_secret: str,
                     accounts: dict = ACCOUNTS) -> Iterator[str]:
    """`node tests/oidc/provider.mjs` on a free port; yields its issuer URL once its discovery
    document answers; stopped afterwards."""
    port = free_port()
    log = log_dir / "oidc-provider.log"
    env = {**os.environ, "OIDC_PORT": str(port),
           "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": client_secret,
           "OIDC_REDIRECT_URIS": redirect_uri, "OIDC_ACCOUNTS": json.dumps(accounts)}
    with log.open("wb") as out:
        proc = subprocess.Popen(["node", "provider.mjs"], cwd=OIDC_DIR, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        _wait_for_discovery(issuer, proc, log)
        yield issuer
    finally:
        stop(proc)


def _database(path: Path) -> Database:
    db = Database(f"sqlite:///{path}")
    prepare_database(db, demo=False)
    ensure_demo_users(db)  # admin among them: the one who disables dora
    for username, name, role, email, disabled in DOCKET_USERS:
        add_user(db, username, name, role, "a long enough passphrase", email=email)
        if disabled:
            set_disabled(db, username, True, actor="admin")
    return db


@pytest.fixture(scope="module")
def sso_server(browser_type_launch_args, tmp_path_factory) -> Iterator[SsoServer]:
    """The provider and an app server signing in through it (see the module's docstring);
    `browser_type_launch_args` first: without Chromium, nothing is started."""
    _require_provider()
    folder = tmp_path_factory.mktemp("sso")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client_secret = secrets.token_urlsafe(24)
    with ExitStack() as stack:
        db = _database(folder / "docket.sqlite3")
        stack.callback(db.dispose)
        issuer = stack.enter_context(running_provider(folder, f"{url}/oauth2callback",
                                                      client_secret))
        stack.enter_context(running_app(
            db.url, folder, port=port,
            DOCKET_SSO_METADATA_URL=f"{issuer}/.well-known/openid-configuration",
            DOCKET_SSO_CLIENT_ID=CLIENT_ID, DOCKET_SSO_CLIENT_SECRET=client_secret,
            DOCKET_SSO_REDIRECT_URI=f"{url}/oauth2callback",
            DOCKET_SSO_COOKIE_SECRET=secrets.token_urlsafe(32),
            DOCKET_SSO_PROVIDER_NAME=PROVIDER_NAME, DOCKET_SSO_DISPLAY_NAME=DISPLAY_NAME,
            DOCKET_SSO_ALLOWED_DOMAINS=ALLOWED_DOMAIN, DOCKET_SSO_GROUPS_CLAIM="groups",
            DOCKET_SSO_GROUP_ROLES=",".join(f"{g}={r}" for g, r in GROUPS.items())))
        yield SsoServer(url, issuer, db)
