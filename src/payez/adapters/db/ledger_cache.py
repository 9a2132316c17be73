"""The accounts a SQLite connection wrote last, kept so that its next batch reads only the others.

Reading the accounts a batch names was a fifth of a SQLite batch's time. On SQLite one
connection at a time writes, and the ledger is the only writer of balances. So the balances a
connection wrote itself stay true until somebody else moves money or the connection's own write
is undone. Both show in one place: every SQLite batch that moves money sets
``ledger_write_stamp.stamp`` to a fresh random number in its own transaction, and the
connection remembers it beside the accounts. The next batch reads the stamp under the write lock
before it trusts a single cached balance:

- another writer's batch left its own number there;
- a rollback of the connection's transaction (or savepoint) brought back the number from before.

Either way the cache is dropped and the accounts are read again. The number comes from the
operating system's generator, so two processes forked from one parent never draw the same
sequence. A batch that moves no money stamps nothing and adds nothing to the cache: the accounts
it read may have been opened in a transaction that is then rolled back, and their ids reused.

Even a wrong cache could not create money: balances are written as ``posted + delta`` and the
database's checks refuse an overdraft. PostgreSQL does not use it: there several processes write
at once, and a batch reads its accounts under their row locks.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from payez.domain.ledger import AccountState

# Accounts remembered per connection (about 150 bytes each); past it the cache starts afresh.
MAX_CACHED_ACCOUNTS = 100_000

_INFO_KEY = "payez.ledger_accounts"


def new_stamp() -> int:
    """A stamp no other writer draws (63 bits: it fits a signed 64-bit column)."""
    return secrets.randbits(63)


@dataclass(slots=True)
class AccountCache:
    """The accounts as the connection's last stamped batch left them."""

    driver: Any
    stamp: int
    accounts: dict[int, AccountState] = field(default_factory=dict)

    def lookup(self, ids: list[int]) -> tuple[dict[int, AccountState], list[int]]:
        """The known accounts among ``ids``, and the ids to read from the database."""
        known = self.accounts
        found: dict[int, AccountState] = {}
        missing: list[int] = []
        for i in ids:
            account = known.get(i)
            if account is None:
                missing.append(i)
            else:
                found[i] = account
        return found, missing

    def remember(self, accounts: dict[int, AccountState], stamp: int) -> None:
        """After a batch that wrote ``stamp``: its accounts, already mutated to their new
        balances, are what the connection now knows."""
        if len(self.accounts) + len(accounts) > MAX_CACHED_ACCOUNTS:
            self.accounts.clear()
        self.accounts.update(accounts)
        self.stamp = stamp


def cache_for(info: dict[Any, Any], driver: Any, stamp: int) -> AccountCache:
    """The connection's cache if ``stamp`` (read in the batch's write transaction) is the one
    it last wrote, else an empty one.

    ``info`` is the pool's dictionary for the driver connection.
    """
    cache = info.get(_INFO_KEY)
    if isinstance(cache, AccountCache) and cache.driver is driver and cache.stamp == stamp:
        return cache
    cache = AccountCache(driver, stamp)
    info[_INFO_KEY] = cache
    return cache


def forget(info: dict[Any, Any]) -> None:
    """Drop the cache: a batch failed half-way, and its accounts may hold balances the
    database never took."""
    info.pop(_INFO_KEY, None)
