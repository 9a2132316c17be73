"""``payez bench pipeline``, ``baseline`` and ``memory`` print one JSON object: a ``results``
list whose rows name their bench and database, with medians over runs and their spread."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import payez.entrypoints.cli.pipeline_bench  # noqa: F401  (registers the commands under test)
from payez.adapters.db.engine import make_engine
from payez.bench import e2e, proc
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


def test_a_process_holds_the_cpu_of_the_children_it_reaped() -> None:
    before = proc.reaped_children_cpu_seconds(os.getpid())
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's own exit ends it)
        deadline = time.process_time() + 0.3
        while time.process_time() < deadline:
            pass
        os._exit(0)
    assert proc.parent(child) == os.getpid()
    os.waitpid(child, 0)
    assert proc.parent(child) is None
    assert proc.reaped_children_cpu_seconds(os.getpid()) - before >= 0.2


def test_what_a_closed_backend_used_during_the_run_is_counted_once() -> None:
    server = 1
    before = {10: 2.0, 11: 3.0, server: 50.0}
    # Backend 11 used 0.4 s more, then closed: its whole 3.4 s moved to the server's reaped
    # children. Backend 10 used 0.5 s more; backend 12 connected and used 0.5 s.
    after = {10: 2.5, 12: 0.5, server: 53.4}
    assert e2e._grown(before, after) == pytest.approx(1.4)


@pytest.mark.postgres
def test_the_database_cpu_counts_a_backend_that_closed_during_the_run(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        before = e2e._database_cpu(engine)
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            pid = conn.info.backend_pid
            conn.execute("SELECT count(*) FROM generate_series(1, 5000000)")
        # Closed, then reaped by the server: gone from /proc.
        deadline = time.monotonic() + 10
        while proc.is_running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not proc.is_running(pid)
        after = e2e._database_cpu(engine)
    finally:
        engine.dispose()
    assert pid not in before and pid not in after
    # Counting five million rows takes a backend well over a tenth of a second; without the
    # server's reaped children, what the closed backend used would count for nothing.
    assert e2e._grown(before, after) >= 0.1
