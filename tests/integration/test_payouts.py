"""SEPA payouts on SQLite and PostgreSQL: hold on request, export once, post or void the hold."""

from __future__ import annotations

import threading
from pathlib import Path
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa

from payez.adapters.db import users as users_repo
from payez.adapters.db.engine import make_engine
from payez.adapters.db.ledger import SqlLedger, check_ledger
from payez.adapters.db.payouts import (
    PayoutState,
    end_to_end_id,
    executed_key,
    get_payout,
    hold_key,
    rejected_key,
)
from payez.adapters.db.tables.ledger import ledger_transfers
from payez.adapters.db.tables.payments import users
from payez.adapters.db.tables.payouts import payout_batches, payouts
from payez.adapters.payouts.sepa import NAMESPACE, decimal_to_cents, validate_against_xsd
from payez.config import load_settings
from payez.domain.errors import PayezError
from payez.domain.ledger import Balance, TransferMode
from payez.domain.money import Money
from payez.ports.clock import SystemClock
from payez.service.context import ServiceContext
from payez.service.export_payouts import (
    PayoutFileExists,
    PayoutFileNotWritten,
    export_payouts,
)
from payez.service.load_wallet import load_wallet
from payez.service.open_account import open_user
from payez.service.request_payout import request_payout
from payez.service.settle_payouts import (
    PayoutAlreadyExecuted,
    PayoutBatchUnknown,
    PayoutReasonMissing,
    PayoutUnknown,
    mark_batch_executed,
    reject_payout,
)

NS = {"p": NAMESPACE}
IBAN_FR = "FR14 2004 1010 0505 0001 3M02 606"
IBAN_DE = "DE89370400440532013000"


def make_context(database_url: str) -> ServiceContext:
    settings = load_settings({}, database_url=database_url)
    return ServiceContext(engine=make_engine(database_url), settings=settings, clock=SystemClock())


def open_funded_user(
    ctx: ServiceContext,
    handle: str,
    cents: int,
    *,
    verified: bool = True,
    status: str = "active",
) -> int:
    """A person linked under ``handle`` whose wallet holds ``cents``."""
    with ctx.engine.begin() as conn:
        user_id = open_user(
            conn,
            kind="person",
            display_name=handle,
            now=ctx.now(),
            identity_verified=verified,
        )
        users_repo.link_account(
            conn,
            user_id=user_id,
            network="memory",
            account_id=f"id-{handle}",
            handle=handle,
            now=ctx.now(),
        )
        if status != "active":
            conn.execute(users.update().where(users.c.id == user_id).values(status=status))
        if cents:
            load_wallet(conn, user_id, Money.eur(cents), f"load:{handle}")
    return user_id


def wallet(ctx: ServiceContext, user_id: int) -> Balance:
    with ctx.engine.connect() as conn:
        user = users_repo.get_user(conn, user_id)
        assert user is not None
        return SqlLedger(conn).balance(user.wallet_account_id)


def payouts_account(ctx: ServiceContext) -> Balance:
    with ctx.engine.connect() as conn:
        ledger = SqlLedger(conn)
        return ledger.balance(ledger.account_id("payouts"))


def counts(ctx: ServiceContext) -> tuple[int, int, int]:
    """(payout rows, batch rows, ledger transfers)."""
    with ctx.engine.connect() as conn:
        return (
            conn.execute(sa.select(sa.func.count()).select_from(payouts)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(payout_batches)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(ledger_transfers)).scalar_one(),
        )


def state_of(ctx: ServiceContext, payout_id: int) -> PayoutState:
    with ctx.engine.connect() as conn:
        row = get_payout(conn, payout_id)
    assert row is not None
    return row.state


def assert_ledger_sound(ctx: ServiceContext) -> None:
    report = check_ledger(ctx.engine)
    assert report.ok, report.problems


@pytest.fixture
def ctx(database_url: str) -> ServiceContext:
    return make_context(database_url)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """A directory for payout files alone (the SQLite database lives in ``tmp_path``)."""
    path = tmp_path / "files"
    path.mkdir()
    return path


def request(ctx: ServiceContext, handle: str, cents: int, iban: str = IBAN_FR) -> int:
    return request_payout(
        ctx, handle=handle, amount=Money.eur(cents), iban=iban, creditor_name=f"Titulaire {handle}"
    ).payout_id


