"""`payez serve` and its workers started at the same moment on a new database: each migrates it
and wires the sandbox, and none of them may fail because another did the same."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from payez.adapters.db.engine import make_engine
from payez.config import load_settings
from payez.sandbox.bootstrap import SandboxWiring, wire_sandbox
from payez.sandbox.network import tables

TOGETHER = 4
MIGRATE = "import sys; from payez.adapters.db.migrate import migrate; migrate(sys.argv[1])"
HOLD_A_WRITE = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("CREATE TABLE written (x)")
connection.execute("INSERT INTO written VALUES (1)")
print("holding", flush=True)
time.sleep(1)
connection.execute("COMMIT")
time.sleep(60)
"""


# PostgreSQL: there each process ran the migrations in its own transaction, side by side.
@pytest.mark.postgres
@pytest.mark.parametrize("blank_database_url", ["postgres"], indirect=True)
def test_processes_migrating_a_new_database_at_once_all_succeed(blank_database_url: str) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, blank_database_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(TOGETHER)
    ]
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=120)[0].decode())
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [process.returncode for process in processes] == [0] * TOGETHER, outputs
    engine = make_engine(blank_database_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
            assert versions, "no migration recorded"
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(tables.accounts)).scalar() == 0
            )
    finally:
        engine.dispose()


def test_processes_wiring_the_sandbox_at_once_share_one_service_account(database_url: str) -> None:
    settings = load_settings({"PAYEZ_DATABASE_URL": database_url})
    engine = make_engine(database_url, pool_size=TOGETHER)
    start = threading.Barrier(TOGETHER)

    def wire() -> SandboxWiring:
        start.wait(timeout=10)
        return wire_sandbox(engine, settings)

    try:
        with ThreadPoolExecutor(TOGETHER) as pool:
            wirings = list(pool.map(lambda _: wire(), range(TOGETHER)))
        with engine.connect() as conn:
            service = conn.execute(
                sa.select(tables.accounts.c.id).where(
                    tables.accounts.c.username == settings.service_handle
                )
            ).all()
    finally:
        engine.dispose()
    assert len(service) == 1
    assert len({wiring.service_token for wiring in wirings}) == TOGETHER  # one token each


def test_a_new_sqlite_file_written_by_another_process_is_waited_for(tmp_path: Path) -> None:
    # The other process holds a write on a file not yet in WAL: switching it used to fail at once.
    path = tmp_path / "new.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_WRITE, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        engine = make_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("SELECT count(*) FROM written").scalar() == 1
        finally:
            engine.dispose()
    finally:
        holder.kill()
        holder.wait()
