"""The ``payez`` command line. Each command group lives in its own module of this package."""

from __future__ import annotations

from payez.entrypoints.cli import accounts as _accounts
from payez.entrypoints.cli import audit as _audit
from payez.entrypoints.cli import common
from payez.entrypoints.cli import database as _database
from payez.entrypoints.cli import demo as _demo
from payez.entrypoints.cli import ledger as _ledger
from payez.entrypoints.cli import operators as _operators
from payez.entrypoints.cli import orders as _orders
from payez.entrypoints.cli import parse as _parse
from payez.entrypoints.cli import payouts as _payouts
from payez.entrypoints.cli import pipeline_bench as _pipeline_bench
from payez.entrypoints.cli import reconcile as _reconcile
from payez.entrypoints.cli import serve as _serve

app = common.app
_MODULES = (
    _accounts,
    _audit,
    _database,
    _demo,
    _ledger,
    _operators,
    _orders,
    _parse,
    _payouts,
    _pipeline_bench,
    _reconcile,
    _serve,
)


def main() -> None:
    app()
