"""Docket's server: the dashboard and its HTTP API, in one process on one port.

`python -m streamlit run streamlit_app.py` serves the dashboard (`dashboard.py`, its pages in
`pages/`, widgets in `ui/`) and, beside it, the API at /api/v1 (`api/`, see docs/API.md), the
operations routes /healthz and /readyz, and the Cases page's streamed CSV download
(/downloads/cases.csv, `api/downloads.py`). On start it prepares the database (schema,
default workflows and views, demo data in demo mode) and starts the embedded notification
dispatcher, so the API answers before anyone opens the dashboard.
"""
from __future__ import annotations

import os
import re
import socket
from contextlib import asynccontextmanager

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount

from api import create_api
from api.app import API_PREFIX
from api.downloads import ROUTES as DOWNLOAD_ROUTES
from api.metrics import ROUTES as METRICS_ROUTES
from api.ops import ROUTES
from core.app_setup import start_server
from ui.sso_secrets import secrets_from_env


def no_delay_on_listening_sockets(port: int) -> int:
    """Sets TCP_NODELAY on this process's listening TCP sockets on `port` (the server's);
    the connections they accept inherit it (Linux, macOS). Returns how many it set.

    Streamlit binds the server's socket itself with `socket.socket(family)`, protocol 0, and
    asyncio sets TCP_NODELAY only on sockets whose protocol is IPPROTO_TCP. Without it, every
    response after the first on a kept-alive connection stalls about 40 ms: uvicorn writes a
    response's head and body separately, and Nagle's algorithm holds the body until the
    client's delayed ACK of the head. The socket is not reachable from the app, so this
    looks for it among the process's file descriptors (/dev/fd; none on Windows: a no-op)."""
    try:
        fds = [int(name) for name in os.listdir("/dev/fd") if name.isdigit()]
    except OSError:
        return 0
    done = 0
    for fd in fds:
        try:
            copy = os.dup(fd)
        except OSError:  # closed since the listing (the listing's own descriptor)
            continue
        try:
            sock = socket.socket(fileno=copy)  # the same socket: options set on it are shared
        except OSError:  # not a socket
            os.close(copy)
            continue
        with sock:
            try:
                if (sock.family in (socket.AF_INET, socket.AF_INET6)
                        and sock.type == socket.SOCK_STREAM
                        and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                        and sock.getsockname()[1] == port):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    done += 1
            except OSError:
                continue
    return done


@asynccontextmanager
async def lifespan(_app):
    no_delay_on_listening_sockets(st.get_option("server.port"))
    await run_in_threadpool(start_server)
    yield


api_mount = Mount(API_PREFIX, app=create_api())
# Starlette's mount pattern (`.*`) stops at a newline: /api/v1/cases/a%0Ab would miss the API
# and get the dashboard's plain-text 404. Match every character: the API answers (a problem).
api_mount.path_regex = re.compile(api_mount.path_regex.pattern, re.DOTALL)
# Single sign-on from DOCKET_SSO_* (docs/SSO.md): Streamlit's [auth] secrets, or None (then
# [auth] of .streamlit/secrets.toml, if any).
app = st.App("dashboard.py", routes=[api_mount, *ROUTES, *METRICS_ROUTES, *DOWNLOAD_ROUTES],
             lifespan=lifespan, secrets=secrets_from_env())
