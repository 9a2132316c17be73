"""``payez bench pipeline``, ``baseline`` and ``memory`` print one JSON object: a ``results``
list whose rows name their bench and database, with medians over runs and their spread."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import payez.entrypoints.cli.pipeline_bench  # noqa: F401  (registers the commands under test)
from payez.bench import e2e
from payez.entrypoints.cli.common import app

runner = CliRunner()


def results(args: list[str]) -> list[dict[str, Any]]:
    outcome = runner.invoke(app, ["bench", *args, "--json"])
    assert outcome.exit_code == 0, outcome.output
    rows: list[dict[str, Any]] = json.loads(outcome.output)["results"]
    return rows


def test_pipeline_closed_and_open_loop_with_the_baseline(sqlite_url: str) -> None:
    rows = results(
        ["pipeline", "--db", "sqlite", "--database-url", sqlite_url, "--commands", "60",
         "--users", "12", "--runs", "2", "--open-loop", "--rate", "40", "--rate", "saturation",
         "--seconds", "1"]
    )  # fmt: skip
    assert {r["bench"] for r in rows} == {"baseline", "pipeline", "pipeline_open"}
    assert all(r["db"] == "sqlite" and r["runs"] == 2 and r["spread"] >= 0 for r in rows)
    closed = {r["batch"]: r for r in rows if r["bench"] == "pipeline"}
    assert set(closed) == {100, 500}
    for row in closed.values():
        assert row["commands"] == 60 and row["commands_per_s"] > 0
        assert row["ratio_to_baseline"] == round(row["commands_per_s"] / row["baseline_per_s"], 3)
    open_loop = {r["offered_per_s"]: r for r in rows if r["bench"] == "pipeline_open"}
    assert set(open_loop) == {40, "saturation"}
    # Every post offered got its reply, and the latencies are ordered.
    assert open_loop[40]["commands"] == 40
    assert open_loop["saturation"]["commands"] == 60
    for row in open_loop.values():
        assert 0 < row["p50_ms"] <= row["p99_ms"]
    assert "ratio_to_baseline" in open_loop["saturation"]
    assert "ratio_to_baseline" not in open_loop[40]


def test_memory_samples_the_resident_set(sqlite_url: str) -> None:
    (row,) = results(
        ["memory", "--db", "sqlite", "--database-url", sqlite_url, "--commands", "300",
         "--users", "10"]
    )  # fmt: skip
    assert row["bench"] == "memory" and row["db"] == "sqlite"
    assert row["commands"] == 300
    assert row["peak_rss_mb"] >= row["rss_at_end_mb"] > 0
    assert [s["commands"] for s in row["samples"]] == [300]


def test_e2e_answers_every_post_on_the_sandbox(sqlite_url: str) -> None:
    (row,) = results(
        ["e2e", "--db", "sqlite", "--database-url", sqlite_url, "--rate", "10",
         "--seconds", "1", "--users", "4"]
    )  # fmt: skip
    assert row["bench"] == "e2e" and row["db"] == "sqlite"
    assert row["posts"] == row["replied"] == 10
    assert row["bench_cpu_ms_per_post"] > 0  # the posters and the watcher, measured
    assert row["db_cpu_ms_per_post"] == 0.0  # SQLite's work is in Payez's processes
    assert 0 < row["p50_ms"] <= row["p99_ms"]
    # Where the time went, stage by stage, from the stored timestamps: each stage took some.
    for stage in ("listen", "decide", "reply"):
        assert 0 < row[f"{stage}_p50_ms"] <= row[f"{stage}_p99_ms"], stage


@pytest.mark.postgres
def test_e2e_with_two_web_processes_counts_their_cpu(postgres_url: str) -> None:
    (row,) = results(
        ["e2e", "--db", "postgres", "--database-url", postgres_url, "--rate", "10",
         "--seconds", "1", "--users", "4", "--web-processes", "2"]
    )  # fmt: skip
    assert row["web_processes"] == 2
    assert row["posts"] == row["replied"] == 10
    # The parent of the web processes only watches them: the CPU counted is theirs.
    assert row["cpu_ms_per_post"] > 0
    # The server runs on this machine: its backends' CPU is read too.
    assert row["db_cpu_ms_per_post"] > 0


def test_a_database_server_elsewhere_has_no_backends_read_here() -> None:
    # Its pids are another machine's: nothing is asked of it, nothing read from /proc.
    engine = sa.create_engine("postgresql+psycopg://payez@db.example.org/payez")
    try:
        assert e2e._database_cpu(engine) == {}
    finally:
        engine.dispose()
