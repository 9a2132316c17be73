"""``payez orders``: what a merchant sold, and refunds."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from payez.adapters.db.engine import make_engine
from payez.domain.errors import PayezError
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for
from payez.service.account_summary import account_summary
from payez.service.context import ServiceContext
from payez.service.refund_order import orders_of, refund_order

orders_app = typer.Typer(help="A merchant's orders and refunds.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")


def _context(database_url: str | None) -> ServiceContext:
    settings = settings_for(database_url)
    return ServiceContext(engine=make_engine(settings.database_url), settings=settings)


@orders_app.command("list")
def list_orders(
    merchant: str,
    database_url: DatabaseUrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The orders of the merchant linked under MERCHANT, newest first."""
    ctx = _context(database_url)
    try:
        found = orders_of(ctx, account_summary(ctx, merchant).user_id)
    except PayezError as exc:
        typer.echo(f"{exc.code}: {exc.message('en')}", err=True)
        raise typer.Exit(2) from exc
    rows = [
        {
            "order_id": o.id,
            "listing_id": o.listing_id,
            "buyer_user_id": o.buyer_user_id,
            "amount_cents": o.amount.cents,
            "state": o.state,
        }
        for o in found
    ]
    if as_json:
        typer.echo(json.dumps({"orders": rows}))
        return
    for row in rows:
        typer.echo(" ".join(f"{k}={v}" for k, v in row.items()))


@orders_app.command("refund")
def refund(
    order_id: int,
    merchant: Annotated[str, typer.Option("--merchant", help="The merchant's handle.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Refund ORDER_ID to its buyer, from the merchant's wallet."""
    ctx = _context(database_url)
    try:
        refunded = refund_order(ctx, order_id, account_summary(ctx, merchant).user_id)
    except PayezError as exc:
        typer.echo(f"{exc.code}: {exc.message('en')}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"refunded order {refunded.id}: {refunded.amount.format('en')}")
