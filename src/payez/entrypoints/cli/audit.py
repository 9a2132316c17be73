"""``payez audit verify``: check the audit log's hash chain.

Exit codes: 0 the chain is intact (prints the count and the head hash: keep it, it also
vouches that no newest entry was removed), 1 broken (names the first entry that does not
fit), 2 could not run.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from payez.adapters.db.engine import make_engine
from payez.domain.errors import PayezError
from payez.entrypoints.cli.common import DatabaseUrlOption, app, settings_for
from payez.service.audit_log import verify_audit_log
from payez.service.context import ServiceContext

audit_app = typer.Typer(help="The audit log of operator actions.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(
    database_url: DatabaseUrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recompute every entry's hash and check each one names the previous entry's hash."""
    settings = settings_for(database_url)
    engine = make_engine(settings.database_url)
    try:
        report, head = verify_audit_log(ServiceContext(engine=engine, settings=settings))
    except PayezError as exc:
        typer.echo(f"{exc.code}: {exc.message('en')}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    broken = report.broken
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "checked": report.checked,
                    "head": head,
                    "broken_entry": broken.entry_id if broken else None,
                    "reason": broken.reason if broken else None,
                }
            )
        )
    elif broken is None:
        typer.echo(f"audit log intact: {report.checked} entries, head {head or '-'}")
    else:
        typer.echo(
            f"audit log BROKEN at entry {broken.entry_id} ({broken.reason}); "
            f"{report.checked} entries before it are intact",
            err=True,
        )
    raise typer.Exit(0 if report.ok else 1)
