"""Where the sign-in cookie's signing key comes from (core.access.auth_settings)."""
from __future__ import annotations

import stat

import pytest

from core.access.auth_settings import MIN_KEY_CHARS, cookie_key


def test_environment_key_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKET_COOKIE_KEY", "e" * 64)
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text('cookie_key = "' + "s" * 64 + '"\n')
    key = cookie_key(secrets_file)
    assert (key.key, key.source, key.message) == ("e" * 64, "environment", "")


def test_key_is_read_from_the_secrets_file(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCKET_COOKIE_KEY", raising=False)
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text('other = 1\ncookie_key = "' + "s" * 64 + '"\n')
    assert cookie_key(secrets_file).key == "s" * 64


def test_key_is_generated_once_and_saved_privately(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCKET_COOKIE_KEY", raising=False)
    secrets_file = tmp_path / ".streamlit" / "secrets.toml"
    first = cookie_key(secrets_file)
    assert first.source == "generated" and len(first.key) >= MIN_KEY_CHARS
    assert str(secrets_file) in first.message
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    second = cookie_key(secrets_file)
    assert (second.key, second.source, second.message) == (first.key, "secrets file", "")


def test_existing_secrets_are_kept_when_a_key_is_added(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCKET_COOKIE_KEY", raising=False)
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text('smtp_password = "x"')
    key = cookie_key(secrets_file)
    text = secrets_file.read_text()
    assert 'smtp_password = "x"' in text and key.key in text


def test_short_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKET_COOKIE_KEY", "short")
    with pytest.raises(RuntimeError, match="shorter than"):
        cookie_key(tmp_path / "secrets.toml")
