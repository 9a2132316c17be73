"""A SQLite connection reads only the accounts it did not write last, and never trusts a balance
that somebody else, or a rollback, changed behind it (``adapters/db/ledger_cache.py``)."""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from payez.adapters.db import ledger_cache
from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, apply_batch_on, check_ledger
from payez.adapters.db.migrate import migrate
from payez.domain.ledger import (
    AccountState,
    Applied,
    InsufficientFunds,
    LedgerError,
    Transfer,
    TransferMode,
)
from payez.domain.money import Money


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


eur = Money.eur


def _open(engine: Engine, count: int) -> tuple[int, list[int]]:
    with engine.begin() as c:
        ledger = SqlLedger(c)
        return ledger.account_id("card_funding"), ledger.open_accounts(count, no_overdraft=True)


def _posted(engine: Engine, account: int) -> int:
    with engine.connect() as c:
        return SqlLedger(c).balance(account).posted.cents


def _apply(c: Connection, *transfers: Transfer) -> list[Applied | LedgerError]:
    return apply_batch_on(c, list(transfers))


def _accounts_read(c: Connection) -> list[list[int]]:
    """Start recording the ids of every account read the connection sends to SQLite."""
    reads: list[list[int]] = []

    def trace(statement: str) -> None:
        if statement.startswith("SELECT id, currency") and "json_each" in statement:
            reads.append(json.loads(statement.rsplit("json_each('", 1)[1].split("')")[0]))

    c.connection.driver_connection.set_trace_callback(trace)  # type: ignore[union-attr]
    return reads


def test_a_batch_reads_only_the_accounts_its_connection_did_not_write_last(
    engine: Engine,
) -> None:
    funding, (a, b, c_) = _open(engine, 3)
    with engine.connect() as c:
        reads = _accounts_read(c)
        _apply(c, Transfer("f", funding, a, eur(1_000)))
        _apply(c, Transfer("t1", a, b, eur(100)))
        _apply(c, Transfer("t2", b, a, eur(30)), Transfer("t3", a, c_, eur(20)))
        c.connection.driver_connection.set_trace_callback(None)  # type: ignore[union-attr]
    # Funding reads both accounts; then only the one never written by this connection.
    assert reads == [sorted([funding, a]), [b], [c_]]
    assert [_posted(engine, x) for x in (a, b, c_)] == [910, 70, 20]
    assert check_ledger(engine).ok


def test_another_connections_transfer_is_seen(sqlite_url: str, engine: Engine) -> None:
    funding, (a, b, c_) = _open(engine, 3)
    other = make_engine(sqlite_url)  # a pool, and so a connection, of its own
    try:
        with engine.connect() as mine, other.connect() as theirs:
            assert isinstance(_apply(mine, Transfer("f", funding, a, eur(100)))[0], Applied)
            assert isinstance(_apply(theirs, Transfer("away", a, b, eur(80)))[0], Applied)
            # Believing its own write, this connection would let 50 go and the database's
            # check would refuse the whole batch; it reads the 20 left and refuses this one.
            (result,) = _apply(mine, Transfer("t", a, c_, eur(50)))
            assert isinstance(result, InsufficientFunds)
            assert isinstance(_apply(mine, Transfer("t2", a, c_, eur(20)))[0], Applied)
    finally:
        other.dispose()
    assert [_posted(engine, x) for x in (a, b, c_)] == [0, 80, 20]


def test_a_rolled_back_transaction_is_forgotten(engine: Engine) -> None:
    funding, (a, b) = _open(engine, 2)
    with engine.connect() as c:
        _apply(c, Transfer("f", funding, a, eur(10)))
        transaction = c.begin()
        assert isinstance(SqlLedger(c).apply([Transfer("more", funding, a, eur(100))])[0], Applied)
        transaction.rollback()
        (result,) = _apply(c, Transfer("t", a, b, eur(50)))
        assert isinstance(result, InsufficientFunds)
    assert _posted(engine, a) == 10


def test_a_rolled_back_savepoint_is_forgotten(engine: Engine) -> None:
    funding, (a, b) = _open(engine, 2)
    with engine.connect() as c:
        _apply(c, Transfer("f", funding, a, eur(10)))
        with c.begin():
            savepoint = c.begin_nested()
            ledger = SqlLedger(c)
            assert isinstance(ledger.apply([Transfer("more", funding, a, eur(100))])[0], Applied)
            savepoint.rollback()
            (refused,) = ledger.apply([Transfer("t", a, b, eur(50))])
            (paid,) = ledger.apply([Transfer("t2", a, b, eur(10))])
        assert isinstance(refused, InsufficientFunds) and isinstance(paid, Applied)
    assert [_posted(engine, a), _posted(engine, b)] == [0, 10]


def test_an_account_opened_in_a_rolled_back_transaction_is_never_trusted(
    engine: Engine,
) -> None:
    funding, _ = _open(engine, 1)
    with engine.connect() as c:
        for moves_money in (False, True):
            # An account read by a batch that moves money, or by one that does not.
            transaction = c.begin()
            ledger = SqlLedger(c)
            gone = ledger.open_account(no_overdraft=True)
            transfer = Transfer(f"in-{moves_money}", funding, gone, eur(500))
            if not moves_money:
                transfer = Transfer(f"out-{moves_money}", gone, funding, eur(500))
            ledger.apply([transfer])
            transaction.rollback()
            # SQLite gives the id again, here to an account in another currency.
            with c.begin():
                usd = SqlLedger(c).open_account(currency="USD", no_overdraft=False)
                dollars = SqlLedger(c).open_account(currency="USD", no_overdraft=True)
            assert usd == gone
            (result,) = _apply(c, Transfer(f"usd-{moves_money}", usd, dollars, Money(300, "USD")))
            assert isinstance(result, Applied), result
    assert check_ledger(engine).ok


