"""Migration ``0034_ledger_checks_without_lists`` rewrites the transfer-mode checks without
``IN`` lists: every stored transfer survives, both ways, and the database refuses exactly what
it refused before, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, check_ledger
from payez.adapters.db.migrate import alembic_config, migrate
from payez.domain.ledger import Applied, PendingResolved, Transfer, TransferMode
from payez.domain.money import Money

BEFORE = "0032_ledger_account_names"
TRANSFERS = (
    "SELECT id, key, debit_account_id, credit_account_id, amount, currency, mode, pending_key, "
    "memo, created_at FROM ledger_transfers ORDER BY id"
)


def _insert(c: Connection, mode: str, pending_key: str | None, key: str = "bad") -> None:
    c.execute(
        text(
            "INSERT INTO ledger_transfers (id, key, debit_account_id, credit_account_id, amount, "
            "currency, mode, pending_key) VALUES (999999, :k, 1, 2, 5, 'EUR', :m, :p)"
        ),
        {"k": key, "m": mode, "p": pending_key},
    )


# (mode, pending_key) that no version of the checks lets in. "p1" is a stored pending transfer,
# so no refusal below comes from the foreign key: each comes from a check.
REFUSED = (
    ("bogus", None),
    ("POSTED", None),
    ("", None),
    ("post_pending", None),
    ("void_pending", None),
    ("posted", "p1"),
    ("pending", "p1"),
)


def _refuses_every_malformed_mode(engine: sa.Engine) -> None:
    for mode, pending_key in REFUSED:
        with pytest.raises(IntegrityError), engine.begin() as c:
            _insert(c, mode, pending_key)


def _check_conditions(engine: sa.Engine) -> str:
    with engine.connect() as c:
        if engine.dialect.name == "postgresql":
            rows = c.execute(
                text(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'ledger_transfers'::regclass AND contype = 'c'"
                )
            ).scalars()
            return " ".join(rows)
        return str(
            c.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'ledger_transfers'")
            ).scalar_one()
        )


def test_the_mode_checks_lose_their_lists_and_keep_their_rules(blank_database_url: str) -> None:
    url = blank_database_url
    config = alembic_config(url)
    # The transfers are written by today's ledger, then taken down to the old checks with them.
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            ledger = SqlLedger(c)
            funding = ledger.account_id("card_funding")
            alice = ledger.open_account(no_overdraft=True)
            bob = ledger.open_account(no_overdraft=True)
            hold = Transfer("p1", funding, alice, Money.eur(900), TransferMode.PENDING)
            results = ledger.apply(
                [
                    Transfer("t1", funding, alice, Money.eur(1_000), memo="top-up"),
                    hold,
                    Transfer("t2", alice, bob, Money.eur(250)),
                    hold.posting("p1-post"),
                ]
            )
            assert all(isinstance(r, Applied) for r in results)
        command.downgrade(config, BEFORE)
        before = _rows(engine)
        assert len(before) == 4
        old = _check_conditions(engine).upper()
        assert " IN (" in old or "ANY (" in old
        _refuses_every_malformed_mode(engine)

        migrate(url)
        assert [tuple(r) for r in _rows(engine)] == [tuple(r) for r in before]
        conditions = _check_conditions(engine)
        assert "post_pending" in conditions and "void_pending" in conditions
        assert " IN (" not in conditions.upper() and "ANY (" not in conditions.upper()
        _refuses_every_malformed_mode(engine)
        # Well-formed transfers of every mode still go in, and the pending key stays resolved
        # once only (the partial unique index and the foreign key came through the rebuild).
        with engine.begin() as c:
            ledger = SqlLedger(c)
            again = ledger.apply(
                [hold.voiding("p1-void"), Transfer("t3", bob, alice, Money.eur(50))]
            )
            assert isinstance(again[0], PendingResolved) and isinstance(again[1], Applied)
        with pytest.raises(IntegrityError), engine.begin() as c:
            _insert(c, "void_pending", "p1", key="second-resolution")
        with pytest.raises(IntegrityError), engine.begin() as c:
            _insert(c, "void_pending", "no-such-pending", key="dangling")
        assert check_ledger(engine).ok

        command.downgrade(config, BEFORE)
        assert len(_rows(engine)) == len(before) + 1
        _refuses_every_malformed_mode(engine)
        migrate(url)
        assert check_ledger(engine).ok
    finally:
        engine.dispose()


def _rows(engine: sa.Engine) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as c:
        return list(c.execute(text(TRANSFERS)).all())
