"""``payez ledger check`` and ``payez bench ledger`` from the command line."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

import payez.entrypoints.cli.ledger  # noqa: F401  (registers the commands under test)
from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, apply_batch
from payez.domain.ledger import Applied, Transfer, TransferMode
from payez.domain.money import Money
from payez.entrypoints.cli.common import app

runner = CliRunner()


def seed(url: str) -> list[int]:
    """Two wallets with some posted and pending history; their ids."""
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            ledger = SqlLedger(c)
            funding = ledger.account_id("card_funding")
            a, b = ledger.open_accounts(2, no_overdraft=True)
        hold = Transfer("hold", a, b, Money.eur(300), TransferMode.PENDING)
        results = apply_batch(
            engine,
            [
                Transfer("fund", funding, a, Money.eur(1_000)),
                Transfer("pay", a, b, Money.eur(200)),
                hold,
                Transfer("hold2", a, b, Money.eur(100), TransferMode.PENDING),
                hold.posting("hold-post"),
            ],
        )
        assert all(isinstance(r, Applied) for r in results)
    finally:
        engine.dispose()
    return [funding, a, b]


def test_check_passes_on_a_sound_ledger(database_url: str) -> None:
    seed(database_url)
    result = runner.invoke(app, ["ledger", "check", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "ledger ok" in result.output
    assert "5 transfers" in result.output
    as_json = runner.invoke(app, ["ledger", "check", "--database-url", database_url, "--json"])
    assert as_json.exit_code == 0
    report = json.loads(as_json.output)
    assert report["ok"] is True and report["problems"] == []
    assert report["posted_sums"] == {"EUR": 0}


def test_check_reports_every_violation_and_exits_1(database_url: str) -> None:
    _, a, b = seed(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as c:
            # A balance changed behind the ledger's back (within the CHECK constraints).
            c.execute(
                text("UPDATE ledger_accounts SET posted = posted + 7 WHERE id = :b"), {"b": b}
            )
            # A transfer that lost its account.
            c.execute(
                text(
                    "INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, "
                    "amount, currency, mode) VALUES ('orphan', :a, 999999, 5, 'EUR', 'posted')"
                ),
                {"a": a},
            )
            # A hold released in the balances without any void transfer.
            c.execute(
                text("UPDATE ledger_accounts SET pending_in = pending_in - 100 WHERE id = :b"),
                {"b": b},
            )
    finally:
        engine.dispose()
    result = runner.invoke(app, ["ledger", "check", "--database-url", database_url])
    assert result.exit_code == 1, result.output
    out = result.output
    assert "problem(s)" in out
    assert "EUR: posted balances sum to 7, not 0" in out
    assert "pending out 100 differs from pending in 0" in out
    assert f"account {b}: stored posted/pending_out/pending_in 507/0/0" in out
    assert f"account {a}:" in out  # the orphan's debit is not in a's balance
    assert "transfer orphan: names a missing account" in out
    report = json.loads(
        runner.invoke(app, ["ledger", "check", "--database-url", database_url, "--json"]).output
    )
    assert report["ok"] is False and len(report["problems"]) >= 5


def test_balance_command(sqlite_url: str) -> None:
    _, a, _ = seed(sqlite_url)
    result = runner.invoke(app, ["ledger", "balance", str(a), "--database-url", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "posted €5.00" in result.output and "available €4.00" in result.output
    funding = runner.invoke(
        app, ["ledger", "balance", "card_funding", "--database-url", sqlite_url]
    )
    assert "posted -€10.00" in funding.output


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_bench_prints_one_json_object(db: str, database_factory: object) -> None:
    args = ["bench", "ledger", "--db", db, "--json", "--accounts", "300", "--transfers", "200"]
    if db == "postgres":
        # A test database of its own, not the shared bench database.
        args += ["--database-url", database_factory("postgres")]  # type: ignore[operator]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    rows = [r for r in payload["results"] if r["bench"] == "ledger"]
    assert {(r["batch"], r["distribution"]) for r in rows} == {
        (batch, dist) for batch in (1, 100, 1000) for dist in ("uniform", "zipf")
    }
    for r in rows:
        assert r["db"] == db
        assert r["transfers_per_s"] > 0
        assert r["refused"] == 0
        # Batched figures read against the baseline measured in the same run.
        assert ("ratio_to_baseline" in r) == (r["batch"] >= 100)
    assert {r["batch"] for r in payload["results"] if r["bench"] == "baseline"} == {100, 1000}