def test_request_holds_the_money(ctx: ServiceContext) -> None:
    alice = open_funded_user(ctx, "alice", 10_000)
    result = request_payout(
        ctx,
        handle="@Alice",
        amount=Money.eur(2_500),
        iban="fr14 2004 1010 0505 0001 3m02 606",
        creditor_name="  Alice   Durand ",
    )
    assert (result.user_id, result.iban, result.creditor_name) == (
        alice,
        "FR1420041010050500013M02606",
        "Alice Durand",
    )
    balance = wallet(ctx, alice)
    assert (balance.posted.cents, balance.pending_out.cents, balance.available.cents) == (
        10_000,
        2_500,
        7_500,
    )
    assert payouts_account(ctx).pending_in.cents == 2_500
    with ctx.engine.connect() as conn:
        hold = SqlLedger(conn).transfers([hold_key(result.payout_id)])[hold_key(result.payout_id)]
        row = get_payout(conn, result.payout_id)
    assert hold.transfer.mode is TransferMode.PENDING
    assert hold.transfer.amount == Money.eur(2_500)
    assert not hold.resolved
    assert row is not None and row.state is PayoutState.REQUESTED and row.batch_id is None
    assert_ledger_sound(ctx)


@pytest.mark.parametrize(
    ("handle", "cents", "iban", "name", "code"),
    [
        ("alice", 1_000, "FR14 2004 1010 0505 0001 3M02 607", "Alice", "iban_invalid"),
        ("alice", 1_000, "not an iban", "Alice", "iban_invalid"),
        ("alice", 1_000, "TR330006100519786457841326", "Alice", "iban_outside_sepa"),
        ("alice", 10_001, IBAN_FR, "Alice", "payout_insufficient_funds"),
        ("alice", 0, IBAN_FR, "Alice", "payout_amount_invalid"),
        ("alice", -5, IBAN_FR, "Alice", "payout_amount_invalid"),
        ("alice", 1_000, IBAN_FR, " ✓✓ ", "payout_name_invalid"),
        ("unverified", 1_000, IBAN_FR, "Uma", "payout_identity_unverified"),
        ("frozen", 1_000, IBAN_FR, "Fred", "payout_user_frozen"),
        ("nobody", 1_000, IBAN_FR, "Nobody", "user_unknown"),
    ],
)
def test_a_refused_request_holds_nothing(
    ctx: ServiceContext, handle: str, cents: int, iban: str, name: str, code: str
) -> None:
    ids = {
        "alice": open_funded_user(ctx, "alice", 10_000),
        "unverified": open_funded_user(ctx, "unverified", 10_000, verified=False),
        "frozen": open_funded_user(ctx, "frozen", 10_000, status="frozen"),
    }
    before = counts(ctx)
    with pytest.raises(PayezError) as raised:
        request_payout(ctx, handle=handle, amount=Money.eur(cents), iban=iban, creditor_name=name)
    error = raised.value
    assert error.code == code
    assert (
        error.message("fr") and error.message("en") and error.message("fr") != error.message("en")
    )
    assert counts(ctx) == before
    for user_id in ids.values():
        balance = wallet(ctx, user_id)
        assert (balance.posted.cents, balance.pending_out.cents) == (10_000, 0)
    assert payouts_account(ctx).pending_in.cents == 0
    assert_ledger_sound(ctx)


def test_holds_count_against_the_available_balance(ctx: ServiceContext) -> None:
    alice = open_funded_user(ctx, "alice", 10_000)
    request(ctx, "alice", 6_000)
    before = counts(ctx)
    with pytest.raises(PayezError) as raised:
        request(ctx, "alice", 4_001)
    assert raised.value.code == "payout_insufficient_funds"
    assert counts(ctx) == before
    request(ctx, "alice", 4_000)
    assert wallet(ctx, alice).available.cents == 0
    assert_ledger_sound(ctx)


def _file_amounts(document: bytes) -> tuple[str, int, int, dict[str, int]]:
    root = ElementTree.fromstring(document)
    header = "p:CstmrCdtTrfInitn/p:GrpHdr/p:"
    transfers = {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS) or "": decimal_to_cents(
            tx.findtext("p:Amt/p:InstdAmt", namespaces=NS) or ""
        )
        for tx in root.findall(".//p:CdtTrfTxInf", NS)
    }
    return (
        root.findtext(header + "MsgId", namespaces=NS) or "",
        int(root.findtext(header + "NbOfTxs", namespaces=NS) or "-1"),
        decimal_to_cents(root.findtext(header + "CtrlSum", namespaces=NS) or ""),
        transfers,
    )


