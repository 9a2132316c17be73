"""``payez ledger ...`` (owned by the ledger work)."""

from __future__ import annotations

import typer

from payez.entrypoints.cli.common import app

ledger_app = typer.Typer(help="Inspect and verify the double-entry ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
