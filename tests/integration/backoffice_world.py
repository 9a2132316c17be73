"""A web world with a back-office operator, a non-operator, members on the in-memory network,
a flagged payment and payouts — for the back-office tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from payez.adapters.db.engine import make_engine
from payez.domain.money import Money
from payez.service.operators import grant_operator
from payez.service.request_payout import request_payout
from tests.integration.web_world import Browser, WebWorld, web_world

IBAN_FR = "FR14 2004 1010 0505 0001 3M02 606"
# Every table a back-office action could change: compared before and after a refused attempt.
WATCHED_TABLES = (
    "users",
    "operators",
    "payment_flags",
    "audit_log",
    "payouts",
    "payout_batches",
    "payments",
    "ledger_transfers",
)


@dataclass
class Backoffice:
    web: WebWorld
    operator: Browser
    other: Browser
    export_dir: Path

    @property
    def ctx(self) -> Any:
        return self.web.world.ctx

    def member(self, handle: str, **kwargs: Any) -> int:
        return self.web.world.join(handle, **kwargs)

    def request_payout(self, handle: str, cents: int) -> int:
        result = request_payout(
            self.ctx,
            handle=handle,
            amount=Money.eur(cents),
            iban=IBAN_FR,
            creditor_name=f"Titulaire {handle}",
        )
        return result.payout_id

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        with self.ctx.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1"))]

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return {table: self.rows(table) for table in WATCHED_TABLES}

    def audit(self) -> list[dict[str, Any]]:
        with self.ctx.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM audit_log ORDER BY id"))
            return [dict(r._mapping) for r in rows]


@contextlib.contextmanager
def backoffice_world(database_url: str, export_dir: Path, **settings: Any) -> Iterator[Backoffice]:
    settings.setdefault("velocity_burst_count", 2)
    with web_world(database_url, payout_export_dir=str(export_dir), **settings) as web:
        operator = web.browser()
        assert operator.sign_up("ops@example.org", name="Olga Ops").status_code == 303
        grant_operator(web.world.ctx, "ops@example.org")
        other = web.browser()
        assert other.sign_up("mallory@example.org", name="Mallory").status_code == 303
        yield Backoffice(web, operator, other, export_dir)


def raw_engine(database_url: str) -> Any:
    """A second engine, as someone with database access but not going through the code."""
    return make_engine(database_url)
