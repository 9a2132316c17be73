"""The pure ledger rules: plan_batch decides transfers against in-memory accounts."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payez.domain.errors import InvalidInput, PayezError
from payez.domain.ledger import (
    AccountState,
    AccountUnknown,
    Applied,
    Balance,
    BatchPlan,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerCurrencyMismatch,
    LedgerError,
    LedgerReport,
    PendingKeyUnexpected,
    PendingMismatch,
    PendingResolved,
    PendingUnknown,
    Recorded,
    SameAccount,
    Transfer,
    TransferAmountInvalid,
    TransferKeyInvalid,
    TransferMode,
    TransferModeInvalid,
    batch_account_ids,
    batch_lookup_keys,
    plan_batch,
)
from payez.domain.money import Money

FUNDING, WALLET_A, WALLET_B, USD_WALLET = 1, 2, 3, 4


def eur(cents: int) -> Money:
    return Money.eur(cents)


def accounts(**posted: int) -> dict[int, AccountState]:
    book = {
        FUNDING: AccountState(FUNDING, "EUR", no_overdraft=False),
        WALLET_A: AccountState(WALLET_A, "EUR", no_overdraft=True),
        WALLET_B: AccountState(WALLET_B, "EUR", no_overdraft=True),
        USD_WALLET: AccountState(USD_WALLET, "USD", no_overdraft=True),
    }
    for name, cents in posted.items():
        account = {"a": WALLET_A, "b": WALLET_B}[name]
        book[account].posted += cents
        book[FUNDING].posted -= cents
    return book


def counter(start: int = 100) -> Callable[[], int]:
    ids = itertools.count(start)
    return lambda: next(ids)


def plan(
    transfers: list[Transfer],
    book: dict[int, AccountState] | None = None,
    stored: dict[str, Recorded] | None = None,
) -> BatchPlan:
    return plan_batch(transfers, accounts() if book is None else book, stored or {}, counter())


def test_posted_transfer_moves_money_and_keeps_the_sum_at_zero() -> None:
    book = accounts(a=1_000)
    result = plan([Transfer("t", WALLET_A, WALLET_B, eur(300))], book)
    assert result.results == [Applied("t", 100, replayed=False)]
    assert (book[WALLET_A].posted, book[WALLET_B].posted) == (700, 300)
    assert sum(a.posted for a in book.values()) == 0
    assert result.deltas == {WALLET_A: [-300, 0, 0], WALLET_B: [300, 0, 0]}
    assert [r.transfer.key for r in result.inserts] == ["t"]


def test_wallet_cannot_go_below_zero_but_card_funding_can() -> None:
    book = accounts(a=100)
    result = plan(
        [
            Transfer("too-much", WALLET_A, WALLET_B, eur(101)),
            Transfer("all", WALLET_A, WALLET_B, eur(100)),
            Transfer("top-up", FUNDING, WALLET_A, eur(5_000)),
        ],
        book,
    )
    assert isinstance(result.results[0], InsufficientFunds)
    assert isinstance(result.results[1], Applied)
    assert isinstance(result.results[2], Applied)
    assert book[WALLET_A].posted == 5_000
    assert book[FUNDING].posted == -5_100


def test_failed_transfer_fails_alone_and_later_ones_see_earlier_effects() -> None:
    book = accounts(a=500)
    result = plan(
        [
            Transfer("a-to-b", WALLET_A, WALLET_B, eur(500)),
            Transfer("a-again", WALLET_A, WALLET_B, eur(1)),  # a is empty now
            Transfer("b-to-a", WALLET_B, WALLET_A, eur(200)),  # b has the 500 now
        ],
        book,
    )
    assert [type(r) for r in result.results] == [Applied, InsufficientFunds, Applied]
    assert [r.transfer.key for r in result.inserts] == ["a-to-b", "b-to-a"]
    assert (book[WALLET_A].posted, book[WALLET_B].posted) == (200, 300)


def test_pending_holds_then_posts() -> None:
    book = accounts(a=1_000)
    hold = Transfer("hold", WALLET_A, WALLET_B, eur(600), TransferMode.PENDING)
    first = plan([hold, Transfer("spend", WALLET_A, WALLET_B, eur(500))], book)
    assert isinstance(first.results[0], Applied)
    assert isinstance(first.results[1], InsufficientFunds)  # only 400 available
    a, b = book[WALLET_A], book[WALLET_B]
    assert (a.posted, a.pending_out, a.available) == (1_000, 600, 400)
    assert (b.posted, b.pending_in) == (0, 600)
    stored = {"hold": Recorded(100, hold)}
    second = plan([hold.posting("hold-post")], book, stored)
    assert second.results == [Applied("hold-post", 100, replayed=False)]
    assert (a.posted, a.pending_out, b.posted, b.pending_in) == (400, 0, 600, 0)


def test_void_releases_the_hold() -> None:
    book = accounts(a=1_000)
    hold = Transfer("hold", WALLET_A, WALLET_B, eur(600), TransferMode.PENDING)
    result = plan([hold, hold.voiding("hold-void")], book)
    assert all(isinstance(r, Applied) for r in result.results)
    a, b = book[WALLET_A], book[WALLET_B]
    assert (a.posted, a.pending_out, b.posted, b.pending_in) == (1_000, 0, 0, 0)
    assert result.deltas == {}  # nothing changed in the end: nothing to update


def test_pending_is_resolved_once() -> None:
    book = accounts(a=1_000)
    hold = Transfer("hold", WALLET_A, WALLET_B, eur(100), TransferMode.PENDING)
    result = plan([hold, hold.posting("p"), hold.voiding("v"), hold.posting("p2")], book)
    assert [type(r) for r in result.results] == [Applied, Applied, PendingResolved, PendingResolved]
    stored = {"hold": Recorded(7, hold, resolved=True)}
    later = plan([hold.voiding("v-later")], accounts(a=1_000), stored)
    assert isinstance(later.results[0], PendingResolved)


def test_resolution_must_name_an_existing_pending_with_the_same_content() -> None:
    book = accounts(a=1_000)
    hold = Transfer("hold", WALLET_A, WALLET_B, eur(100), TransferMode.PENDING)
    posted = Transfer("posted", WALLET_A, WALLET_B, eur(100))
    result = plan(
        [
            posted,
            hold,
            Transfer("r1", WALLET_A, WALLET_B, eur(100), TransferMode.POST_PENDING, "nope"),
            Transfer("r2", WALLET_A, WALLET_B, eur(100), TransferMode.POST_PENDING, "posted"),
            Transfer("r3", WALLET_A, WALLET_B, eur(99), TransferMode.POST_PENDING, "hold"),
            Transfer("r4", WALLET_B, WALLET_A, eur(100), TransferMode.VOID_PENDING, "hold"),
            Transfer("r5", WALLET_A, WALLET_B, eur(100), TransferMode.POST_PENDING),
            Transfer("r6", WALLET_A, WALLET_B, eur(100), TransferMode.POSTED, "hold"),
        ],
        book,
    )
    assert [type(r) for r in result.results] == [
        Applied,
        Applied,
        PendingUnknown,
        PendingUnknown,
        PendingMismatch,
        PendingMismatch,
        PendingUnknown,
        PendingKeyUnexpected,
    ]
    assert book[WALLET_A].pending_out == 100  # the hold is still there, untouched


def test_replay_is_a_no_op_and_a_changed_replay_a_conflict() -> None:
    book = accounts(a=1_000)
    t = Transfer("k", WALLET_A, WALLET_B, eur(100), memo="rent")
    result = plan(
        [
            t,
            t,
            Transfer("k", WALLET_A, WALLET_B, eur(101), memo="rent"),
            Transfer("k", WALLET_A, WALLET_B, eur(100), memo="other"),
        ],
        book,
    )
    assert result.results[:2] == [Applied("k", 100, False), Applied("k", 100, True)]
    assert all(isinstance(r, IdempotencyConflict) for r in result.results[2:])
    assert book[WALLET_A].posted == 900
    stored = {"k": Recorded(42, t)}
    again = plan([t, Transfer("k", WALLET_B, WALLET_A, eur(100), memo="rent")], book, stored)
    assert again.results[0] == Applied("k", 42, replayed=True)
    assert isinstance(again.results[1], IdempotencyConflict)
    assert again.inserts == [] and again.deltas == {}


def test_a_key_that_failed_can_be_tried_again_in_the_same_batch() -> None:
    book = accounts()
    t = Transfer("k", WALLET_A, WALLET_B, eur(100))
    result = plan([t, Transfer("fund", FUNDING, WALLET_A, eur(100)), t], book)
    assert [type(r) for r in result.results] == [InsufficientFunds, Applied, Applied]


@pytest.mark.parametrize(
    ("transfer", "error"),
    [
        (Transfer("zero", WALLET_A, WALLET_B, eur(0)), TransferAmountInvalid),
        (Transfer("neg", WALLET_A, WALLET_B, eur(-5)), TransferAmountInvalid),
        (Transfer("same", WALLET_A, WALLET_A, eur(5)), SameAccount),
        (Transfer("unknown-debit", 999, WALLET_B, eur(5)), AccountUnknown),
        (Transfer("unknown-credit", WALLET_A, 999, eur(5)), AccountUnknown),
        (Transfer("usd-amount", WALLET_A, WALLET_B, Money(5, "USD")), LedgerCurrencyMismatch),
        (Transfer("usd-account", WALLET_A, USD_WALLET, eur(5)), LedgerCurrencyMismatch),
        (Transfer("", WALLET_A, WALLET_B, eur(5)), TransferKeyInvalid),
        (Transfer("k" * 201, WALLET_A, WALLET_B, eur(5)), TransferKeyInvalid),
        (Transfer("memo", WALLET_A, WALLET_B, eur(5), memo="m" * 501), TransferKeyInvalid),
        (
            Transfer("mode", WALLET_A, WALLET_B, eur(5), "sideways"),  # type: ignore[arg-type]
            TransferModeInvalid,
        ),
    ],
)
def test_bad_input_is_refused_with_its_code_and_changes_nothing(
    transfer: Transfer, error: type[LedgerError]
) -> None:
    book = accounts(a=1_000)
    before = {i: (a.posted, a.pending_out, a.pending_in) for i, a in book.items()}
    result = plan([transfer], book)
    assert len(result.results) == 1
    assert type(result.results[0]) is error
    assert result.inserts == [] and result.deltas == {}
    assert {i: (a.posted, a.pending_out, a.pending_in) for i, a in book.items()} == before


def test_error_codes_are_stable_unique_and_bilingual() -> None:
    leaves = [
        InsufficientFunds,
        AccountUnknown,
        LedgerCurrencyMismatch,
        SameAccount,
        TransferAmountInvalid,
        TransferKeyInvalid,
        TransferModeInvalid,
        IdempotencyConflict,
        PendingUnknown,
        PendingResolved,
        PendingMismatch,
        PendingKeyUnexpected,
    ]
    codes = {cls.code for cls in leaves}
    assert len(codes) == len(leaves)
    assert {
        "insufficient_funds",
        "account_unknown",
        "ledger_currency_mismatch",
        "same_account",
        "transfer_amount_invalid",
        "idempotency_conflict",
        "pending_unknown",
        "pending_already_resolved",
    } <= codes
    for cls in leaves:
        assert issubclass(cls, LedgerError) and issubclass(cls, PayezError)
        error = cls("detail")
        assert error.message("fr") and error.message("en")
        assert error.message("fr") != error.message("en")
        assert str(error).startswith(cls.code)
    assert issubclass(SameAccount, InvalidInput)
    assert not issubclass(InsufficientFunds, InvalidInput)


def test_balance_available_and_account_state() -> None:
    state = AccountState(5, "EUR", True, posted=1_000, pending_out=300, pending_in=50)
    balance = state.balance()
    assert balance == Balance(5, eur(1_000), eur(300), eur(50))
    assert balance.available == eur(700)
    assert state.available == 700


def test_resolution_helpers_copy_the_pending_content() -> None:
    hold = Transfer("h", WALLET_A, WALLET_B, eur(42), TransferMode.PENDING, memo="x")
    post = hold.posting("h-post", memo="done")
    void = hold.voiding("h-void")
    assert (post.debit, post.credit, post.amount, post.pending_key) == (2, 3, eur(42), "h")
    assert (post.mode, void.mode) == (TransferMode.POST_PENDING, TransferMode.VOID_PENDING)
    assert post.memo == "done" and void.memo is None


def test_lock_order_and_lookup_keys() -> None:
    hold = Transfer("h", 9, 3, eur(1), TransferMode.PENDING)
    batch = [Transfer("b", 7, 2, eur(1)), hold, hold.posting("p")]
    assert batch_account_ids(batch) == [2, 3, 7, 9]
    assert batch_lookup_keys(batch) == ["b", "h", "p"]


def test_report_summary() -> None:
    sound = LedgerReport([], 3, 10, {"EUR": 0}, {"EUR": (5, 5)})
    assert sound.ok and "ledger ok: 3 accounts, 10 transfers" in sound.summary()
    broken = LedgerReport(["x", "y"], 3, 10, {"EUR": 7}, {"EUR": (0, 0)})
    assert not broken.ok and "2 problem(s)" in broken.summary()


OPS = st.lists(
    st.tuples(
        st.sampled_from(["posted", "pending", "post", "void", "replay"]),
        st.sampled_from([FUNDING, WALLET_A, WALLET_B]),
        st.sampled_from([FUNDING, WALLET_A, WALLET_B]),
        st.integers(min_value=-10, max_value=2_000),
        st.integers(min_value=0, max_value=50),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_any_batch_keeps_the_sum_at_zero_and_wallets_non_negative(
    ops: list[tuple[str, int, int, int, int]],
) -> None:
    book = accounts()
    transfers: list[Transfer] = []
    for i, (kind, debit, credit, cents, ref) in enumerate(ops):
        if kind in ("post", "void", "replay") and transfers:
            earlier = transfers[ref % len(transfers)]
            if kind == "replay":
                transfers.append(earlier)
            elif kind == "post":
                transfers.append(earlier.posting(f"r{i}"))
            else:
                transfers.append(earlier.voiding(f"r{i}"))
            continue
        mode = TransferMode.PENDING if kind == "pending" else TransferMode.POSTED
        transfers.append(Transfer(f"t{i}", debit, credit, eur(cents), mode))
    result = plan(transfers, book)
    assert len(result.results) == len(transfers)
    assert sum(a.posted for a in book.values()) == 0
    assert sum(a.pending_out for a in book.values()) == sum(a.pending_in for a in book.values())
    for account in book.values():
        assert account.pending_out >= 0 and account.pending_in >= 0
        if account.no_overdraft:
            assert account.available >= 0
    applied = [r for r in result.results if isinstance(r, Applied)]
    assert len({r.transfer_id for r in applied if not r.replayed}) == len(result.inserts)
    for r in applied:
        if r.replayed:
            assert any(rec.transfer_id == r.transfer_id for rec in result.inserts)
