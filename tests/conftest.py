"""Shared fixtures: fresh, migrated databases on SQLite and on the real PostgreSQL server.

PostgreSQL tests never skip: when the server cannot be reached they fail, loudly.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from payez.adapters.db.migrate import migrate

if TYPE_CHECKING:
    from tests.integration.atproto_server import AtprotoNetwork, BlueskyWorld

POSTGRES_ADMIN_URL = os.environ.get(
    "PAYEZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

DatabaseFactory = Callable[[str], str]


def _admin_connect() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # pragma: no cover - the failure is the point
        pytest.fail(f"PostgreSQL is required and unreachable at {POSTGRES_ADMIN_URL}: {exc}")


@contextlib.contextmanager
def _databases(tmp_path: Path, *, migrated: bool) -> Iterator[DatabaseFactory]:
    created: list[str] = []

    def make(kind: str) -> str:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'payez-{uuid.uuid4().hex[:8]}.db'}"
        elif kind == "postgres":
            name = f"payez_test_{uuid.uuid4().hex[:12]}"
            with _admin_connect() as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            created.append(name)
            url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
        else:
            raise ValueError(kind)
        if migrated:
            migrate(url)
        return url

    try:
        yield make
    finally:
        if created:
            with _admin_connect() as conn:
                for name in created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_factory(tmp_path: Path) -> Iterator[DatabaseFactory]:
    """Makes fresh, migrated databases: ``factory("sqlite")`` or ``factory("postgres")``."""
    with _databases(tmp_path, migrated=True) as make:
        yield make


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, database_factory: DatabaseFactory) -> str:
    """A fresh, migrated database, once on SQLite and once on PostgreSQL."""
    return database_factory(request.param)


@pytest.fixture
def postgres_url(database_factory: DatabaseFactory) -> str:
    return database_factory("postgres")


@pytest.fixture
def sqlite_url(database_factory: DatabaseFactory) -> str:
    return database_factory("sqlite")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (no migration applied), once on SQLite and once on PostgreSQL:
    for tests of the migrations themselves."""
    with _databases(tmp_path, migrated=False) as make:
        yield make(request.param)


@pytest.fixture
def netrc_for_localhost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``~/.netrc`` (through ``NETRC``) with credentials for 127.0.0.1, where the test servers
    listen: a client that read it would send them instead of its own."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login intruder password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))


# -- no process left behind ------------------------------------------------------------------------

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


@pytest.fixture(scope="session")
def atproto_network() -> Iterator[AtprotoNetwork]:
    """The AT Protocol reference network, started once for the tests that need it."""
    from tests.integration.atproto_server import running_atproto_network

    with running_atproto_network() as network:
        yield network


@pytest.fixture
def bluesky_world(atproto_network: AtprotoNetwork) -> Iterator[BlueskyWorld]:
    from tests.integration.atproto_server import BlueskyWorld

    world = BlueskyWorld(atproto_network)
    try:
        yield world
    finally:
        world.close()


def _descendants(root: int) -> dict[int, str]:
    """Live (not zombie) descendants of process ``root``, with their command lines, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if state != "Z":
            children.setdefault(int(ppid), []).append(int(entry.name))
    found: dict[int, str] = {}
    pending = list(children.get(root, []))
    while pending:
        pid = pending.pop()
        try:
            command = (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")).decode()
        except OSError:
            continue
        found[pid] = command.strip() or "?"
        pending.extend(children.get(pid, []))
    return found


def pytest_configure(config: pytest.Config) -> None:
    """Make this process the subreaper of its descendants: one whose parent exits (a daemon, a
    grandchild of an exited shell) is then re-parented here rather than to init, and stays
    visible to the check below."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


# Python's own helper for the multiprocessing of the benchmarks: one per interpreter, started on
# first use, it ends when this process does (it reads until its pipe closes), like a thread.
INTERPRETER_HELPERS = ("multiprocessing.resource_tracker",)


def _left_by_tests() -> dict[int, str]:
    return {
        pid: command
        for pid, command in _descendants(os.getpid()).items()
        if not any(helper in command for helper in INTERPRETER_HELPERS)
    }


# What the xdist workers found left running, gathered in the process that distributed the tests.
LEFT_BY_WORKERS = pytest.StashKey[list[str]]()


def _distributing(config: pytest.Config) -> bool:
    """Whether this process hands the tests to pytest-xdist workers rather than running them."""
    return not hasattr(config, "workerinput") and bool(config.getoption("numprocesses", None))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a test left a process running. Session fixtures are torn down by now,
    so whatever still runs was started by a test and never stopped. They get a few seconds to
    finish exiting, are then listed and killed, so a failing run leaves nothing behind either.

    Under pytest-xdist each worker checks its own descendants and hands its findings to the
    process that distributed the tests (``pytest_testnodedown``), which fails the run."""
    config = session.config
    if _distributing(config):
        lines = config.stash.get(LEFT_BY_WORKERS, [])
        if lines:
            _report_left(session, lines)
        return
    deadline = time.monotonic() + 3
    left = _left_by_tests()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _left_by_tests()
    if not left:
        return
    lines = [f"pid {pid}: {command[:200]}" for pid, command in sorted(left.items())]
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    worker = getattr(config, "workeroutput", None)
    if worker is not None:
        worker["left_processes"] = lines
    _report_left(session, lines)


def pytest_testnodedown(node: Any, error: object) -> None:
    """A worker of pytest-xdist ended: keep the processes it found left running."""
    lines = node.workeroutput.get("left_processes", []) if hasattr(node, "workeroutput") else []
    if lines:
        node.config.stash.setdefault(LEFT_BY_WORKERS, []).extend(lines)


def _report_left(session: pytest.Session, lines: list[str]) -> None:
    title = f"{len(lines)} process(es) left running by the tests (now killed)"
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_sep("=", title, red=True, bold=True)
        for line in lines:
            reporter.write_line(line, red=True)
    else:
        sys.stderr.write("\n".join([title, *lines]) + "\n")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
