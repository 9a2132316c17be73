"""``payez payouts ...``: request, export, and settle SEPA payouts.

Exit codes: 0 done (including "nothing to do"), 2 refused with a reason on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from payez.adapters.db.engine import make_engine
from payez.domain.errors import PayezError
from payez.domain.money import Money
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for
from payez.service.context import ServiceContext
from payez.service.export_payouts import export_payouts
from payez.service.request_payout import request_payout
from payez.service.settle_payouts import mark_batch_executed, reject_payout

payouts_app = typer.Typer(help="Cash out wallets by SEPA credit transfer.", no_args_is_help=True)
app.add_typer(payouts_app, name="payouts")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
T = TypeVar("T")


def _run(database_url: str | None, use_case: Callable[[ServiceContext], T]) -> T:
    """Run a use case; a refusal becomes its code and message on stderr and exit code 2."""
    settings = settings_for(database_url)
    ctx = ServiceContext(engine=make_engine(settings.database_url), settings=settings)
    try:
        return use_case(ctx)
    except PayezError as exc:
        detail = f" ({exc.detail})" if exc.detail else ""
        typer.echo(f"{exc.code}: {exc.message('en')}{detail}", err=True)
        raise typer.Exit(2) from exc
    finally:
        ctx.engine.dispose()


@payouts_app.command("request")
def request(
    handle: Annotated[str, typer.Argument(help="The user's handle, with or without @.")],
    amount_cents: Annotated[int, typer.Option("--amount-cents", help="Amount in euro cents.")],
    iban: Annotated[str, typer.Option("--iban", help="The account to pay, spaces allowed.")],
    name: Annotated[str, typer.Option("--name", help="The account holder's name.")],
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Hold AMOUNT of HANDLE's wallet for a transfer to IBAN; prints the payout id."""
    result = _run(
        database_url,
        lambda ctx: request_payout(
            ctx, handle=handle, amount=Money.eur(amount_cents), iban=iban, creditor_name=name
        ),
    )
    typer.echo(json.dumps(result.as_json()) if as_json else str(result.payout_id))


@payouts_app.command("export")
def export(
    out: Annotated[
        Path, typer.Option("--out", help="The pain.001 file to write (must not exist).")
    ],
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write one pain.001 file with every payout not yet exported, and mark them exported."""
    result = _run(database_url, lambda ctx: export_payouts(ctx, out))
    if as_json:
        typer.echo(json.dumps(result.as_json()))
    elif result.batch_id is None:
        typer.echo("nothing to export: no payout is waiting; no file written")
    else:
        typer.echo(
            f"batch {result.batch_id}: {len(result.payout_ids)} payout(s), "
            f"{result.total.format('en')}, written to {result.path}"
        )


@payouts_app.command("executed")
def executed(
    batch_id: Annotated[str, typer.Argument(help="The batch id (the file's message id).")],
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The bank executed BATCH_ID: pay out its held money. Repeating it changes nothing."""
    result = _run(database_url, lambda ctx: mark_batch_executed(ctx, batch_id))
    if as_json:
        typer.echo(json.dumps(result.as_json()))
        return
    typer.echo(
        f"batch {batch_id}: {len(result.executed)} payout(s) executed now, "
        f"{len(result.already_executed)} already executed, {len(result.rejected)} rejected"
    )


@payouts_app.command("reject")
def reject(
    payout_id: Annotated[int, typer.Argument(help="The payout id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the bank refused it.")],
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The payout will not be paid: return its held money to the wallet. Idempotent."""
    result = _run(database_url, lambda ctx: reject_payout(ctx, payout_id, reason))
    if as_json:
        typer.echo(json.dumps(result.as_json()))
    elif result.changed:
        typer.echo(f"payout {payout_id} rejected: the money is back in the wallet")
    else:
        typer.echo(f"payout {payout_id} was already rejected: nothing changed")
