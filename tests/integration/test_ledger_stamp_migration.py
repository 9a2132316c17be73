"""Migration ``0036_ledger_write_stamp``: one stamp row, that SQLite's batches change and
PostgreSQL's leave alone; it goes and comes back with the ledger's branch, on both databases."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, check_ledger
from payez.adapters.db.migrate import alembic_config, migrate
from payez.domain.ledger import Applied, Transfer
from payez.domain.money import Money

BEFORE = "0034_ledger_checks_without_lists"


def _stamps(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as c:
        return [(r[0], r[1]) for r in c.execute(text("SELECT id, stamp FROM ledger_write_stamp"))]


def _pay(engine: Engine, key: str) -> None:
    with engine.begin() as c:
        ledger = SqlLedger(c)
        funding = ledger.account_id("card_funding")
        wallet = ledger.open_account(no_overdraft=True)
        assert isinstance(ledger.apply([Transfer(key, funding, wallet, Money.eur(5))])[0], Applied)


def test_the_stamp_row_comes_and_goes_with_the_ledger(blank_database_url: str) -> None:
    url = blank_database_url
    migrate(url)
    engine = make_engine(url)
    try:
        assert _stamps(engine) == [(1, 0)]
        _pay(engine, "first")
        (stamp,) = _stamps(engine)
        if engine.dialect.name == "sqlite":
            assert stamp[1] != 0
        else:
            assert stamp == (1, 0)
        with pytest.raises(IntegrityError), engine.begin() as c:
            c.execute(text("INSERT INTO ledger_write_stamp (id, stamp) VALUES (2, 0)"))

        command.downgrade(alembic_config(url), BEFORE)
        assert "ledger_write_stamp" not in inspect(engine).get_table_names()
        migrate(url)
        assert _stamps(engine) == [(1, 0)]
        _pay(engine, "second")
        assert check_ledger(engine).ok
    finally:
        engine.dispose()
