"""``payez reconcile``: the sandbox processor against our charge rows, the ledger and payouts.

Each kind of difference is made by writing rows directly (or by going around our own code),
then must be reported with the right reference, and nothing else may be reported.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection
from typer.testing import CliRunner, Result

from payez.adapters.db import users as users_repo
from payez.adapters.db.ledger import SqlLedger
from payez.adapters.db.tables.card_charges import card_charges
from payez.adapters.db.tables.payouts import payouts
from payez.domain.ledger import LedgerError, Transfer
from payez.domain.money import Money
from payez.entrypoints.cli import app
from payez.ports.cards import Charge
from payez.ports.clock import ManualClock
from payez.sandbox.cards import SandboxCardProcessor
from payez.service import reconcile as rc
from payez.service.card_charges import ChargeTransition, charge_once
from payez.service.export_payouts import export_payouts
from payez.service.load_wallet import load_wallet
from payez.service.request_payout import request_payout
from payez.service.settle_payouts import mark_batch_executed, reject_payout
from tests.integration.test_payouts import (
    IBAN_FR,
    assert_ledger_sound,
    make_context,
    open_funded_user,
)


class World:
    """One verified user with a saved card, on a fresh database, with the sandbox processor."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.ctx = make_context(database_url)
        self.processor = SandboxCardProcessor(self.ctx.engine)
        self.user_id = open_funded_user(self.ctx, "alice", 0)
        self.customer = self.processor.create_customer(
            reference="alice", email=None, idempotency_key="customer:alice"
        )
        self.processor.attach_card(customer_id=self.customer, card_token="4242424242424242")

    def _credit(self, conn: Connection, change: ChargeTransition) -> None:
        if change.record.status == "succeeded":
            load_wallet(
                conn, self.user_id, change.record.amount, rc.card_credit_key(change.record.id)
            )

    def fund(self, cents: int, *, credit: bool = True) -> Charge:
        """A card charge the way the application makes one (credited unless told otherwise)."""
        return charge_once(
            self.ctx.engine,
            self.processor,
            key=f"fund:{uuid.uuid4().hex}",
            customer_id=self.customer,
            amount=Money.eur(cents),
            description="top-up",
            on_change=self._credit if credit else None,
        )

    def row_id(self, charge: Charge) -> int:
        with self.ctx.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(card_charges.c.id).where(
                        card_charges.c.processor_charge_id == charge.id
                    )
                ).scalar_one()
            )

    def return_to_card(self, key: str, cents: int) -> None:
        """The ledger side of a refund: money leaves the wallet back through card funding."""
        with self.ctx.engine.begin() as conn:
            user = users_repo.get_user(conn, self.user_id)
            assert user is not None
            ledger = SqlLedger(conn)
            funding = ledger.account_id("card_funding")
            (result,) = ledger.apply(
                [Transfer(key, user.wallet_account_id, funding, Money.eur(cents))]
            )
            assert not isinstance(result, LedgerError), result

    def refund(self, charge: Charge, cents: int, *, ledger_cents: int | None = None) -> str:
        refund = self.processor.refund(
            charge_id=charge.id, amount=Money.eur(cents), idempotency_key=uuid.uuid4().hex
        )
        if ledger_cents is not None:
            self.return_to_card(rc.card_refund_key(refund.id), ledger_cents)
        return refund.id

    def payout(self, cents: int) -> int:
        return request_payout(
            self.ctx, handle="alice", amount=Money.eur(cents), iban=IBAN_FR, creditor_name="Alice"
        ).payout_id

    def reconcile(self) -> rc.ReconcileReport:
        return rc.reconcile(self.ctx, self.processor)

    def cli(self, *args: str) -> Result:
        unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("PAYEZ_")}
        return CliRunner(env=unset).invoke(app, ["reconcile", "--database-url", self.url, *args])


@pytest.fixture
def world(database_url: str) -> World:
    return World(database_url)


def _kinds(report: rc.ReconcileReport) -> list[tuple[str, str]]:
    return sorted((d.kind, d.reference) for d in report.differences)