def test_a_batch_the_database_refuses_leaves_nothing_remembered(engine: Engine) -> None:
    funding, (a, b) = _open(engine, 2)
    with engine.connect() as c:
        _apply(c, Transfer("f", funding, a, eur(100)))
        # Written behind the ledger, on the same connection: no stamp tells of it.
        with c.begin():
            c.execute(text("UPDATE ledger_accounts SET posted = 40 WHERE id = :a"), {"a": a})
            c.execute(
                text("UPDATE ledger_accounts SET posted = posted - 60 WHERE id = :f"),
                {"f": funding},
            )
        # The connection believes 100 are there; the database's check refuses the batch.
        with pytest.raises(IntegrityError):
            _apply(c, Transfer("t", a, b, eur(90)))
        # Nothing half-applied is remembered: the next batch reads the 40.
        (refused,) = _apply(c, Transfer("t2", a, b, eur(90)))
        (paid,) = _apply(c, Transfer("t3", a, b, eur(40)))
        assert isinstance(refused, InsufficientFunds) and isinstance(paid, Applied)
    assert [_posted(engine, a), _posted(engine, b)] == [0, 40]


def test_the_cache_starts_afresh_past_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_cache, "MAX_CACHED_ACCOUNTS", 3)
    cache = ledger_cache.AccountCache(driver=None, stamp=1)
    accounts = {i: AccountState(i, "EUR", True, posted=i) for i in range(1, 6)}
    cache.remember({1: accounts[1], 2: accounts[2]}, stamp=2)
    cache.remember({3: accounts[3]}, stamp=3)
    assert sorted(cache.accounts) == [1, 2, 3] and cache.stamp == 3
    cache.remember({4: accounts[4], 5: accounts[5]}, stamp=4)
    assert sorted(cache.accounts) == [4, 5] and cache.stamp == 4
    assert cache.lookup([2, 4, 5]) == ({4: accounts[4], 5: accounts[5]}, [2])


# -- random interleavings ---------------------------------------------------------------------

WALLETS = 4
_MOVES = st.lists(
    st.tuples(
        st.integers(0, WALLETS - 1),
        st.integers(0, WALLETS - 1),
        st.integers(1, 60),
        st.booleans(),  # held (pending) rather than posted
    ),
    min_size=1,
    max_size=4,
)
# (connection, how the batch ends, the moves): "commit", "rollback", or a savepoint rolled back
# before a second batch that commits.
_STEPS = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from(["commit", "rollback", "savepoint"]), _MOVES),
    min_size=1,
    max_size=12,
)


def _kept_matches_the_database(c: Connection) -> None:
    """Whatever the connection would trust now equals what the database holds."""
    raw = c.connection.driver_connection
    with c.begin():
        (stamp,) = raw.execute("SELECT stamp FROM ledger_write_stamp").fetchone()  # type: ignore[union-attr]
        kept = ledger_cache.cache_for(c.info, raw, stamp).accounts
        stored = {
            row[0]: (row[1], row[2], row[3])
            for row in raw.execute(  # type: ignore[union-attr]
                "SELECT id, posted, pending_out, pending_in FROM ledger_accounts"
            )
        }
    for account_id, state in kept.items():
        assert (state.posted, state.pending_out, state.pending_in) == stored[account_id]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_STEPS)
def test_two_connections_never_trust_a_balance_the_database_does_not_hold(
    steps: list[tuple[int, str, list[tuple[int, int, int, bool]]]],
) -> None:
    with tempfile.TemporaryDirectory(prefix="payez-cache-") as directory:
        url = f"sqlite:///{Path(directory) / 'ledger.db'}"
        migrate(url)
        engine = make_engine(url)
        try:
            funding, wallets = _open(engine, WALLETS)
            keys = itertools.count()
            with engine.connect() as first, engine.connect() as second:
                _apply(first, *(Transfer(f"f{w}", funding, w, eur(100)) for w in wallets))
                connections = (first, second)
                for which, ending, moves in steps:
                    c = connections[which]
                    batch = [
                        Transfer(
                            f"k{next(keys)}",
                            wallets[debit],
                            wallets[credit],
                            eur(cents),
                            TransferMode.PENDING if held else TransferMode.POSTED,
                        )
                        for debit, credit, cents, held in moves
                    ]
                    # Never an IntegrityError: a stale balance would let the database refuse.
                    if ending == "commit":
                        _apply(c, *batch)
                    elif ending == "rollback":
                        transaction = c.begin()
                        SqlLedger(c).apply(batch)
                        transaction.rollback()
                    else:
                        with c.begin():
                            savepoint = c.begin_nested()
                            SqlLedger(c).apply(batch)
                            savepoint.rollback()
                            # The same keys again: stored nowhere, as the savepoint is gone.
                            SqlLedger(c).apply(batch)
                    for each in connections:
                        _kept_matches_the_database(each)
            assert check_ledger(engine).ok
        finally:
            engine.dispose()
