"""``payez demo seed``: the sandbox users, association, merchant and listing of the tour."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from payez.adapters.db.engine import make_engine
from payez.adapters.db.migrate import migrate
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for

demo_app = typer.Typer(help="The sandbox demo world.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("seed")
def seed(
    database_url: DatabaseUrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create (idempotently) alice, bob, carol, restos, boutique and dave on the sandbox."""
    from payez.sandbox.demo import seed_demo  # the sandbox pulls in the web stack: load on use

    settings = settings_for(database_url)
    migrate(settings.database_url)
    users = seed_demo(make_engine(settings.database_url), settings)
    if as_json:
        payload = {
            "users": {
                u.handle: {
                    "password": u.password,
                    "kind": u.kind,
                    "on_payez": u.on_payez,
                    "email": u.email,
                    "web_password": u.web_password,
                    "totp_secret": u.totp_secret,
                }
                for u in users
            }
        }
        typer.echo(json.dumps(payload))
        return
    for user in users:
        line = f"{user.handle:10} {user.kind:12} password: {user.password}"
        if user.email:
            line += f"  web: {user.email}  totp: {user.totp_secret}"
        typer.echo(line)
