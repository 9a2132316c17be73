"""``payez bench ledger`` measures the ledger and the baseline in alternation, on as many
accounts each, and reads the ledger's batched figures as a ratio to that baseline."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

import payez.bench.baseline as baseline_module
import payez.bench.ledger as ledger_module
import payez.entrypoints.cli.ledger  # noqa: F401  (registers the command under test)
from payez.entrypoints.cli.common import app

runner = CliRunner()


def test_ledger_and_baseline_runs_alternate_on_equal_populations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[tuple[str, int]] = []
    measure_ledger = ledger_module.run_ledger_bench
    measure_baseline = baseline_module.run_baseline_bench

    def ledger(*args: Any, **kwargs: Any) -> Any:
        order.append(("ledger", kwargs["accounts"]))
        return measure_ledger(*args, **kwargs)

    def baseline(*args: Any, **kwargs: Any) -> Any:
        order.append(("baseline", kwargs["users"]))
        return measure_baseline(*args, **kwargs)

    monkeypatch.setattr("payez.entrypoints.cli.ledger.run_ledger_bench", ledger)
    monkeypatch.setattr(baseline_module, "run_baseline_bench", baseline)
    outcome = runner.invoke(
        app,
        ["bench", "ledger", "--db", "sqlite", "--batch", "100", "--accounts", "40",
         "--transfers", "200", "--runs", "2", "--json"],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    assert order == [("ledger", 40), ("baseline", 40)] * 2
    rows: list[dict[str, Any]] = json.loads(outcome.output)["results"]
    assert [r["bench"] for r in rows] == ["baseline", "ledger", "ledger"]
    assert all(r["runs"] == 2 and r["batch"] == 100 for r in rows)
    base = rows[0]["commands_per_s"]
    for row in rows[1:]:
        assert row["refused"] == 0 and row["baseline_per_s"] == base
        assert row["ratio_to_baseline"] == round(row["transfers_per_s"] / base, 3)
