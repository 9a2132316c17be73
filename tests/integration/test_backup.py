"""``payez backup``: an online copy of the SQLite database, taken while money moves, is one
committed state that passes the ledger check; PostgreSQL and an existing file are refused."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import check_ledger
from payez.domain.money import Money
from payez.entrypoints.cli import app
from payez.ports.clock import SystemClock
from payez.service.load_wallet import load_wallet
from payez.service.open_account import open_user


def _run(database_url: str, *args: str) -> Any:
    runner = CliRunner(env={k: None for k in os.environ if k.startswith("PAYEZ_")})
    return runner.invoke(app, [*args, "--database-url", database_url])


def _loads(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM ledger_transfers")).scalar_one())
    finally:
        engine.dispose()


def test_a_copy_taken_while_money_moves_is_consistent(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        user = open_user(conn, kind="person", display_name="Ada", now=SystemClock().now())
    stop = threading.Event()
    written = [0]

    def keep_loading() -> None:
        while not stop.is_set():
            with engine.begin() as conn:
                load_wallet(conn, user, Money.eur(1), f"load:{written[0]}")
            written[0] += 1

    writer = threading.Thread(target=keep_loading)
    writer.start()
    try:
        while written[0] < 200:  # a ledger with some history, still growing during the copy
            stop.wait(0.01)
        copies = [tmp_path / f"copy-{n}.db" for n in range(3)]
        for copy in copies:
            result = _run(sqlite_url, "backup", str(copy))
            assert result.exit_code == 0, result.output
            assert f"backed up to {copy}" in result.output
    finally:
        stop.set()
        writer.join(30)
    engine.dispose()
    counts = []
    for copy in copies:
        report = check_ledger(make_engine(f"sqlite:///{copy}"))
        assert report.ok, report.problems
        counts.append(_loads(f"sqlite:///{copy}"))
        assert not copy.with_name(copy.name + ".partial").exists()
    # Each copy is a later committed state than the one before, none beyond the live database.
    assert counts == sorted(counts) and counts[0] >= 200
    assert counts[-1] <= _loads(sqlite_url)


def test_backup_refuses_postgres_and_never_overwrites(
    sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    refused = _run(postgres_url, "backup", str(tmp_path / "pg.db"))
    assert refused.exit_code == 1
    assert "pg_basebackup" in refused.output
    assert not (tmp_path / "pg.db").exists()

    existing = tmp_path / "keep.db"
    existing.write_bytes(b"precious")
    again = _run(sqlite_url, "backup", str(existing))
    assert again.exit_code == 1 and "exists already" in again.output
    assert existing.read_bytes() == b"precious"