def test_a_consistent_world_reconciles_clean(world: World, tmp_path: Path) -> None:
    first = world.fund(5_000)
    world.fund(1_234)
    world.refund(first, 500, ledger_cents=500)
    world.payout(1_000)
    batch = export_payouts(world.ctx, tmp_path / "batch.xml").batch_id
    assert batch is not None
    mark_batch_executed(world.ctx, batch)
    returned = world.payout(700)
    export_payouts(world.ctx, tmp_path / "batch2.xml")
    reject_payout(world.ctx, returned, "AC04")
    world.payout(300)  # still requested: held

    report = world.reconcile()
    assert report.ok, [d.line() for d in report.differences]
    assert (report.processor_charges, report.our_charges, report.ledger_credits) == (2, 2, 2)
    assert (report.processor_refunds, report.ledger_returns, report.payouts) == (1, 1, 3)
    assert_ledger_sound(world.ctx)

    result = world.cli("--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["differences"] == []
    text = world.cli()
    assert text.exit_code == 0
    assert "clean" in text.stdout


def test_every_kind_of_difference_is_reported(world: World) -> None:
    good = world.fund(5_000)
    expected: list[tuple[str, str]] = []

    # A charge at the processor that we never recorded.
    stray = world.processor.charge(
        customer_id=world.customer, amount=Money.eur(700), idempotency_key="stray", description="x"
    )
    expected.append((rc.CHARGE_UNKNOWN, stray.id))

    now = datetime.now(UTC)
    with world.ctx.engine.begin() as conn:
        # Ours, but the processor never heard of it.
        conn.execute(
            card_charges.insert().values(
                idempotency_key="ghost", processor="sandbox", customer_id=world.customer,
                amount_cents=900, currency="EUR", status="succeeded",
                processor_charge_id="pi_sbx_ghost", attempts=1, created_at=now, updated_at=now,
            )
        )  # fmt: skip
        # Started and never reached the processor: consistent, not a difference.
        conn.execute(
            card_charges.insert().values(
                idempotency_key="in-flight", processor="sandbox", customer_id=world.customer,
                amount_cents=300, currency="EUR", status="pending", attempts=1,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
    expected.append((rc.CHARGE_MISSING, "pi_sbx_ghost"))

    # Amount and status differ between our row and the processor.
    resized = world.fund(1_000)
    wrong_status = world.fund(1_200)
    with world.ctx.engine.begin() as conn:
        conn.execute(
            card_charges.update()
            .where(card_charges.c.processor_charge_id == resized.id)
            .values(amount_cents=1_100)
        )
        conn.execute(
            card_charges.update()
            .where(card_charges.c.processor_charge_id == wrong_status.id)
            .values(status="failed")
        )
    expected += [(rc.CHARGE_AMOUNT, resized.id), (rc.CHARGE_STATUS, wrong_status.id)]

    # Succeeded at the processor, never credited.
    uncredited = world.fund(1_300, credit=False)
    expected.append((rc.CHARGE_NOT_CREDITED, uncredited.id))

    # Credited for another amount than the charge.
    short = world.fund(1_500, credit=False)
    short_key = rc.card_credit_key(world.row_id(short))
    with world.ctx.engine.begin() as conn:
        load_wallet(conn, world.user_id, Money.eur(1_400), short_key)
    expected.append((rc.CREDIT_AMOUNT, short_key))

    # Money from card funding with no charge behind it.
    with world.ctx.engine.begin() as conn:
        load_wallet(conn, world.user_id, Money.eur(400), "gift:1")
    expected.append((rc.CREDIT_WITHOUT_CHARGE, "gift:1"))

    # Refunds: missing in the ledger, missing at the processor, different amounts.
    unbooked = world.refund(good, 200)
    expected.append((rc.REFUND_NOT_IN_LEDGER, unbooked))
    world.return_to_card(rc.card_refund_key("re_sbx_ghost"), 300)
    expected.append((rc.REFUND_MISSING, rc.card_refund_key("re_sbx_ghost")))
    misbooked = world.refund(good, 250, ledger_cents=260)
    expected.append((rc.REFUND_AMOUNT, rc.card_refund_key(misbooked)))

    # A payout marked rejected behind the ledger's back: its money is still held.
    payout_id = world.payout(600)
    with world.ctx.engine.begin() as conn:
        conn.execute(payouts.update().where(payouts.c.id == payout_id).values(state="rejected"))
    expected.append((rc.PAYOUT_LEDGER, str(payout_id)))

    report = world.reconcile()
    assert _kinds(report) == sorted(expected)
    by_kind = {d.kind: d for d in report.differences}
    assert (by_kind[rc.CHARGE_AMOUNT].ours, by_kind[rc.CHARGE_AMOUNT].processor) == (
        Money.eur(1_100),
        Money.eur(1_000),
    )
    assert by_kind[rc.REFUND_AMOUNT].ours == Money.eur(260)
    assert by_kind[rc.CREDIT_WITHOUT_CHARGE].ours == Money.eur(400)
    assert_ledger_sound(world.ctx)  # every difference here is outside the ledger's own rules

    result = world.cli("--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert sorted((d["kind"], d["reference"]) for d in data["differences"]) == sorted(expected)
    text = world.cli()
    assert text.exit_code == 1
    assert f"{len(expected)} difference(s)" in text.stdout
    for kind, reference in expected:
        assert f"{kind} {reference}:" in text.stdout


def test_charges_newer_than_our_snapshot_wait_for_the_next_run(world: World) -> None:
    world.fund(2_000)
    # Our snapshot as of an hour ago: the processor's charge (and its credit) are newer.
    world.ctx.clock = ManualClock(datetime.now(UTC) - timedelta(hours=1))
    report = world.reconcile()
    assert report.ok, [d.line() for d in report.differences]
    assert (report.deferred, report.processor_charges) == (1, 0)
