"""The ledger on SQL: SQLite and PostgreSQL, one batch at a time, set-based.

A batch costs a constant number of statements whatever its size: lock the accounts it names
(ascending id, ``FOR UPDATE`` on PostgreSQL; SQLite transactions already hold the write lock),
read the stored transfers under its keys, decide every transfer in memory with
:func:`payez.domain.ledger.plan_batch`, insert the new transfers and apply one balance delta per
touched account. The database re-checks what it can (no-overdraft ``CHECK``, unique keys, one
resolution per pending transfer). On SQLite a connection reads only the accounts it did not
write last (:mod:`payez.adapters.db.ledger_cache`).

Looking the keys up *after* the accounts are locked matters on PostgreSQL: a concurrent batch
with the same key and the same content locks the same accounts, so by the time the lock is
granted its transfer is committed and visible, and the replay is recognised. A same key with
different content on other accounts can still race to the unique index: :func:`apply_batch`
retries the whole batch then, and finds the key stored.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from payez.adapters.db.ledger_cache import cache_for, forget, new_stamp
from payez.adapters.db.tables.ledger import ledger_account_names, ledger_accounts
from payez.domain.ledger import (
    AccountState,
    AccountUnknown,
    Applied,
    Balance,
    LedgerError,
    LedgerReport,
    Recorded,
    Transfer,
    TransferMode,
    batch_account_ids,
    batch_lookup_keys,
    plan_batch,
)
from payez.domain.money import Money

# code -> may its balance go below zero (created by migration 0002_ledger).
SYSTEM_ACCOUNTS: dict[str, bool] = {
    # Money enters from cards: debited for every top-up, so normally negative.
    "card_funding": True,
    # Money leaves to banks; a returned SEPA payout is booked back through it, possibly before
    # the outgoing leg is reconciled, so its sign is not the ledger's to enforce.
    "payouts": True,
    # Payments waiting for a recipient to join: it holds only what was put in.
    "claims_held": False,
    # Money owed back to cards until the processor confirms the refund.
    "refunds": False,
}

_ACCOUNT_COLUMNS = "id, currency, no_overdraft, posted, pending_out, pending_in"
_TRANSFER_COLUMNS = (
    "t.id, t.key, t.debit_account_id, t.credit_account_id, t.amount, t.currency, t.mode, "
    "t.pending_key, t.memo, "
    "EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_key = t.key)"
)

_PG_LOCK = (
    f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts "
    "WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE"
)
_PG_READ = f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY(%s::bigint[])"
_PG_STORED = f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers t WHERE t.key = ANY(%s::text[])"
# One array rather than one row per id: ten times cheaper to fetch.
_PG_IDS = "SELECT array_agg(nextval('ledger_transfers_id_seq')) FROM generate_series(1, %s)"
_PG_INSERT = (
    "INSERT INTO ledger_transfers (id, key, debit_account_id, credit_account_id, amount, "
    "currency, mode, pending_key, memo) SELECT * FROM unnest(%s::bigint[], %s::text[], "
    "%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[])"
)
_PG_UPDATE = (
    "UPDATE ledger_accounts AS a SET posted = a.posted + v.dp, "
    "pending_out = a.pending_out + v.dpo, pending_in = a.pending_in + v.dpi "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, dp, dpo, dpi) "
    # The redundant ANY lets the planner fetch just these accounts by primary key.
    "WHERE a.id = v.id AND a.id = ANY(%s::bigint[])"
)

_SQLITE_READ = (
    f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id IN (SELECT value FROM json_each(?))"
)
_SQLITE_STORED = (
    f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers t "
    "WHERE t.key IN (SELECT value FROM json_each(?))"
)
# The highest transfer id, and the stamp of the last batch that moved money.
_SQLITE_LEDGER_STATE = (
    "SELECT coalesce(max(id), 0), (SELECT stamp FROM ledger_write_stamp WHERE id = 1) "
    "FROM ledger_transfers"
)
_SQLITE_STAMP = "UPDATE ledger_write_stamp SET stamp = ? WHERE id = 1"
_SQLITE_INSERT = (
    "INSERT INTO ledger_transfers (id, key, debit_account_id, credit_account_id, amount, "
    "currency, mode, pending_key, memo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_UPDATE = (
    "UPDATE ledger_accounts SET posted = posted + ?, pending_out = pending_out + ?, "
    "pending_in = pending_in + ? WHERE id = ?"
)


def _account(row: Sequence[Any]) -> AccountState:
    return AccountState(row[0], row[1], bool(row[2]), row[3], row[4], row[5])


def _recorded(row: Sequence[Any]) -> Recorded:
    transfer = Transfer(
        row[1], row[2], row[3], Money(row[4], row[5]), TransferMode(row[6]), row[7], row[8]
    )
    return Recorded(row[0], transfer, bool(row[9]))


class SqlLedger:
    """The ledger inside the caller's transaction: it never begins, commits or rolls back.

    On PostgreSQL a concurrent batch reusing a key with different content can make a write
    fail with a unique violation; the caller's transaction is then lost and must be retried as
    a whole (:func:`apply_batch` does so).
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def _rows(self, sql: str, parameters: Any) -> Sequence[Any]:
        return self._connection.exec_driver_sql(sql, parameters).all()

    # Accounts.

    def open_account(
        self,
        *,
        currency: str = "EUR",
        no_overdraft: bool,
        code: str | None = None,
        owner: str | None = None,
    ) -> int:
        """A new account with zero balances; its id."""
        Money.zero(currency)  # refuses a malformed currency code
        statement = (
            ledger_accounts.insert()
            .values(currency=currency, no_overdraft=no_overdraft)
            .returning(ledger_accounts.c.id)
        )
        account_id = int(self._connection.execute(statement).scalar_one())
        self._connection.execute(
            ledger_account_names.insert().values(account_id=account_id, code=code, owner=owner)
        )
        return account_id

    def open_accounts(
        self, count: int, *, currency: str = "EUR", no_overdraft: bool, owner: str | None = None
    ) -> list[int]:
        """``count`` new accounts in one statement; their ids in creation order."""
        Money.zero(currency)
        if count <= 0:
            return []
        statement = ledger_accounts.insert().returning(
            ledger_accounts.c.id, sort_by_parameter_order=True
        )
        rows = [{"currency": currency, "no_overdraft": no_overdraft} for _ in range(count)]
        ids = [int(r[0]) for r in self._connection.execute(statement, rows)]
        self._connection.execute(
            ledger_account_names.insert(),
            [{"account_id": i, "code": None, "owner": owner} for i in ids],
        )
        return ids

    def account_id(self, code: str) -> int:
        """The id of the system account ``code``."""
        names = ledger_account_names
        found = self._connection.execute(
            sa.select(names.c.account_id).where(names.c.code == code)
        ).scalar_one_or_none()
        if found is None:
            raise AccountUnknown(code)
        return int(found)

    def _load_accounts(self, ids: list[int]) -> dict[int, AccountState]:
        if not ids:
            return {}
        if self._postgres:
            rows = self._rows(_PG_READ, (ids,))
        else:
            rows = self._rows(_SQLITE_READ, (json.dumps(ids),))
        return {row[0]: _account(row) for row in rows}

    def balances(self, account_ids: Sequence[int]) -> dict[int, Balance]:
        """Balances of the accounts that exist among ``account_ids`` (no lock taken)."""
        ids = sorted({int(i) for i in account_ids})
        return {i: a.balance() for i, a in self._load_accounts(ids).items()}

    def available_cents(self, account_ids: Sequence[int]) -> dict[int, int]:
        """What each existing account among ``account_ids`` can still spend, in cents (no
        lock taken): :meth:`balances` without building the amounts."""
        ids = sorted({int(i) for i in account_ids})
        return {i: a.available for i, a in self._load_accounts(ids).items()}

    def balance(self, account_id: int) -> Balance:
        found = self.balances([account_id]).get(account_id)
        if found is None:
            raise AccountUnknown(str(account_id))
        return found

    # Transfers.

    def transfers(self, keys: Sequence[str]) -> dict[str, Recorded]:
        """The stored transfers under ``keys`` (absent keys are left out)."""
        key_list = sorted(set(keys))
        if not key_list:
            return {}
        if self._postgres:
            rows = self._rows(_PG_STORED, (key_list,))
        else:
            rows = self._rows(_SQLITE_STORED, (json.dumps(key_list),))
        return {row[1]: _recorded(row) for row in rows}

    def apply_all(self, transfers: Sequence[Transfer]) -> list[Applied]:
        """Apply ``transfers``, all or nothing: the first refusal is raised (and the caller's
        transaction, rolled back, keeps none of them)."""
        applied: list[Applied] = []
        for result in self.apply(transfers):
            if isinstance(result, LedgerError):
                raise result
            applied.append(result)
        return applied

    def apply(self, transfers: Sequence[Transfer]) -> list[Applied | LedgerError]:
        """Apply ``transfers`` in order; one result per transfer, a failing one failing alone."""
        if not transfers:
            return []
        if self._postgres:
            return self._apply_postgres(transfers)
        return self._apply_sqlite(transfers)

    def _apply_sqlite(self, transfers: Sequence[Transfer]) -> list[Applied | LedgerError]:
        # The transaction already holds the database's write lock (BEGIN IMMEDIATE), so these
        # reads stay true until commit and nobody else allocates ids. Statements go straight
        # to the driver, which keeps them prepared: through SQLAlchemy, result and context
        # objects cost a tenth of a batch.
        raw: sqlite3.Connection = self._connection.connection.driver_connection  # type: ignore[assignment]
        info = self._connection.info
        statement = _SQLITE_LEDGER_STATE
        try:
            (last_id, stamp) = raw.execute(_SQLITE_LEDGER_STATE).fetchone()
            # Only the accounts this connection did not write last are read (``ledger_cache``).
            cache = cache_for(info, raw, stamp)
            accounts, missing = cache.lookup(batch_account_ids(transfers))
            if missing:
                statement = _SQLITE_READ
                found = raw.execute(_SQLITE_READ, (json.dumps(missing),))
                accounts.update((row[0], _account(row)) for row in found)
            statement = _SQLITE_STORED
            keys = json.dumps(batch_lookup_keys(transfers))
            stored = {row[1]: _recorded(row) for row in raw.execute(_SQLITE_STORED, (keys,))}
            plan = plan_batch(transfers, accounts, stored, itertools.count(last_id + 1).__next__)
            if plan.inserts:
                # Batch order: a pending transfer is inserted before the transfer resolving it.
                statement = _SQLITE_INSERT
                raw.executemany(_SQLITE_INSERT, [_insert_row(r) for r in plan.inserts])
                if plan.deltas:
                    statement = _SQLITE_UPDATE
                    raw.executemany(
                        _SQLITE_UPDATE, [(d[0], d[1], d[2], i) for i, d in plan.deltas.items()]
                    )
                statement = _SQLITE_STAMP
                stamp = new_stamp()
                raw.execute(_SQLITE_STAMP, (stamp,))
        except BaseException as exc:
            # The accounts may hold balances the database never took.
            forget(info)
            if isinstance(exc, sqlite3.Error):
                # Callers see the same SQLAlchemy exceptions as from any other statement.
                raise DBAPIError.instance(
                    statement, None, exc, sqlite3.Error, dialect=self._connection.dialect
                ) from exc
            raise
        if plan.inserts:
            cache.remember(accounts, stamp)
        return plan.results

    def _apply_postgres(self, transfers: Sequence[Transfer]) -> list[Applied | LedgerError]:
        # Pipeline mode: the reads go in one round trip, the writes in another. The server
        # still runs them one after the other, each with a fresh snapshot, so the keys are
        # read after the account locks are granted.
        raw: psycopg.Connection[Any] = self._connection.connection.driver_connection  # type: ignore[assignment]
        account_ids = batch_account_ids(transfers)
        keys = batch_lookup_keys(transfers)
        statement = _PG_LOCK
        try:
            with raw.pipeline():
                locked = raw.execute(_PG_LOCK, (account_ids,))
                found = raw.execute(_PG_STORED, (keys,))
                allocated = raw.execute(_PG_IDS, (len(transfers),))
                accounts = {row[0]: _account(row) for row in locked.fetchall()}
                stored = {row[1]: _recorded(row) for row in found.fetchall()}
                row = allocated.fetchone()
                ids = iter(row[0] if row is not None else ())
            plan = plan_batch(transfers, accounts, stored, ids.__next__)
            if plan.inserts or plan.deltas:
                statement = _PG_INSERT
                with raw.pipeline():
                    if plan.inserts:
                        raw.execute(_PG_INSERT, _pg_insert_columns(plan.inserts))
                    if plan.deltas:
                        raw.execute(_PG_UPDATE, _pg_update_columns(plan.deltas))
        except psycopg.Error as exc:
            # Callers see the same SQLAlchemy exceptions as from any other statement.
            raise DBAPIError.instance(
                statement, None, exc, psycopg.Error, dialect=self._connection.dialect
            ) from exc
        return plan.results


