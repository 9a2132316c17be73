"""``payez accounts show``: one account's balance and links, for operators and scripts.
``payez accounts reset-factors``: the back-office's second-factor reset, from the server.
``payez accounts link``: link a social account to a Payez account, audited.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from payez.adapters.db.engine import make_engine
from payez.domain.errors import PayezError
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for
from payez.service.account_summary import account_summary
from payez.service.context import ServiceContext
from payez.service.operator_link import link_by_operator
from payez.service.reset_second_factors import reset_second_factors, user_with_email

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


@accounts_app.command("reset-factors")
def reset_factors(
    email: Annotated[str, typer.Argument(help="The Payez account's email.")],
    reference: Annotated[
        str, typer.Option("--reference", help="Reference of the identity re-check.")
    ] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why the factors are reset.")] = "",
    database_url: DatabaseUrlOption = None,
) -> None:
    """Remove the second factors and recovery codes of the account with EMAIL and end its
    sessions, after an identity re-check; audited (with no operator id) and notified by email.
    Exit codes: 0 done, 2 refused with a reason on stderr."""
    settings = settings_for(database_url)
    ctx = ServiceContext(engine=make_engine(settings.database_url), settings=settings)
    try:
        user_id = user_with_email(ctx, email)
        done = reset_second_factors(ctx, None, user_id, reference, reason)
    except PayezError as exc:
        typer.echo(f"{exc.code}: {exc.message('en')} ({email})", err=True)
        raise typer.Exit(2) from exc
    finally:
        ctx.engine.dispose()
    typer.echo(
        f"user {user_id} ({email}): {done.factors} factor(s) removed, "
        f"{done.sessions} session(s) ended"
    )


@accounts_app.command("link")
def link(
    payez_handle: Annotated[
        str, typer.Argument(help="The Payez account, by a handle it is linked under.")
    ],
    network: Annotated[str, typer.Option("--network", help="sandbox, mastodon, x or bluesky.")],
    account_id: Annotated[
        str,
        typer.Option("--account-id", help="The account's immutable id (X: its numeric id)."),
    ],
    handle: Annotated[str, typer.Option("--handle", help="Its current handle, for display.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Link a social account to the Payez account found under PAYEZ_HANDLE (as ``accounts
    show`` finds it); money held for that account is credited. Audited (with no operator id).
    Exit codes: 0 done, 2 refused with a reason on stderr."""
    settings = settings_for(database_url)
    ctx = ServiceContext(engine=make_engine(settings.database_url), settings=settings)
    try:
        done = link_by_operator(ctx, None, payez_handle, network, account_id, handle)
    except PayezError as exc:
        typer.echo(f"{exc.code}: {exc.message('en')} ({payez_handle})", err=True)
        raise typer.Exit(2) from exc
    finally:
        ctx.engine.dispose()
    typer.echo(
        f"user {done.user_id}: {network} account {done.account.id} (@{done.account.handle}) "
        f"linked; {done.credited.format('en')} credited"
    )
