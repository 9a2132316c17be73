"""``payez operators grant|revoke EMAIL``: who may use the back-office.

This is how the first operator is made; each change is written to the audit log (with no
operator id: the command line acts for whoever runs it on the server).
Exit codes: 0 done, 2 refused with a reason on stderr.
"""

from __future__ import annotations

from typing import Annotated

import typer

from payez.adapters.db.engine import make_engine
from payez.domain.errors import PayezError
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for
from payez.service.context import ServiceContext
from payez.service.operators import grant_operator, revoke_operator

operators_app = typer.Typer(help="Back-office roles: operator, admin.", no_args_is_help=True)
app.add_typer(operators_app, name="operators")


def _context(database_url: str | None) -> ServiceContext:
    settings = settings_for(database_url)
    return ServiceContext(engine=make_engine(settings.database_url), settings=settings)


def _refused(exc: PayezError, email: str) -> typer.Exit:
    typer.echo(f"{exc.code}: {exc.message('en')} ({email})", err=True)
    return typer.Exit(2)


@operators_app.command("grant")
def grant(
    email: Annotated[str, typer.Argument(help="The Payez account's email.")],
    role: Annotated[str, typer.Option("--role", help="operator or admin.")] = "operator",
    database_url: DatabaseUrlOption = None,
) -> None:
    """Give the account with EMAIL a back-office role."""
    ctx = _context(database_url)
    try:
        user_id = grant_operator(ctx, email, role)
    except PayezError as exc:
        raise _refused(exc, email) from exc
    finally:
        ctx.engine.dispose()
    typer.echo(f"user {user_id} ({email}) is now {role}")


@operators_app.command("revoke")
def revoke(
    email: Annotated[str, typer.Argument(help="The Payez account's email.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Take the back-office role away from the account with EMAIL."""
    ctx = _context(database_url)
    try:
        changed = revoke_operator(ctx, email)
    except PayezError as exc:
        raise _refused(exc, email) from exc
    finally:
        ctx.engine.dispose()
    typer.echo(f"{email}: role revoked" if changed else f"{email} had no role: nothing changed")
