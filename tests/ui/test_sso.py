"""Single sign-on configuration (ui/sso.py, ui/sso_secrets.py): which providers get a button,
how they are named, and Streamlit's [auth] section built from the DOCKET_SSO_* variables (a
missing or bad value stops the server naming the variable; no secret in the message)."""
from __future__ import annotations

import pytest

from ui import sso
from ui.sso_secrets import secrets_from_env

COOKIE = "c" * 40
ENV = {"DOCKET_SSO_METADATA_URL": "https://id.example.com/.well-known/openid-configuration",
       "DOCKET_SSO_CLIENT_ID": "docket-app", "DOCKET_SSO_CLIENT_SECRET": "s3cr3t-value",
       "DOCKET_SSO_REDIRECT_URI": "https://docket.example.com/oauth2callback",
       "DOCKET_SSO_COOKIE_SECRET": COOKIE}


@pytest.fixture
def env(monkeypatch):
    for name in (*ENV, "DOCKET_SSO_PROVIDER_NAME", "DOCKET_SSO_DISPLAY_NAME",
                 "DOCKET_SSO_PROMPT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_no_metadata_url_no_secrets(monkeypatch):
    monkeypatch.delenv("DOCKET_SSO_METADATA_URL", raising=False)
    assert secrets_from_env() is None


def test_the_variables_make_streamlits_auth_section(env):
    assert secrets_from_env() == {"auth": {
        "redirect_uri": ENV["DOCKET_SSO_REDIRECT_URI"], "cookie_secret": COOKIE,
        "sso": {"client_id": "docket-app", "client_secret": "s3cr3t-value",
                "server_metadata_url": ENV["DOCKET_SSO_METADATA_URL"]}}}


def test_name_display_name_and_prompt(env):
    env.setenv("DOCKET_SSO_PROVIDER_NAME", "okta")
    env.setenv("DOCKET_SSO_DISPLAY_NAME", "Okta (Acme)")
    env.setenv("DOCKET_SSO_PROMPT", "login")
    provider = secrets_from_env()["auth"]["okta"]
    assert provider["display_name"] == "Okta (Acme)"
    assert provider["client_kwargs"] == {"prompt": "login"}


@pytest.mark.parametrize("name, value, words", [
    ("DOCKET_SSO_CLIENT_SECRET", "", "DOCKET_SSO_CLIENT_SECRET is not"),
    ("DOCKET_SSO_COOKIE_SECRET", "short", "at least 32"),
    ("DOCKET_SSO_REDIRECT_URI", "https://docket.example.com/", "/oauth2callback"),
    ("DOCKET_SSO_METADATA_URL", "id.example.com", "http(s) URL"),
    ("DOCKET_SSO_PROVIDER_NAME", "my_idp", "DOCKET_SSO_PROVIDER_NAME"),  # Streamlit: no "_"
])
def test_a_missing_or_bad_value_stops_the_server_naming_it(env, name, value, words):
    env.setenv(name, value)
    with pytest.raises(RuntimeError) as e:
        secrets_from_env()
    assert words in str(e.value)
    assert "s3cr3t-value" not in str(e.value) and COOKIE not in str(e.value)


AUTH = {"redirect_uri": "https://docket.example.com/oauth2callback", "cookie_secret": COOKIE}


@pytest.mark.parametrize("section, providers", [
    ({}, []),                                                   # no secrets.toml / no [auth]
    ({**AUTH}, []),                                             # no provider
    ({"okta": {"client_id": "x"}}, []),                         # no redirect_uri/cookie_secret
    ({**AUTH, "okta": {"client_id": "x", "server_metadata_url": "u"}}, [("okta", "Okta")]),
    ({**AUTH, "entra": {"client_id": "x", "display_name": "Microsoft"},
      "google": {"server_metadata_url": "u"}},
     [("entra", "Microsoft"), ("google", "Google")]),
    ({**AUTH, "sso": {"client_id": "x"}}, [("sso", "SSO")]),
    ({**AUTH, "client_id": "x", "server_metadata_url": "u"}, [("default", "SSO")]),
    ({**AUTH, "expose_tokens": ["id"], "misc": {"x": 1}}, []),  # other sections: no button
])
def test_the_providers_that_get_a_button(monkeypatch, section, providers):
    monkeypatch.setattr(sso, "_auth_section", lambda: section)
    assert sso.sso_providers() == providers


def test_reading_the_secrets_outside_a_server_run_does_not_raise():
    assert isinstance(sso.sso_providers(), list)  # with or without a secrets.toml
