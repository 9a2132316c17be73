"""The ``payez`` command line. Each command group lives in its own module of this package."""

from __future__ import annotations

from payez.entrypoints.cli import common
from payez.entrypoints.cli import database as _database
from payez.entrypoints.cli import ledger as _ledger
from payez.entrypoints.cli import parse as _parse

app = common.app
_MODULES = (_database, _ledger, _parse)


def main() -> None:
    app()
