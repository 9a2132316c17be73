"""The SQL ledger on real SQLite and PostgreSQL databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SYSTEM_ACCOUNTS, SqlLedger, apply_batch, check_ledger
from payez.domain.ledger import (
    AccountUnknown,
    Applied,
    Balance,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerCurrencyMismatch,
    LedgerError,
    PendingMismatch,
    PendingResolved,
    PendingUnknown,
    SameAccount,
    Transfer,
    TransferAmountInvalid,
    TransferMode,
)
from payez.domain.money import CurrencyInvalid, Money


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def eur(cents: int) -> Money:
    return Money.eur(cents)


def snapshot(engine: Engine) -> tuple[list[Any], list[Any]]:
    """Every account row and every transfer row: to prove that nothing was written."""
    with engine.connect() as c:
        accounts = c.execute(text("SELECT * FROM ledger_accounts ORDER BY id")).all()
        transfers = c.execute(text("SELECT * FROM ledger_transfers ORDER BY id")).all()
    return list(accounts), list(transfers)


def wallets(engine: Engine, count: int = 2, currency: str = "EUR") -> list[int]:
    with engine.begin() as c:
        return SqlLedger(c).open_accounts(count, no_overdraft=True, currency=currency)


def funding(engine: Engine) -> int:
    with engine.begin() as c:
        return SqlLedger(c).account_id("card_funding")


def balance(engine: Engine, account: int) -> Balance:
    with engine.begin() as c:
        return SqlLedger(c).balance(account)


def test_system_accounts_exist_with_their_overdraft_rule(engine: Engine) -> None:
    assert {"card_funding", "claims_held", "payouts"} <= set(SYSTEM_ACCOUNTS)
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT n.code, a.no_overdraft, a.currency FROM ledger_accounts a "
                "JOIN ledger_account_names n ON n.account_id = a.id"
            )
        ).all()
    found = {code: (bool(no_overdraft), currency) for code, no_overdraft, currency in rows}
    assert found == {code: (not overdraft, "EUR") for code, overdraft in SYSTEM_ACCOUNTS.items()}
    with engine.begin() as c:
        ledger = SqlLedger(c)
        assert len({ledger.account_id(code) for code in SYSTEM_ACCOUNTS}) == len(SYSTEM_ACCOUNTS)
        with pytest.raises(AccountUnknown):
            ledger.account_id("no_such_account")


def test_accounts_open_with_zero_balances(engine: Engine) -> None:
    with engine.begin() as c:
        ledger = SqlLedger(c)
        one = ledger.open_account(no_overdraft=True, owner="user:1")
        usd = ledger.open_account(currency="USD", no_overdraft=False, code="usd_funding")
        assert ledger.account_id("usd_funding") == usd
        assert ledger.balance(one) == Balance(one, eur(0), eur(0), eur(0))
        assert ledger.balance(usd).posted == Money(0, "USD")
        assert set(ledger.balances([one, usd, 10**9])) == {one, usd}
        with pytest.raises(AccountUnknown):
            ledger.balance(10**9)
        with pytest.raises(CurrencyInvalid):
            ledger.open_account(currency="euro", no_overdraft=True)


def test_posted_pending_post_void_and_replays_across_transactions(engine: Engine) -> None:
    cf = funding(engine)
    a, b = wallets(engine)
    first = apply_batch(engine, [Transfer("fund", cf, a, eur(10_000))])
    assert first == [Applied("fund", first[0].transfer_id, replayed=False)]  # type: ignore[union-attr]
    hold = Transfer("hold", a, b, eur(4_000), TransferMode.PENDING, memo="claim")
    hold2 = Transfer("hold2", a, b, eur(1_000), TransferMode.PENDING)
    results = apply_batch(engine, [hold, hold2, Transfer("spend", a, b, eur(5_001))])
    assert [type(r) for r in results] == [Applied, Applied, InsufficientFunds]
    assert balance(engine, a) == Balance(a, eur(10_000), eur(5_000), eur(0))
    assert balance(engine, a).available == eur(5_000)
    assert balance(engine, b) == Balance(b, eur(0), eur(0), eur(5_000))

    results = apply_batch(engine, [hold.posting("hold-post"), hold2.voiding("hold2-void")])
    assert all(isinstance(r, Applied) for r in results)
    assert balance(engine, a) == Balance(a, eur(6_000), eur(0), eur(0))
    assert balance(engine, b) == Balance(b, eur(4_000), eur(0), eur(0))

    before = snapshot(engine)
    replays = apply_batch(engine, [Transfer("fund", cf, a, eur(10_000)), hold.posting("hold-post")])
    assert [(r.replayed, r.transfer_id) for r in replays if isinstance(r, Applied)] == [
        (True, first[0].transfer_id),  # type: ignore[union-attr]
        (True, results[0].transfer_id),  # type: ignore[union-attr]
    ]
    late = apply_batch(engine, [hold.voiding("hold-void-late"), hold.posting("hold-post-2")])
    assert all(isinstance(r, PendingResolved) for r in late)
    assert snapshot(engine) == before
    report = check_ledger(engine)
    assert report.ok, report.problems
    assert report.posted_sums == {"EUR": 0}
    assert report.transfers == 5


def test_failing_transfer_fails_alone_in_a_batch(engine: Engine) -> None:
    cf = funding(engine)
    a, b = wallets(engine)
    results = apply_batch(
        engine,
        [
            Transfer("f", cf, a, eur(100)),
            Transfer("over", a, b, eur(101)),
            Transfer("ok", a, b, eur(100)),
            Transfer("back", b, a, eur(30)),
        ],
    )
    assert [type(r) for r in results] == [Applied, InsufficientFunds, Applied, Applied]
    assert balance(engine, a).posted == eur(30)
    assert balance(engine, b).posted == eur(70)
    assert check_ledger(engine).ok


def test_transfer_ids_are_distinct_and_stored(engine: Engine) -> None:
    cf = funding(engine)
    (a,) = wallets(engine, 1)
    results = apply_batch(engine, [Transfer(f"t{i}", cf, a, eur(i + 1)) for i in range(50)])
    ids = [r.transfer_id for r in results if isinstance(r, Applied)]
    assert len(set(ids)) == 50
    with engine.connect() as c:
        stored: dict[str, int] = {}
        for key, transfer_id in c.execute(text("SELECT key, id FROM ledger_transfers")):
            stored[key] = transfer_id
    assert [stored[f"t{i}"] for i in range(50)] == ids


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda cf, a, b, usd: Transfer("zero", a, b, eur(0)), TransferAmountInvalid),
        (lambda cf, a, b, usd: Transfer("negative", cf, a, eur(-1)), TransferAmountInvalid),
        (lambda cf, a, b, usd: Transfer("same", a, a, eur(1)), SameAccount),
        (lambda cf, a, b, usd: Transfer("unknown", a, 10**9, eur(1)), AccountUnknown),
        (lambda cf, a, b, usd: Transfer("usd", a, b, Money(1, "USD")), LedgerCurrencyMismatch),
        (lambda cf, a, b, usd: Transfer("mixed", a, usd, eur(1)), LedgerCurrencyMismatch),
        (lambda cf, a, b, usd: Transfer("broke", b, a, eur(1)), InsufficientFunds),
        (lambda cf, a, b, usd: Transfer("first", a, b, eur(2)), IdempotencyConflict),
        (
            lambda cf, a, b, usd: Transfer(
                "orphan", a, b, eur(1), TransferMode.POST_PENDING, "missing"
            ),
            PendingUnknown,
        ),
        (
            lambda cf, a, b, usd: Transfer(
                "bad-post", a, b, eur(7), TransferMode.POST_PENDING, "h"
            ),
            PendingMismatch,
        ),
    ],
)
def test_bad_input_gets_its_code_and_writes_nothing(
    engine: Engine, make: Any, error: type[LedgerError]
) -> None:
    cf = funding(engine)
    a, b = wallets(engine)
    (usd,) = wallets(engine, 1, currency="USD")
    setup = apply_batch(
        engine,
        [
            Transfer("fund", cf, a, eur(1_000)),
            Transfer("first", a, b, eur(1)),
            Transfer("h", a, b, eur(5), TransferMode.PENDING),
            Transfer("drain", b, a, eur(1)),
        ],
    )
    assert all(isinstance(r, Applied) for r in setup)
    before = snapshot(engine)
    (result,) = apply_batch(engine, [make(cf, a, b, usd)])
    assert type(result) is error
    assert result.code == error.code
    assert snapshot(engine) == before
    assert check_ledger(engine).ok


def test_ledger_never_commits_for_its_caller(engine: Engine) -> None:
    cf = funding(engine)
    (a,) = wallets(engine, 1)
    before = snapshot(engine)
    with engine.connect() as c:
        transaction = c.begin()
        results = SqlLedger(c).apply([Transfer("t", cf, a, eur(100))])
        assert isinstance(results[0], Applied)
        assert SqlLedger(c).balance(a).posted == eur(100)  # the caller sees its own write
        transaction.rollback()
    assert snapshot(engine) == before


def test_database_refuses_an_overdraft_written_behind_the_ledger(engine: Engine) -> None:
    (a,) = wallets(engine, 1)
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(text("UPDATE ledger_accounts SET posted = -1 WHERE id = :a"), {"a": a})
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(text("UPDATE ledger_accounts SET pending_out = 1 WHERE id = :a"), {"a": a})
    assert balance(engine, a).posted == eur(0)


def test_database_refuses_a_second_resolution_and_malformed_rows(engine: Engine) -> None:
    cf = funding(engine)
    a, b = wallets(engine)
    hold = Transfer("h", a, b, eur(5), TransferMode.PENDING)
    results = apply_batch(engine, [Transfer("f", cf, a, eur(10)), hold, hold.voiding("v")])
    assert all(isinstance(r, Applied) for r in results)
    insert = text(
        "INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, amount, "
        "currency, mode, pending_key) VALUES (:key, :d, :c, :amount, 'EUR', :mode, :pending)"
    )
    bad_rows = [
        {"key": "again", "d": a, "c": b, "amount": 5, "mode": "post_pending", "pending": "h"},
        {"key": "f", "d": a, "c": b, "amount": 5, "mode": "posted", "pending": None},
        {"key": "zero", "d": a, "c": b, "amount": 0, "mode": "posted", "pending": None},
        {"key": "self", "d": a, "c": a, "amount": 5, "mode": "posted", "pending": None},
        {"key": "mode", "d": a, "c": b, "amount": 5, "mode": "sideways", "pending": None},
        {"key": "nokey", "d": a, "c": b, "amount": 5, "mode": "void_pending", "pending": None},
    ]
    for row in bad_rows:
        with pytest.raises(IntegrityError), engine.begin() as c:
            c.execute(insert, row)
    assert check_ledger(engine).ok
