"""``payez reconcile``: the card processor against our records and the ledger.

Exit codes: 0 clean, 1 differences found (each listed), 2 could not run.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from payez.adapters.db.engine import make_engine
from payez.domain.errors import PayezError
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for
from payez.entrypoints.composition import card_processor_for
from payez.service.context import ServiceContext
from payez.service.reconcile import reconcile as reconcile_records


@app.command("reconcile")
def reconcile(
    database_url: DatabaseUrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compare the processor's charges and refunds with our charges, the ledger and payouts."""
    settings = settings_for(database_url)
    engine = make_engine(settings.database_url)
    try:
        ctx = ServiceContext(engine=engine, settings=settings)
        report = reconcile_records(ctx, card_processor_for(settings, engine))
    except PayezError as exc:
        typer.echo(f"{exc.code}: {exc.message('en')}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(report.as_json()))
    else:
        typer.echo(report.summary())
        for difference in report.differences:
            typer.echo(f"  - {difference.line()}")
    raise typer.Exit(0 if report.ok else 1)
