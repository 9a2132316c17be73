"""The root Typer app, the shared ``bench`` group and options every command reuses."""

from __future__ import annotations

from typing import Annotated

import typer

from payez.config import Settings, load_settings

app = typer.Typer(
    name="payez",
    help="Payez: pay by post. Operate the service, its ledger and its benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Measure the hot paths; each benchmark prints JSON with --json.")
app.add_typer(bench_app, name="bench")

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="sqlite:///path.db or postgresql://user@host:port/db (default: PAYEZ_DATABASE_URL)",
    ),
]


def settings_for(database_url: str | None = None) -> Settings:
    return load_settings(database_url=database_url)
