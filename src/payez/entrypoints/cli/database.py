"""``payez migrate`` and ``payez backup``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from payez.adapters.db.backup import BackupRefused, back_up_sqlite
from payez.adapters.db.migrate import migrate as apply_migrations
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for


@app.command("migrate")
def migrate(database_url: DatabaseUrlOption = None) -> None:
    """Create or upgrade the database schema."""
    settings = settings_for(database_url)
    apply_migrations(settings.database_url)
    typer.echo(f"migrated {settings.database_url}")


@app.command("backup")
def backup(
    destination: Annotated[Path, typer.Argument(help="The file to write (must not exist).")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Copy the SQLite database, online and consistent, while the service runs."""
    settings = settings_for(database_url)
    try:
        made = back_up_sqlite(settings.database_url, destination)
    except BackupRefused as refused:
        typer.echo(f"error: {refused.detail or refused.message_en}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"backed up to {made.path} ({made.size_bytes} bytes, {made.pages} pages)")
