"""Stateful property test of the SQL ledger against an independent model, on both databases.

Random sequences of posted, pending, post-pending, void-pending, replayed and conflicting
transfers, alone or in batches: the model predicts each outcome and each balance, and after
every step the sum of posted balances is zero, no wallet is below zero and the database agrees
with the model. Every replay leaves the database exactly as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, text

from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, apply_batch, check_ledger
from payez.domain.ledger import (
    Applied,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    PendingResolved,
    PendingUnknown,
    SameAccount,
    Transfer,
    TransferAmountInvalid,
    TransferMode,
)
from payez.domain.money import Money

WALLETS = 3  # account 0 of each example is an overdraft-allowed source, then the wallets
AMOUNTS = st.integers(min_value=-2, max_value=3_000)
ACCOUNTS = st.integers(min_value=0, max_value=WALLETS)


@dataclass
class Model:
    """What the ledger must hold, computed without the code under test."""

    overdraft: list[bool]
    posted: list[int] = field(default_factory=list)
    pending_out: list[int] = field(default_factory=list)
    pending_in: list[int] = field(default_factory=list)
    # key -> (transfer, its id once the database has given one)
    applied: dict[str, tuple[Transfer, int | None]] = field(default_factory=dict)
    resolved: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        n = len(self.overdraft)
        self.posted, self.pending_out, self.pending_in = [0] * n, [0] * n, [0] * n

    def expect(self, t: Transfer, debit: int, credit: int) -> type[LedgerError] | None:
        """The error ``t`` must get (None: applied or replayed), updating the model."""
        if t.key in self.applied:
            return None if self.applied[t.key][0] == t else IdempotencyConflict
        error = self._apply(t, debit, credit)
        if error is None:
            self.applied[t.key] = (t, None)
        return error

    def _apply(self, t: Transfer, debit: int, credit: int) -> type[LedgerError] | None:
        cents = t.amount.cents
        if cents <= 0:
            return TransferAmountInvalid
        if debit == credit:
            return SameAccount
        if t.mode in (TransferMode.POSTED, TransferMode.PENDING):
            if not self.overdraft[debit] and self.posted[debit] - self.pending_out[debit] < cents:
                return InsufficientFunds
            if t.mode == TransferMode.POSTED:
                self.posted[debit] -= cents
                self.posted[credit] += cents
            else:
                self.pending_out[debit] += cents
                self.pending_in[credit] += cents
            return None
        assert t.pending_key is not None
        if t.pending_key not in self.applied:
            return PendingUnknown
        if t.pending_key in self.resolved:
            return PendingResolved
        self.resolved.add(t.pending_key)
        self.pending_out[debit] -= cents
        self.pending_in[credit] -= cents
        if t.mode == TransferMode.POST_PENDING:
            self.posted[debit] -= cents
            self.posted[credit] += cents
        return None


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.prefix = uuid.uuid4().hex[:10]
        self.counter = 0
        with engine.begin() as c:
            ledger = SqlLedger(c)
            self.ids = [ledger.open_account(no_overdraft=False, owner="source")]
            self.ids += ledger.open_accounts(WALLETS, no_overdraft=True, owner="wallet")
        self.index = {account: i for i, account in enumerate(self.ids)}
        self.model = Model([True] + [False] * WALLETS)
        self.pendings: list[Transfer] = []

    def key(self) -> str:
        self.counter += 1
        return f"{self.prefix}-{self.counter}"

    def transfer(self, debit: int, credit: int, cents: int, mode: TransferMode) -> Transfer:
        return Transfer(self.key(), self.ids[debit], self.ids[credit], Money.eur(cents), mode)

    def run(self, transfers: list[Transfer]) -> None:
        expected = [
            self.model.expect(t, self.index[t.debit], self.index[t.credit]) for t in transfers
        ]
        results = apply_batch(self.engine, transfers)
        assert len(results) == len(transfers)
        for t, want, got in zip(transfers, expected, results, strict=True):
            if want is not None:
                assert type(got) is want, (t, got)
                continue
            assert isinstance(got, Applied), (t, got)
            first_id = self.model.applied[t.key][1]
            if first_id is not None:
                # A replay of an earlier batch, or of an earlier transfer in this one.
                assert got.replayed and got.transfer_id == first_id
            else:
                assert not got.replayed
                self.model.applied[t.key] = (t, got.transfer_id)
                if t.mode == TransferMode.PENDING:
                    self.pendings.append(t)

    def snapshot(self) -> list[Any]:
        with self.engine.connect() as c:
            rows = list(c.execute(text("SELECT * FROM ledger_accounts ORDER BY id")))
            rows += list(c.execute(text("SELECT count(*) FROM ledger_transfers")))
        return rows

    @rule(debit=ACCOUNTS, credit=ACCOUNTS, cents=AMOUNTS)
    def posted(self, debit: int, credit: int, cents: int) -> None:
        self.run([self.transfer(debit, credit, cents, TransferMode.POSTED)])

    @rule(debit=ACCOUNTS, credit=ACCOUNTS, cents=AMOUNTS)
    def pending(self, debit: int, credit: int, cents: int) -> None:
        self.run([self.transfer(debit, credit, cents, TransferMode.PENDING)])

    @precondition(lambda self: self.pendings)
    @rule(data=st.data(), post=st.booleans())
    def resolve(self, data: st.DataObject, post: bool) -> None:
        hold = data.draw(st.sampled_from(self.pendings))
        self.run([hold.posting(self.key()) if post else hold.voiding(self.key())])

    @precondition(lambda self: self.model.applied)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.applied)))
        before = self.snapshot()
        self.run([self.model.applied[key][0]])
        assert self.snapshot() == before

    @precondition(lambda self: self.model.applied)
    @rule(data=st.data())
    def conflicting_replay(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model.applied)))
        original = self.model.applied[key][0]
        changed = Transfer(
            key, original.debit, original.credit, Money.eur(original.amount.cents + 1)
        )
        before = self.snapshot()
        self.run([changed])
        assert self.snapshot() == before

    @rule(
        ops=st.lists(
            st.tuples(ACCOUNTS, ACCOUNTS, AMOUNTS, st.sampled_from(["posted", "pending", "res"])),
            min_size=1,
            max_size=8,
        )
    )
    def batch(self, ops: list[tuple[int, int, int, str]]) -> None:
        transfers: list[Transfer] = []
        pendings = list(self.pendings)
        for debit, credit, cents, kind in ops:
            if kind == "res" and pendings:
                hold = pendings[cents % len(pendings)]
                transfers.append(
                    hold.posting(self.key()) if cents % 2 else hold.voiding(self.key())
                )
            elif kind == "pending":
                transfers.append(self.transfer(debit, credit, cents, TransferMode.PENDING))
                pendings.append(transfers[-1])
            else:
                transfers.append(self.transfer(debit, credit, cents, TransferMode.POSTED))
        if transfers and cents % 3 == 0:
            transfers.append(transfers[0])  # a replay inside the batch
        self.run(transfers)

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        with self.engine.begin() as c:
            balances = SqlLedger(c).balances(self.ids)
        for i, account in enumerate(self.ids):
            b = balances[account]
            assert (b.posted.cents, b.pending_out.cents, b.pending_in.cents) == (
                self.model.posted[i],
                self.model.pending_out[i],
                self.model.pending_in[i],
            )
            if i > 0:
                assert b.available.cents >= 0

    @invariant()
    def sums_are_zero(self) -> None:
        with self.engine.connect() as c:
            posted, out, in_ = c.execute(
                text("SELECT sum(posted), sum(pending_out), sum(pending_in) FROM ledger_accounts")
            ).one()
        assert posted == 0
        assert out == in_

    def teardown(self) -> None:
        report = check_ledger(self.engine)
        assert report.ok, report.problems


def test_ledger_state_machine(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        run_state_machine_as_test(
            lambda: LedgerMachine(engine),  # type: ignore[arg-type]
            settings=settings(
                max_examples=40,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        engine.dispose()
