"""Eight PostgreSQL connections applying random batches between 50 accounts at once.

Some keys are shared by every connection with the same content (each must apply exactly once,
the others replaying it), some with a different amount per connection (exactly one wins, the
others get a conflict). No deadlock may even be detected and retried, no wallet goes below
zero, and the ledger checks out.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import text

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, apply_batch, apply_batch_on, check_ledger
from payez.domain.ledger import (
    Applied,
    IdempotencyConflict,
    LedgerError,
    Transfer,
    TransferMode,
)
from payez.domain.money import Money

THREADS = 8
ACCOUNTS = 50
BATCHES_PER_THREAD = 40


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_concurrent_batches_never_deadlock_nor_double_apply(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pool_size=THREADS)
    try:
        with engine.begin() as c:
            ledger = SqlLedger(c)
            funding = ledger.account_id("card_funding")
            wallets = ledger.open_accounts(ACCOUNTS, no_overdraft=True)
            # Rich wallets for the shared and contested keys: their outcome depends only on
            # the races, never on what the random transfers left in a wallet.
            rich = ledger.open_accounts(10 + 2 * THREADS, no_overdraft=True)
        funded = apply_batch(
            engine,
            [Transfer(f"fund-{a}", funding, a, Money.eur(5_000)) for a in wallets]
            + [Transfer(f"fund-{a}", funding, a, Money.eur(10**6)) for a in rich],
        )
        assert all(isinstance(r, Applied) for r in funded)

        rng = random.Random(2024)
        shared = []
        for i in range(60):
            debit, credit = rng.sample(rich[:10], 2)
            shared.append(Transfer(f"shared-{i}", debit, credit, Money.eur(rng.randint(1, 300))))
        contested = [f"contested-{i}" for i in range(BATCHES_PER_THREAD)]
        start = threading.Barrier(THREADS)
        outcomes: dict[int, list[tuple[Transfer, Applied | LedgerError]]] = {}
        retries: list[str] = []
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            local = random.Random(n)
            seen: list[tuple[Transfer, Applied | LedgerError]] = []
            try:
                with engine.connect() as connection:
                    start.wait()
                    for b in range(BATCHES_PER_THREAD):
                        batch: list[Transfer] = []
                        for i in range(local.randint(1, 25)):
                            debit, credit = local.sample(wallets, 2)
                            amount = Money.eur(local.randint(1, 800))
                            mode = TransferMode.PENDING if i % 5 == 4 else TransferMode.POSTED
                            batch.append(Transfer(f"w{n}-{b}-{i}", debit, credit, amount, mode))
                        if batch[-1].mode == TransferMode.PENDING:
                            batch.append(batch[-1].posting(f"w{n}-{b}-post"))
                        batch += local.sample(shared, 3)
                        key = contested[b]  # every connection at once, in step
                        # Other accounts per connection: no lock orders these, the unique
                        # index decides, and the losers retry their whole batch.
                        debit, credit = rich[10 + 2 * n], rich[11 + 2 * n]
                        batch.append(Transfer(key, debit, credit, Money.eur(n + 1)))
                        if b % 3 == 0:  # alone, so nothing but the key orders the racers
                            batch = batch[-1:]
                        local.shuffle(batch)
                        results = apply_batch_on(connection, batch, on_retry=retries.append)
                        seen.extend(zip(batch, results, strict=True))
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            outcomes[n] = seen

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
        assert not any(thread.is_alive() for thread in threads), "a worker is stuck: deadlock"
        assert errors == []
        assert "40P01" not in retries, "PostgreSQL detected a deadlock"

        everything = [pair for n in range(THREADS) for pair in outcomes[n]]
        first_applications = Counter(
            t.key for t, r in everything if isinstance(r, Applied) and not r.replayed
        )
        assert max(first_applications.values()) == 1, "a key was applied twice"
        ids_by_key: dict[str, set[int]] = {}
        for t, r in everything:
            if isinstance(r, Applied):
                ids_by_key.setdefault(t.key, set()).add(r.transfer_id)
        assert all(len(ids) == 1 for ids in ids_by_key.values())
        # The races this test is about did happen.
        assert any(isinstance(r, Applied) and r.replayed for _, r in everything)
        assert any(isinstance(r, IdempotencyConflict) for _, r in everything)
        for transfer in shared:
            shared_results = [r for t, r in everything if t.key == transfer.key]
            if shared_results:  # one first application, the rest replays of it
                assert all(isinstance(r, Applied) for r in shared_results), shared_results
                assert sum(not r.replayed for r in shared_results if isinstance(r, Applied)) == 1
        for key in contested:
            used = [(t, r) for t, r in everything if t.key == key]
            winners = {t.amount for t, r in used if isinstance(r, Applied)}
            assert len(winners) <= 1
            for t, r in used:
                assert isinstance(r, Applied) == (t.amount in winners), (t, r)
                if not isinstance(r, Applied):
                    assert isinstance(r, IdempotencyConflict)

        with engine.connect() as c:
            negative = c.execute(
                text(
                    "SELECT count(*) FROM ledger_accounts "
                    "WHERE no_overdraft AND posted - pending_out < 0"
                )
            ).scalar_one()
            stored = c.execute(text("SELECT count(*) FROM ledger_transfers")).scalar_one()
        assert negative == 0
        assert stored == len(funded) + len(ids_by_key)  # each key once
        report = check_ledger(engine)
        assert report.ok, report.problems
        assert report.posted_sums == {"EUR": 0}
    finally:
        engine.dispose()
