"""``payez accounts show``: one account's balance and links, for operators and scripts."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from payez.adapters.db.engine import make_engine
from payez.domain.errors import PayezError
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for
from payez.service.account_summary import account_summary
from payez.service.context import ServiceContext

accounts_app = typer.Typer(help="Look at user accounts.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")


@accounts_app.command("show")
def show(
    handle: str,
    database_url: DatabaseUrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Balance and held money of the account linked under HANDLE."""
    settings = settings_for(database_url)
    ctx = ServiceContext(engine=make_engine(settings.database_url), settings=settings)
    try:
        summary = account_summary(ctx, handle)
    except PayezError as exc:
        typer.echo(f"{exc.code}: {exc.message('en')} ({handle})", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(summary.as_json()))
        return
    data = summary.as_json()
    for key, value in data.items():
        typer.echo(f"{key:18} {value}")