def test_export_writes_one_valid_file_matching_the_ledger_holds(
    ctx: ServiceContext, out_dir: Path
) -> None:
    open_funded_user(ctx, "alice", 10_000)
    open_funded_user(ctx, "bob", 20_000)
    ids = [
        request(ctx, "alice", 1_050),
        request(ctx, "bob", 15_005, IBAN_DE),
        request(ctx, "alice", 5),
    ]
    out = out_dir / "payouts.xml"
    result = export_payouts(ctx, out)
    assert result.path == out and result.payout_ids == tuple(ids)
    assert result.total == Money.eur(16_060)
    document = out.read_bytes()
    validate_against_xsd(document)
    message_id, count, control, transfers = _file_amounts(document)
    assert message_id == result.batch_id
    with ctx.engine.connect() as conn:
        holds = SqlLedger(conn).transfers([hold_key(i) for i in ids])
        rows = [get_payout(conn, i) for i in ids]
        batch = conn.execute(
            sa.select(payout_batches).where(payout_batches.c.id == result.batch_id)
        ).one()
    ledger_holds = {end_to_end_id(i): holds[hold_key(i)].transfer.amount.cents for i in ids}
    assert all(not holds[hold_key(i)].resolved for i in ids)
    assert transfers == ledger_holds
    assert count == len(ledger_holds) == 3
    assert control == sum(ledger_holds.values()) == 16_060
    assert (batch.payout_count, batch.total_cents, batch.file_name) == (3, 16_060, "payouts.xml")
    assert all(r is not None and r.state is PayoutState.EXPORTED for r in rows)
    assert {r.batch_id for r in rows if r is not None} == {result.batch_id}
    # No temporary file is left beside the published one.
    assert [p.name for p in out_dir.iterdir()] == ["payouts.xml"]
    assert_ledger_sound(ctx)


def test_exporting_twice_exports_once(ctx: ServiceContext, out_dir: Path) -> None:
    open_funded_user(ctx, "alice", 10_000)
    first_id = request(ctx, "alice", 1_000)
    first = export_payouts(ctx, out_dir / "one.xml")
    content = (out_dir / "one.xml").read_bytes()
    before = counts(ctx)

    again = export_payouts(ctx, out_dir / "two.xml")
    assert again.batch_id is None and again.payout_ids == () and again.path is None
    assert not (out_dir / "two.xml").exists()
    assert counts(ctx) == before

    second_id = request(ctx, "alice", 2_000)
    third = export_payouts(ctx, out_dir / "three.xml")
    assert third.payout_ids == (second_id,) and third.batch_id != first.batch_id
    _, count, control, transfers = _file_amounts((out_dir / "three.xml").read_bytes())
    assert (count, control, list(transfers)) == (1, 2_000, [end_to_end_id(second_id)])
    assert (out_dir / "one.xml").read_bytes() == content
    assert state_of(ctx, first_id) is PayoutState.EXPORTED
    assert_ledger_sound(ctx)


def test_a_file_that_cannot_be_written_marks_nothing(ctx: ServiceContext, out_dir: Path) -> None:
    open_funded_user(ctx, "alice", 10_000)
    payout_id = request(ctx, "alice", 1_000)
    before = counts(ctx)
    with pytest.raises(PayoutFileNotWritten):
        export_payouts(ctx, out_dir / "missing-directory" / "payouts.xml")
    existing = out_dir / "taken.xml"
    existing.write_text("an earlier batch")
    with pytest.raises(PayoutFileExists):
        export_payouts(ctx, existing)
    assert existing.read_text() == "an earlier batch"
    assert counts(ctx) == before
    assert state_of(ctx, payout_id) is PayoutState.REQUESTED
    assert sorted(p.name for p in out_dir.iterdir()) == ["taken.xml"]
    # Once the problem is fixed, the same payout goes out.
    assert export_payouts(ctx, out_dir / "ok.xml").payout_ids == (payout_id,)


def test_concurrent_exports_take_each_payout_once(ctx: ServiceContext, out_dir: Path) -> None:
    open_funded_user(ctx, "alice", 100_000)
    ids = [request(ctx, "alice", 100 + n) for n in range(20)]
    results: list[tuple[int, ...]] = []
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            results.append(export_payouts(ctx, out_dir / f"run-{n}.xml").payout_ids)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    exported = [i for r in results for i in r]
    assert sorted(exported) == ids  # every payout once, none twice
    assert len(list(out_dir.iterdir())) == sum(1 for r in results if r)


