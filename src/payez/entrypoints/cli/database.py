"""``payez migrate``."""

from __future__ import annotations

import typer

from payez.adapters.db.migrate import migrate as apply_migrations
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for


@app.command("migrate")
def migrate(database_url: DatabaseUrlOption = None) -> None:
    """Create or upgrade the database schema."""
    settings = settings_for(database_url)
    apply_migrations(settings.database_url)
    typer.echo(f"migrated {settings.database_url}")