def _insert_row(r: Recorded) -> tuple[Any, ...]:
    t = r.transfer
    return (
        r.transfer_id,
        t.key,
        t.debit,
        t.credit,
        t.amount.cents,
        t.amount.currency,
        str(t.mode),
        t.pending_key,
        t.memo,
    )


def _pg_insert_columns(inserts: list[Recorded]) -> tuple[list[Any], ...]:
    # Sorted keys make concurrent batches wait on each other's keys in one order.
    rows = sorted(inserts, key=lambda r: r.transfer.key)
    columns: tuple[list[Any], ...] = tuple([] for _ in range(9))
    for r in rows:
        for column, value in zip(columns, _insert_row(r), strict=True):
            column.append(value)
    return columns


def _pg_update_columns(deltas: dict[int, list[int]]) -> tuple[list[int], ...]:
    ids = sorted(deltas)
    return (
        ids,
        [deltas[i][0] for i in ids],
        [deltas[i][1] for i in ids],
        [deltas[i][2] for i in ids],
        ids,
    )


# PostgreSQL SQLSTATEs worth retrying the whole batch on: unique_violation (a key raced in),
# serialization_failure, deadlock_detected.
_RETRY_SQLSTATES = frozenset({"23505", "40001", "40P01"})


def is_retryable(exc: DBAPIError) -> bool:
    """Whether a failed transaction lost a race and may simply be run again."""
    return getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES


