"""``payez bench pipeline``."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer

from payez.entrypoints.cli.common import DatabaseUrlOption, bench_app


@bench_app.command("pipeline")
def bench_pipeline(
    db: Annotated[str, typer.Option("--db", help="sqlite or postgres")] = "sqlite",
    database_url: DatabaseUrlOption = None,
    commands: Annotated[int, typer.Option(help="Commands per batch size.")] = 10_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Commands per second through the inbox processor (policy, ledger, payments, outbox)."""
    from payez.bench.pipeline import results_json, run_pipeline_bench

    if db not in ("sqlite", "postgres"):
        raise typer.BadParameter("--db must be sqlite or postgres")
    chosen: Literal["sqlite", "postgres"] = "sqlite" if db == "sqlite" else "postgres"
    results = run_pipeline_bench(chosen, database_url, commands=commands)
    if as_json:
        typer.echo(json.dumps(results_json(results)))
        return
    for r in results:
        typer.echo(f"{r.db:8} batch {r.batch:4}  {r.commands_per_s:10.1f} commands/s")
