"""``payez ledger ...`` and ``payez bench ledger``."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, check_ledger
from payez.bench.ledger import BATCH_SIZES, results_json, run_ledger_bench
from payez.entrypoints.cli.common import DatabaseUrlOption, app, bench_app, settings_for

ledger_app = typer.Typer(help="Inspect and verify the double-entry ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@ledger_app.command("check")
def check(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """Verify every ledger invariant; exit 1 and list each violation when one fails."""
    engine = make_engine(settings_for(database_url).database_url)
    try:
        report = check_ledger(engine)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "accounts": report.accounts,
                    "transfers": report.transfers,
                    "posted_sums": report.posted_sums,
                    "pending_sums": report.pending_sums,
                    "problems": report.problems,
                }
            )
        )
    else:
        typer.echo(report.summary())
        for problem in report.problems:
            typer.echo(f"  - {problem}")
    raise typer.Exit(0 if report.ok else 1)


@ledger_app.command("balance")
def balance(
    account: Annotated[str, typer.Argument(help="An account id or a system account code.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Show an account's posted, held and available balances."""
    engine = make_engine(settings_for(database_url).database_url)
    try:
        with engine.begin() as connection:
            ledger = SqlLedger(connection)
            account_id = int(account) if account.isdigit() else ledger.account_id(account)
            found = ledger.balance(account_id)
    finally:
        engine.dispose()
    typer.echo(
        f"account {account_id}: posted {found.posted}, pending out {found.pending_out}, "
        f"pending in {found.pending_in}, available {found.available}"
    )


@bench_app.command("ledger")
def bench_ledger(
    db: Annotated[str, typer.Option("--db", help="sqlite or postgres")] = "sqlite",
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
    accounts: Annotated[int, typer.Option(help="Funded wallets to move money between.")] = 10_000,
    transfers: Annotated[
        int | None, typer.Option(help="Transfers per case (default: by batch size).")
    ] = None,
    batch: Annotated[
        list[int] | None, typer.Option("--batch", help="Batch sizes (repeatable).")
    ] = None,
    runs: Annotated[int, typer.Option(help="Runs per case: the median counts.")] = 1,
    baseline_accounts: Annotated[
        int | None, typer.Option(help="Accounts of the baseline (default: --accounts).")
    ] = None,
) -> None:
    """Transfers per second: one per transaction and batches of 100 and 1000; batched figures
    also read as a ratio to the baseline (``payez bench baseline``) of the same run."""
    from payez.bench.baseline import run_baseline_bench
    from payez.bench.stats import Row, median_row, with_ratio

    if db not in ("sqlite", "postgres"):
        raise typer.BadParameter("--db must be sqlite or postgres")
    chosen: Literal["sqlite", "postgres"] = "sqlite" if db == "sqlite" else "postgres"
    sizes = tuple(batch) if batch else BATCH_SIZES
    batched = tuple(size for size in sizes if size >= 100)
    by_case: dict[tuple[object, ...], list[Row]] = {}
    # Ledger and baseline runs alternate, so that both meet the same machine (other loads come
    # and go over minutes); the baseline moves money between as many accounts as the ledger
    # does, since how many pages a batch dirties grows with the accounts it spreads over.
    for _ in range(max(1, runs)):
        measured = results_json(
            run_ledger_bench(
                chosen, database_url, accounts=accounts, transfers=transfers, batch_sizes=sizes
            )
        )["results"]
        for row in measured:
            by_case.setdefault(("ledger", row["batch"], row["distribution"]), []).append(row)
        if batched:
            for row in run_baseline_bench(
                chosen,
                database_url,
                users=baseline_accounts if baseline_accounts is not None else accounts,
                batch_sizes=batched,
            ):
                by_case.setdefault(("baseline", row["batch"]), []).append(row)
    rows = [median_row(r, "transfers_per_s") for k, r in by_case.items() if k[0] == "ledger"]
    baseline = [median_row(r, "commands_per_s") for k, r in by_case.items() if k[0] == "baseline"]
    rows = baseline + with_ratio(rows, baseline, "transfers_per_s")
    if as_json:
        typer.echo(json.dumps({"results": rows}))
        return
    for r in rows:
        typer.echo("  ".join(f"{k}={v}" for k, v in r.items()))