def apply_batch(
    engine: Engine, transfers: Sequence[Transfer], *, attempts: int = 20
) -> list[Applied | LedgerError]:
    """Apply ``transfers`` in one transaction of their own, retried whole on a race."""
    with engine.connect() as connection:
        return apply_batch_on(connection, transfers, attempts=attempts)


def apply_batch_on(
    connection: Connection,
    transfers: Sequence[Transfer],
    *,
    attempts: int = 20,
    on_retry: Callable[[str], None] | None = None,
) -> list[Applied | LedgerError]:
    """:func:`apply_batch` on a connection a worker keeps (it must be outside a transaction).

    ``on_retry`` hears the SQLSTATE of every race that made the batch start over.
    """
    for attempt in range(attempts):
        try:
            with connection.begin():
                return SqlLedger(connection).apply(transfers)
        except DBAPIError as exc:
            if attempt + 1 == attempts or not is_retryable(exc):
                raise
            if on_retry is not None:
                on_retry(str(getattr(exc.orig, "sqlstate", "")))
            # Desynchronise the racers so the retry finds the winner committed.
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
    raise AssertionError("unreachable")


_CHECK_SUMS = (
    "SELECT currency, count(*), coalesce(sum(posted), 0), coalesce(sum(pending_out), 0), "
    "coalesce(sum(pending_in), 0) FROM ledger_accounts GROUP BY currency ORDER BY currency"
)
_CHECK_OVERDRAFT = (
    "SELECT id, posted, pending_out, pending_in FROM ledger_accounts "
    "WHERE (no_overdraft AND posted - pending_out < 0) OR pending_out < 0 OR pending_in < 0 "
    "ORDER BY id"
)
# Each account's balances recomputed from the transfers, where they differ from the stored ones.
_CHECK_RECOMPUTE = """
WITH open_pending AS (
    SELECT t.debit_account_id, t.credit_account_id, t.amount FROM ledger_transfers t
    WHERE t.mode = 'pending'
      AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_key = t.key)
), moves AS (
    SELECT credit_account_id AS account_id, amount AS dp, 0 AS dpo, 0 AS dpi
    FROM ledger_transfers WHERE mode IN ('posted', 'post_pending')
    UNION ALL
    SELECT debit_account_id, -amount, 0, 0
    FROM ledger_transfers WHERE mode IN ('posted', 'post_pending')
    UNION ALL
    SELECT debit_account_id, 0, amount, 0 FROM open_pending
    UNION ALL
    SELECT credit_account_id, 0, 0, amount FROM open_pending
), totals AS (
    SELECT account_id, sum(dp) AS posted, sum(dpo) AS pending_out, sum(dpi) AS pending_in
    FROM moves GROUP BY account_id
)
SELECT a.id, a.posted, a.pending_out, a.pending_in,
       coalesce(s.posted, 0), coalesce(s.pending_out, 0), coalesce(s.pending_in, 0)
FROM ledger_accounts a LEFT JOIN totals s ON s.account_id = a.id
WHERE a.posted <> coalesce(s.posted, 0)
   OR a.pending_out <> coalesce(s.pending_out, 0)
   OR a.pending_in <> coalesce(s.pending_in, 0)
ORDER BY a.id
"""
_CHECK_CURRENCY = """
SELECT t.key, t.currency, d.currency, c.currency FROM ledger_transfers t
JOIN ledger_accounts d ON d.id = t.debit_account_id
JOIN ledger_accounts c ON c.id = t.credit_account_id
WHERE t.currency <> d.currency OR t.currency <> c.currency
ORDER BY t.id
"""
_CHECK_ORPHANS = """
SELECT t.key, t.debit_account_id, t.credit_account_id FROM ledger_transfers t
WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = t.debit_account_id)
   OR NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = t.credit_account_id)
ORDER BY t.id
"""
_CHECK_RESOLUTIONS = """
SELECT r.key, r.pending_key FROM ledger_transfers r
LEFT JOIN ledger_transfers p ON p.key = r.pending_key
WHERE r.pending_key IS NOT NULL AND (
    p.id IS NULL OR p.mode <> 'pending' OR p.debit_account_id <> r.debit_account_id
    OR p.credit_account_id <> r.credit_account_id OR p.amount <> r.amount
    OR p.currency <> r.currency
)
ORDER BY r.id
"""
_CHECK_NAMES = """
SELECT a.id, 'has no names row' FROM ledger_accounts a
WHERE NOT EXISTS (SELECT 1 FROM ledger_account_names n WHERE n.account_id = a.id)
UNION ALL
SELECT n.account_id, 'has names but no account' FROM ledger_account_names n
WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = n.account_id)
ORDER BY 1
"""
_CHECK_TRANSFERS = """
SELECT key, amount, debit_account_id, credit_account_id, mode FROM ledger_transfers
WHERE amount <= 0 OR debit_account_id = credit_account_id
   OR mode NOT IN ('posted', 'pending', 'post_pending', 'void_pending')
ORDER BY id
"""


