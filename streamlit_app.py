"""Docket's server: the dashboard and its HTTP API, in one process on one port.

`python -m streamlit run streamlit_app.py` serves the dashboard (`dashboard.py`, its pages in
`pages/`, widgets in `ui/`) and, beside it, the API at /api/v1 (`api/`, see docs/API.md) and
the operations routes /healthz and /readyz. On start it prepares the database (schema,
default workflows and views, demo data in demo mode) and starts the embedded notification
dispatcher, so the API answers before anyone opens the dashboard.
"""
from __future__ import annotations

import re
from contextlib import asynccontextmanager

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount

from api import create_api
from api.app import API_PREFIX
from api.metrics import ROUTES as METRICS_ROUTES
from api.ops import ROUTES
from core.app_setup import start_server


@asynccontextmanager
async def lifespan(_app):
    await run_in_threadpool(start_server)
    yield


api_mount = Mount(API_PREFIX, app=create_api())
# Starlette's mount pattern (`.*`) stops at a newline: /api/v1/cases/a%0Ab would miss the API
# and get the dashboard's plain-text 404. Match every character: the API answers (a problem).
api_mount.path_regex = re.compile(api_mount.path_regex.pattern, re.DOTALL)
app = st.App("dashboard.py", routes=[api_mount, *ROUTES, *METRICS_ROUTES], lifespan=lifespan)
