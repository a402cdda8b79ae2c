"""Sign-in tests: users that are not demo accounts (the demo exemption from the second factor
is tested on its own), and helpers to pass the steps."""
from __future__ import annotations

import pytest

from core.access.users import add_user
from core.signin.sessions import Client

KEY_ID = "k" * 16
CLIENT = Client("203.0.113.7", "Mozilla/5.0 (test)")
PASSWORD = "a long enough passphrase"


@pytest.fixture
def people(db, monkeypatch):
    """The database with a non-demo admin, lead, reviewer and analyst (same password)."""
    monkeypatch.setenv("DOCKET_DEMO_MODE", "off")
    for username, role in (("ada", "admin"), ("leo", "lead"), ("rui", "reviewer"),
                           ("ana", "analyst")):
        add_user(db, username, username.title(), role, PASSWORD, email=f"{username}@example.test")
    return db
