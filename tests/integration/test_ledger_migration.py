"""Migration ``0032_ledger_account_names`` moves accounts' names out of the balance rows and
back, losing nothing, on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, check_ledger
from payez.adapters.db.migrate import alembic_config, migrate
from payez.domain.ledger import Applied, InsufficientFunds, Transfer
from payez.domain.money import Money

ACCOUNTS = (
    # (code, owner, no_overdraft, posted, pending_out, pending_in)
    ("merchant_x", None, False, -500, 0, 0),
    (None, "user:7", True, 300, 100, 0),
    (None, "user:8", True, 200, 0, 100),
)


def test_names_move_to_their_table_and_back_with_every_balance(blank_database_url: str) -> None:
    url = blank_database_url
    config = alembic_config(url)
    command.upgrade(config, "0002_ledger")
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            for code, owner, no_overdraft, posted, out, in_ in ACCOUNTS:
                c.execute(
                    text(
                        "INSERT INTO ledger_accounts (code, owner, currency, no_overdraft, "
                        "posted, pending_out, pending_in) VALUES (:c, :o, 'EUR', :n, :p, :po, :pi)"
                    ),
                    {"c": code, "o": owner, "n": no_overdraft, "p": posted, "po": out, "pi": in_},
                )
            before = c.execute(
                text(
                    "SELECT id, code, owner, currency, no_overdraft, posted, pending_out, "
                    "pending_in, created_at FROM ledger_accounts ORDER BY id"
                )
            ).all()
        assert len(before) == 4 + len(ACCOUNTS)  # with the system accounts

        migrate(url)
        with engine.begin() as c:
            after = c.execute(
                text(
                    "SELECT a.id, n.code, n.owner, a.currency, a.no_overdraft, a.posted, "
                    "a.pending_out, a.pending_in, n.created_at FROM ledger_accounts a "
                    "JOIN ledger_account_names n ON n.account_id = a.id ORDER BY a.id"
                )
            ).all()
            assert after == before
            ledger = SqlLedger(c)
            merchant = ledger.account_id("merchant_x")
            # The rules still hold on the rebuilt table: no overdraft, and new accounts get
            # fresh ids with their names.
            fresh = ledger.open_account(no_overdraft=True, owner="user:9")
            assert fresh > max(r[0] for r in before)
            funded, overdrawn = ledger.apply(
                [
                    Transfer("t1", merchant, fresh, Money.eur(50)),
                    Transfer("t2", fresh, merchant, Money.eur(51)),
                ]
            )
            assert isinstance(funded, Applied) and isinstance(overdrawn, InsufficientFunds)

        command.downgrade(config, "0002_ledger")
        with engine.begin() as c:
            restored = c.execute(
                text(
                    "SELECT id, code, owner, currency, no_overdraft, posted, pending_out, "
                    "pending_in, created_at FROM ledger_accounts WHERE id <= :last ORDER BY id"
                ),
                {"last": max(r[0] for r in before)},
            ).all()
            # As before, but for the 50 cents t1 moved.
            expected = [
                (*r[:5], r[5] - 50, *r[6:]) if r[0] == merchant else tuple(r) for r in before
            ]
            assert [tuple(r) for r in restored] == expected
            owner = c.execute(
                text("SELECT owner FROM ledger_accounts WHERE id = :i"), {"i": fresh}
            ).scalar_one()
            assert owner == "user:9"
        migrate(url)
        # The balances inserted above have no transfers behind them; only the names matter.
        problems = check_ledger(engine).problems
        assert problems and not [p for p in problems if "names" in p]
    finally:
        engine.dispose()
