"""The real app under `streamlit run` for tests that need the server: the browser tests and
the API tests. Yields its URL once /_stcore/health answers; stops it afterwards."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120  # only a hung start fails: a loaded machine may take a while


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Ends a server process: asked first, killed if it does not go within `timeout`."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit did not become healthy in {timeout} s:\n{log.read_text()}")


@contextmanager
def running_app(db_url: str, log_dir: Path, port: int | None = None,
                **env_overrides: str) -> Iterator[str]:
    """The real app under `streamlit run` on `db_url`, on a free port (or `port`), with demo
    mode off and a fresh cookie key; extra DOCKET_* variables as keyword arguments. Yields its
    URL once /_stcore/health answers; stops it afterwards."""
    port = port or free_port()
    log = log_dir / "streamlit.log"
    # DOCKET_MFA_REQUIRED=off: the seeded admins and leads sign in with a password alone
    # (outside demo mode they would need a second factor); tests/browser/test_browser_mfa.py
    # runs its own server with the default.
    env = {**os.environ, "DOCKET_DATABASE_URL": db_url, "DOCKET_DEMO_MODE": "off",
           "DOCKET_COOKIE_KEY": secrets.token_urlsafe(48)[:64], "PYTHONUNBUFFERED": "1",
           "DOCKET_MFA_REQUIRED": "off", **env_overrides}
    # No file watcher: a source file saved while the server runs (an editor, another checkout's
    # work) must not make Streamlit re-import modules mid-test (two copies of a class).
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield url
    finally:
        stop(proc)
