"""What keeps the API fast, checked as behaviour (speed itself is measured in
benchmarks/bench_api.py, never asserted): the server's connections have TCP_NODELAY (no
delayed-ACK stall on kept-alive connections), and a SQLite database gets planner statistics
at start."""
from __future__ import annotations

import ctypes
import errno
import os
import socket
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from core.intake.importer import import_cases
from core.store.statistics import planner_statistics
from tests.intake.import_files import a_case

PIDFD_OPEN, PIDFD_GETFD = 434, 438  # the same number on every architecture Linux has


def server_pid(port: int) -> int:
    """The server `running_app` started: a child of this process serving on `port`."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmd = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"streamlit" in b" ".join(cmd) and str(port).encode() in cmd:
            return int(stat.parent.name)
    raise AssertionError(f"no server process on port {port} among this process's children")


def server_side_fd(pid: int, port: int, client_port: int) -> int:
    """The server's file descriptor for its end of the connection from `client_port`."""
    inode = None
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":"), fields[2].split(":")
        if int(local[1], 16) == port and int(remote[1], 16) == client_port:
            inode = fields[9]
    assert inode is not None, "the server's end of the connection was not found"
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == f"socket:[{inode}]":
                return int(fd.name)
        except OSError:
            continue
    raise AssertionError(f"no descriptor of process {pid} holds socket {inode}")


def borrowed_socket(pid: int, fd: int) -> socket.socket:
    """The other process's socket, through a descriptor of our own (pidfd_getfd, Linux 5.6):
    the same socket, so its options are the server's."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(PIDFD_OPEN, pid, 0)
    if pidfd < 0:
        pytest.skip(f"pidfd_open: {os.strerror(ctypes.get_errno())}")
    try:
        got = libc.syscall(PIDFD_GETFD, pidfd, fd, 0)
        if got < 0:
            err = ctypes.get_errno()
            if err in (errno.ENOSYS, errno.EPERM, errno.EACCES):
                pytest.skip(f"pidfd_getfd: {os.strerror(err)}")
            raise OSError(err, os.strerror(err))
    finally:
        os.close(pidfd)
    return socket.socket(fileno=got)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, uses pidfd")
def test_the_servers_accepted_connections_have_tcp_nodelay(api):
    port = int(api.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=60) as client:
        for _ in range(2):  # two requests on one kept-alive connection, as httpx sends them
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = b""
            while b'"ok"}' not in answer:
                chunk = client.recv(4096)
                assert chunk, answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200")
        pid = server_pid(port)
        with borrowed_socket(pid, server_side_fd(pid, port, client.getsockname()[1])) as ours:
            assert ours.getsockname()[1] == port
            assert ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_the_server_leaves_planner_statistics_on_sqlite(api):
    if not api.db.is_sqlite:
        pytest.skip("PostgreSQL keeps its own statistics (autovacuum)")
    with api.db.read() as s:
        assert s.execute(text("SELECT count(*) FROM sqlite_master "
                              "WHERE name = 'sqlite_stat1'")).scalar() == 1


def cases_analyzed(db) -> int | None:
    """The cases the statistics were gathered on (None: no statistics)."""
    with db.read() as s:
        if not s.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
            return None
        stats = s.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'cases'")).scalars()
        # each index's row begins with its entries: fewer than the cases for a partial index
        return max((int(stat.split()[0]) for stat in stats if stat), default=0)


def add_cases(db, n: int) -> None:
    import_cases(db, {"cases": [a_case() for _ in range(n)]})


def test_planner_statistics_are_gathered_once_then_again_after_tenfold_growth(db):
    if not db.is_sqlite:
        planner_statistics(db)  # PostgreSQL: nothing to do, nothing fails
        return
    add_cases(db, 3)
    assert cases_analyzed(db) is None
    planner_statistics(db)
    assert cases_analyzed(db) == 3
    add_cases(db, 20)  # 23 cases: under ten times 3, kept
    planner_statistics(db)
    assert cases_analyzed(db) == 3
    add_cases(db, 7)  # 30: ten times 3, gathered again
    planner_statistics(db)
    assert cases_analyzed(db) == 30
    planner_statistics(db)
    assert cases_analyzed(db) == 30


def test_planner_statistics_count_the_cases_not_a_partial_indexs_rows(db):
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    with db.unit_of_work() as s:  # a partial index, as a future migration might add
        s.execute(text("CREATE INDEX ix_test_unassigned ON cases (created_at) "
                       "WHERE assignee IS NULL"))

    def assign_all_but(n: int) -> None:
        with db.unit_of_work() as s:
            s.execute(text("UPDATE cases SET assignee = 'admin' WHERE rowid > :n"), {"n": n})

    add_cases(db, 30)
    assign_all_but(3)  # the partial index holds 3 rows, the table 30
    planner_statistics(db)
    assert cases_analyzed(db) == 30
    add_cases(db, 40)
    assign_all_but(3)  # 70 cases: not ten times 30 (ten times the partial index's 3)
    planner_statistics(db)
    assert cases_analyzed(db) == 30
