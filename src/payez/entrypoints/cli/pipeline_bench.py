"""``payez bench pipeline``, ``payez bench baseline`` and ``payez bench memory``.

Every figure is the median of ``--runs`` runs with its spread, and the pipeline's also reads as
a ratio to the baseline measured in the same invocation on the same database.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import typer

from payez.entrypoints.cli.common import DatabaseUrlOption, bench_app

DbOption = Annotated[str, typer.Option("--db", help="sqlite or postgres")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
RunsOption = Annotated[int, typer.Option(help="Runs per case: the median counts.")]
UsersOption = Annotated[int, typer.Option(help="Users sending to each other.")]


def _database(db: str) -> Literal["sqlite", "postgres"]:
    if db not in ("sqlite", "postgres"):
        raise typer.BadParameter("--db must be sqlite or postgres")
    return "sqlite" if db == "sqlite" else "postgres"


def _emit(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"results": rows}))
        return
    for row in rows:
        typer.echo("  ".join(f"{k}={v}" for k, v in row.items() if k != "samples"))


def _baseline(
    db: Literal["sqlite", "postgres"], url: str | None, runs: int
) -> list[dict[str, Any]]:
    from payez.bench.baseline import run_baseline_bench
    from payez.bench.stats import repeated

    return repeated(
        runs,
        lambda: run_baseline_bench(db, url),
        key=lambda r: (r["db"], r["batch"]),
        main="commands_per_s",
    )


@bench_app.command("pipeline")
def bench_pipeline(
    db: DbOption = "sqlite",
    database_url: DatabaseUrlOption = None,
    commands: Annotated[
        int, typer.Option(help="Commands per batch size (and the open loop's saturation).")
    ] = 10_000,
    users: UsersOption = 1_000,
    runs: RunsOption = 1,
    open_loop: Annotated[
        bool, typer.Option("--open-loop", help="Also offer posts at fixed rates (latency).")
    ] = False,
    rate: Annotated[
        list[str] | None,
        typer.Option("--rate", help="Offered posts/s, or 'saturation' (repeatable)."),
    ] = None,
    seconds: Annotated[float, typer.Option(help="Open loop: seconds per offered rate.")] = 10.0,
    workers: Annotated[int, typer.Option(help="Open loop: processor processes.")] = 1,
    batch: Annotated[int, typer.Option(help="Open loop: batch size.")] = 500,
    as_json: JsonOption = False,
) -> None:
    """Commands per second through the inbox processor (policy, ledger, payments, outbox);
    with --open-loop, also the latency from arrival in the inbox to the reply in the outbox."""
    from payez.bench.pipeline import (
        OFFERED_RATES,
        SATURATION,
        rows_of,
        run_open_loop,
        run_pipeline_bench,
    )
    from payez.bench.stats import repeated, with_ratio

    chosen = _database(db)
    rows = repeated(
        runs,
        lambda: rows_of(run_pipeline_bench(chosen, database_url, commands=commands, users=users)),
        key=lambda r: (r["db"], r["batch"]),
        main="commands_per_s",
    )
    if open_loop:
        rates: tuple[int | str, ...] = (
            tuple(r if r == SATURATION else int(r) for r in rate)
            if rate
            else (*OFFERED_RATES, SATURATION)
        )
        rows += repeated(
            runs,
            lambda: run_open_loop(
                chosen,
                database_url,
                rates=rates,
                seconds=seconds,
                users=users,
                batch=batch,
                workers=workers,
                saturation_commands=commands,
            ),
            key=lambda r: (r["db"], r["offered_per_s"], r["workers"]),
            main="commands_per_s",
        )
    baseline = _baseline(chosen, database_url, runs)
    _emit(baseline + with_ratio(rows, baseline, "commands_per_s"), as_json)


@bench_app.command("baseline")
def bench_baseline(
    db: DbOption = "sqlite",
    database_url: DatabaseUrlOption = None,
    runs: RunsOption = 3,
    as_json: JsonOption = False,
) -> None:
    """The machine's own limit: a minimal batched transfer plus outbox row per command."""
    _emit(_baseline(_database(db), database_url, runs), as_json)


@bench_app.command("memory")
def bench_memory(
    db: DbOption = "sqlite",
    database_url: DatabaseUrlOption = None,
    commands: Annotated[int, typer.Option(help="Commands decided in all.")] = 100_000,
    users: UsersOption = 1_000,
    as_json: JsonOption = False,
) -> None:
    """The processor's resident memory, sampled every 10,000 commands of a long run."""
    from payez.bench.memory import run_memory_bench

    _emit(run_memory_bench(_database(db), database_url, commands=commands, users=users), as_json)


@bench_app.command("e2e")
def bench_e2e(
    db: DbOption = "sqlite",
    database_url: DatabaseUrlOption = None,
    rate: Annotated[float, typer.Option(help="Posts offered per second.")] = 200.0,
    seconds: Annotated[float, typer.Option(help="Seconds of posting.")] = 10.0,
    users: UsersOption = 200,
    workers: Annotated[
        int, typer.Option(help="Separate payez worker processes (0: serve's own worker).")
    ] = 0,
    web_processes: Annotated[
        int, typer.Option(help="Processes serve answers requests with (PostgreSQL).")
    ] = 1,
    as_json: JsonOption = False,
) -> None:
    """The whole loop on the sandbox network: posts created there, read by the worker's
    listener, decided, and answered through the network adapter (posts/s, p50/p99 latency)."""
    from payez.bench.e2e import run_e2e_bench

    rows = run_e2e_bench(
        _database(db),
        database_url,
        rate=rate,
        seconds=seconds,
        users=users,
        workers=workers,
        web_processes=web_processes,
    )
    _emit(rows, as_json)


@bench_app.command("load")
def bench_load(
    db: DbOption = "postgres",
    database_url: DatabaseUrlOption = None,
    seconds: Annotated[float, typer.Option(help="Seconds of traffic.")] = 600.0,
    posts_per_s: Annotated[float, typer.Option(help="Command posts per second.")] = 20.0,
    browsers: Annotated[int, typer.Option(help="Members browsing the web app at once.")] = 8,
    users: UsersOption = 100,
    as_json: JsonOption = False,
) -> None:
    """Mixed traffic on a real payez serve (command posts, PSD2 confirmations, members browsing
    and exporting, signed card webhooks): latency percentiles by kind of request, errors, and
    whether memory stays flat."""
    from payez.bench.load import run_load_bench

    rows = run_load_bench(
        _database(db),
        database_url,
        seconds=seconds,
        posts_per_s=posts_per_s,
        browsers=browsers,
        users=users,
    )
    _emit(rows, as_json)
    if any(row.get("errors") for row in rows):
        raise typer.Exit(1)