def test_executed_posts_the_holds_once(ctx: ServiceContext, out_dir: Path) -> None:
    alice = open_funded_user(ctx, "alice", 10_000)
    bob = open_funded_user(ctx, "bob", 5_000)
    a = request(ctx, "alice", 3_000)
    b = request(ctx, "bob", 1_000)
    batch = export_payouts(ctx, out_dir / "b.xml").batch_id
    assert batch is not None

    done = mark_batch_executed(ctx, batch)
    assert (done.executed, done.already_executed, done.rejected) == ((a, b), (), ())
    after_first = (wallet(ctx, alice), wallet(ctx, bob), payouts_account(ctx), counts(ctx))
    assert (after_first[0].posted.cents, after_first[0].pending_out.cents) == (7_000, 0)
    assert (after_first[1].posted.cents, after_first[1].pending_out.cents) == (4_000, 0)
    assert (after_first[2].posted.cents, after_first[2].pending_in.cents) == (4_000, 0)
    assert state_of(ctx, a) is state_of(ctx, b) is PayoutState.EXECUTED
    with ctx.engine.connect() as conn:
        posted = SqlLedger(conn).transfers([executed_key(a), executed_key(b)])
    assert {k: r.transfer.mode for k, r in posted.items()} == {
        executed_key(a): TransferMode.POST_PENDING,
        executed_key(b): TransferMode.POST_PENDING,
    }
    assert_ledger_sound(ctx)

    again = mark_batch_executed(ctx, batch)
    assert (again.executed, again.already_executed) == ((), (a, b))
    assert (wallet(ctx, alice), wallet(ctx, bob), payouts_account(ctx), counts(ctx)) == after_first
    with pytest.raises(PayoutAlreadyExecuted):
        reject_payout(ctx, a, "too late")
    assert state_of(ctx, a) is PayoutState.EXECUTED
    with pytest.raises(PayoutBatchUnknown):
        mark_batch_executed(ctx, "PAYEZ-NO-SUCH-BATCH")
    assert_ledger_sound(ctx)


def test_reject_returns_the_money_once(ctx: ServiceContext, out_dir: Path) -> None:
    alice = open_funded_user(ctx, "alice", 10_000)
    kept = request(ctx, "alice", 2_000)
    refused = request(ctx, "alice", 3_000)
    batch = export_payouts(ctx, out_dir / "b.xml").batch_id
    assert batch is not None

    first = reject_payout(ctx, refused, "  AC04 closed   account ")
    assert first.changed and first.state is PayoutState.REJECTED
    balance = wallet(ctx, alice)
    assert (balance.posted.cents, balance.pending_out.cents) == (10_000, 2_000)
    with ctx.engine.connect() as conn:
        row = get_payout(conn, refused)
        voided = SqlLedger(conn).transfers([rejected_key(refused)])[rejected_key(refused)]
    assert row is not None and row.reject_reason == "AC04 closed account"
    assert voided.transfer.mode is TransferMode.VOID_PENDING
    snapshot = (wallet(ctx, alice), payouts_account(ctx), counts(ctx))
    assert_ledger_sound(ctx)

    second = reject_payout(ctx, refused, "again")
    assert not second.changed
    assert (wallet(ctx, alice), payouts_account(ctx), counts(ctx)) == snapshot

    # The rest of the batch is still paid, and the rejected payout stays rejected.
    done = mark_batch_executed(ctx, batch)
    assert (done.executed, done.rejected) == ((kept,), (refused,))
    balance = wallet(ctx, alice)
    assert (balance.posted.cents, balance.pending_out.cents) == (8_000, 0)
    assert state_of(ctx, refused) is PayoutState.REJECTED
    assert_ledger_sound(ctx)


def test_a_requested_payout_can_be_rejected_before_export(
    ctx: ServiceContext, out_dir: Path
) -> None:
    alice = open_funded_user(ctx, "alice", 10_000)
    payout_id = request(ctx, "alice", 4_000)
    assert reject_payout(ctx, payout_id, "operator cancelled").changed
    assert wallet(ctx, alice).available.cents == 10_000
    assert export_payouts(ctx, out_dir / "none.xml").batch_id is None
    assert not (out_dir / "none.xml").exists()
    with pytest.raises(PayoutReasonMissing):
        reject_payout(ctx, payout_id, "   ")
    with pytest.raises(PayoutUnknown):
        reject_payout(ctx, payout_id + 1000, "no such payout")
    assert_ledger_sound(ctx)
