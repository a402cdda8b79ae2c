"""Streamlit's `[auth]` secrets from the DOCKET_SSO_* variables, for `st.App(secrets=...)` in
streamlit_app.py (docs/SSO.md). Imports nothing of Streamlit's: the server's main module
loads it before Streamlit's runtime exists, and a custom component imported then (the
sign-in cookie's, through ui/auth.py) would never be served."""
from __future__ import annotations

import re
from typing import Any

from core import config

PROVIDER_NAME = re.compile(r"^[A-Za-z0-9-]{1,40}$")  # Streamlit: no "_" in a provider's name


def secrets_from_env() -> dict[str, Any] | None:
    """Streamlit's `[auth]` section from the DOCKET_SSO_* variables, for `st.App(secrets=...)`;
    None when DOCKET_SSO_METADATA_URL is not set. It replaces any `[auth]` of secrets.toml
    as a whole (Streamlit merges secrets by top-level key). A missing or bad value stops the
    server with one line naming the variable."""
    url = config.setting("DOCKET_SSO_METADATA_URL").strip()
    if not url:
        return None
    values = {env: config.setting(env).strip() for env in (
        "DOCKET_SSO_CLIENT_ID", "DOCKET_SSO_CLIENT_SECRET", "DOCKET_SSO_REDIRECT_URI",
        "DOCKET_SSO_COOKIE_SECRET")}
    missing = [env for env, value in values.items() if not value]
    if missing:
        raise RuntimeError(f"DOCKET_SSO_METADATA_URL is set but {', '.join(missing)} "
                           f"{'is' if len(missing) == 1 else 'are'} not (docs/SSO.md)")
    if not url.startswith(("https://", "http://")):
        raise RuntimeError("DOCKET_SSO_METADATA_URL must be an http(s) URL")
    if not values["DOCKET_SSO_REDIRECT_URI"].rstrip("/").endswith("/oauth2callback"):
        raise RuntimeError("DOCKET_SSO_REDIRECT_URI must be the app's address followed by "
                           "/oauth2callback")
    if len(values["DOCKET_SSO_COOKIE_SECRET"]) < 32:
        raise RuntimeError("DOCKET_SSO_COOKIE_SECRET must be at least 32 characters")
    name = config.setting("DOCKET_SSO_PROVIDER_NAME").strip() or "sso"
    if not PROVIDER_NAME.match(name):
        raise RuntimeError("DOCKET_SSO_PROVIDER_NAME must be 1-40 letters, digits or '-'")
    provider: dict[str, Any] = {"client_id": values["DOCKET_SSO_CLIENT_ID"],
                                "client_secret": values["DOCKET_SSO_CLIENT_SECRET"],
                                "server_metadata_url": url}
    shown = config.setting("DOCKET_SSO_DISPLAY_NAME").strip()
    if shown:
        provider["display_name"] = shown
    prompt = config.setting("DOCKET_SSO_PROMPT").strip()
    if prompt:
        provider["client_kwargs"] = {"prompt": prompt}
    return {"auth": {"redirect_uri": values["DOCKET_SSO_REDIRECT_URI"],
                     "cookie_secret": values["DOCKET_SSO_COOKIE_SECRET"], name: provider}}
