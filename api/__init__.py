"""Docket's HTTP API (`/api/v1`), served by the same process and port as the dashboard.

A thin entrypoint like `pages/` and `core/cli`: each route parses, calls one `core` function
as the key's user, and maps `core.errors` to RFC 9457 problems. See docs/API.md.
"""
from api.app import create_api

__all__ = ["create_api"]