def check_ledger(engine: Engine) -> LedgerReport:
    """Verify every ledger invariant from scratch, in one consistent read."""
    problems: list[str] = []
    posted_sums: dict[str, int] = {}
    pending_sums: dict[str, tuple[int, int]] = {}
    # One snapshot for every query below, so the figures agree with each other (SQLite's
    # transactions are serialized already).
    options: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with engine.connect().execution_options(**options) as connection, connection.begin():

        def rows(sql: str) -> Sequence[Any]:
            return connection.exec_driver_sql(sql).all()

        accounts = 0
        for currency, count, posted, pending_out, pending_in in rows(_CHECK_SUMS):
            accounts += int(count)
            posted_sums[currency] = int(posted)
            pending_sums[currency] = (int(pending_out), int(pending_in))
            if posted != 0:
                problems.append(f"{currency}: posted balances sum to {posted}, not 0")
            if pending_out != pending_in:
                problems.append(
                    f"{currency}: pending out {pending_out} differs from pending in {pending_in}"
                )
        for account_id, posted, pending_out, pending_in in rows(_CHECK_OVERDRAFT):
            problems.append(
                f"account {account_id}: below zero (posted {posted}, pending out {pending_out}, "
                f"pending in {pending_in})"
            )
        for row in rows(_CHECK_RECOMPUTE):
            problems.append(
                f"account {row[0]}: stored posted/pending_out/pending_in {row[1]}/{row[2]}/"
                f"{row[3]} but transfers give {row[4]}/{row[5]}/{row[6]}"
            )
        for key, currency, debit_currency, credit_currency in rows(_CHECK_CURRENCY):
            problems.append(
                f"transfer {key}: currency {currency} on accounts in "
                f"{debit_currency}/{credit_currency}"
            )
        for key, debit, credit in rows(_CHECK_ORPHANS):
            problems.append(f"transfer {key}: names a missing account ({debit} -> {credit})")
        for key, pending_key in rows(_CHECK_RESOLUTIONS):
            problems.append(f"transfer {key}: does not match the pending transfer {pending_key}")
        for account_id, what in rows(_CHECK_NAMES):
            problems.append(f"account {account_id}: {what}")
        for key, amount, debit, credit, mode in rows(_CHECK_TRANSFERS):
            problems.append(
                f"transfer {key}: malformed (amount {amount}, {debit} -> {credit}, mode {mode})"
            )
        transfers = int(rows("SELECT count(*) FROM ledger_transfers")[0][0])
    return LedgerReport(problems, accounts, transfers, posted_sums, pending_sums)
