"""``payez payouts request|export|executed|reject`` through the command line, on both databases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from payez.adapters.db.payouts import PayoutState
from payez.adapters.payouts.sepa import validate_against_xsd
from payez.entrypoints.cli import app
from payez.service.context import ServiceContext
from tests.integration.test_payouts import (
    IBAN_FR,
    assert_ledger_sound,
    counts,
    make_context,
    open_funded_user,
    state_of,
    wallet,
)


def payez(database_url: str, *args: str) -> Result:
    # No PAYEZ_* variable of the machine leaks into the command.
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("PAYEZ_")}
    return CliRunner(env=unset).invoke(app, [*args, "--database-url", database_url])


@pytest.fixture
def ctx(database_url: str) -> ServiceContext:
    return make_context(database_url)


def test_request_prints_the_id_and_holds(ctx: ServiceContext, database_url: str) -> None:
    alice = open_funded_user(ctx, "alice", 10_000)
    result = payez(
        database_url, "payouts", "request", "@alice", "--amount-cents", "2500",
        "--iban", IBAN_FR, "--name", "Alice Durand",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payout_id = int(result.stdout.strip())
    assert state_of(ctx, payout_id) is PayoutState.REQUESTED
    assert wallet(ctx, alice).pending_out.cents == 2_500

    as_json = payez(
        database_url, "payouts", "request", "alice", "--amount-cents", "500",
        "--iban", "DE89370400440532013000", "--name", "Alice", "--json",
    )  # fmt: skip
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["payout_id"] == payout_id + 1
    assert (data["amount_cents"], data["currency"], data["state"]) == (500, "EUR", "requested")
    assert data["iban"] == "DE89370400440532013000"
    assert wallet(ctx, alice).pending_out.cents == 3_000
    assert_ledger_sound(ctx)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--amount-cents", "1000", "--iban", "FR00 1234", "--name", "A"], "iban_invalid"),
        (
            ["--amount-cents", "10001", "--iban", IBAN_FR, "--name", "A"],
            "payout_insufficient_funds",
        ),
        (["--amount-cents", "0", "--iban", IBAN_FR, "--name", "A"], "payout_amount_invalid"),
    ],
)
def test_request_refused_exits_2_and_holds_nothing(
    ctx: ServiceContext, database_url: str, args: list[str], code: str
) -> None:
    alice = open_funded_user(ctx, "alice", 10_000)
    before = counts(ctx)
    result = payez(database_url, "payouts", "request", "alice", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{code}: ")
    assert counts(ctx) == before
    balance = wallet(ctx, alice)
    assert (balance.posted.cents, balance.pending_out.cents) == (10_000, 0)


def test_unknown_handle_exits_2(ctx: ServiceContext, database_url: str) -> None:
    result = payez(
        database_url, "payouts", "request", "ghost", "--amount-cents", "100",
        "--iban", IBAN_FR, "--name", "G",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith("user_unknown: ")
    assert counts(ctx)[0] == 0


def test_export_executed_reject_round_trip(
    ctx: ServiceContext, database_url: str, tmp_path: Path
) -> None:
    alice = open_funded_user(ctx, "alice", 10_000)
    ids = []
    for cents in ("1000", "2000"):
        result = payez(
            database_url, "payouts", "request", "alice", "--amount-cents", cents,
            "--iban", IBAN_FR, "--name", "Alice",
        )  # fmt: skip
        ids.append(int(result.stdout))
    out = tmp_path / "batch.xml"

    exported = payez(database_url, "payouts", "export", "--out", str(out), "--json")
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.stdout)
    assert (data["payout_ids"], data["count"], data["total_cents"]) == (ids, 2, 3_000)
    validate_against_xsd(out.read_bytes())
    batch_id = data["batch_id"]

    nothing = payez(database_url, "payouts", "export", "--out", str(tmp_path / "again.xml"))
    assert nothing.exit_code == 0
    assert "nothing to export" in nothing.stdout
    assert not (tmp_path / "again.xml").exists()

    exists = payez(database_url, "payouts", "export", "--out", str(out))
    assert exists.exit_code == 0  # nothing waiting: the existing file is not even looked at
    assert "nothing to export" in exists.stdout

    rejected = payez(database_url, "payouts", "reject", str(ids[1]), "--reason", "AC04")
    assert rejected.exit_code == 0, rejected.output
    assert "rejected" in rejected.stdout
    twice = payez(database_url, "payouts", "reject", str(ids[1]), "--reason", "AC04", "--json")
    assert twice.exit_code == 0
    assert json.loads(twice.stdout) == {"payout_id": ids[1], "changed": False, "state": "rejected"}
    assert wallet(ctx, alice).pending_out.cents == 1_000

    executed = payez(database_url, "payouts", "executed", batch_id, "--json")
    assert executed.exit_code == 0, executed.output
    assert json.loads(executed.stdout) == {
        "batch_id": batch_id,
        "executed": [ids[0]],
        "already_executed": [],
        "rejected": [ids[1]],
    }
    again = payez(database_url, "payouts", "executed", batch_id)
    assert again.exit_code == 0
    assert "0 payout(s) executed now, 1 already executed" in again.stdout
    balance = wallet(ctx, alice)
    assert (balance.posted.cents, balance.pending_out.cents) == (9_000, 0)

    too_late = payez(database_url, "payouts", "reject", str(ids[0]), "--reason", "late")
    assert too_late.exit_code == 2
    assert too_late.stderr.startswith("payout_already_executed: ")
    unknown_batch = payez(database_url, "payouts", "executed", "NOPE")
    assert unknown_batch.exit_code == 2
    assert unknown_batch.stderr.startswith("payout_batch_unknown: ")
    unknown_payout = payez(database_url, "payouts", "reject", "999999", "--reason", "x")
    assert unknown_payout.exit_code == 2
    assert unknown_payout.stderr.startswith("payout_unknown: ")
    assert_ledger_sound(ctx)


def test_export_into_a_missing_directory_exits_2_and_marks_nothing(
    ctx: ServiceContext, database_url: str, tmp_path: Path
) -> None:
    open_funded_user(ctx, "alice", 10_000)
    result = payez(
        database_url, "payouts", "request", "alice", "--amount-cents", "700",
        "--iban", IBAN_FR, "--name", "Alice",
    )  # fmt: skip
    payout_id = int(result.stdout)
    failed = payez(database_url, "payouts", "export", "--out", str(tmp_path / "no" / "f.xml"))
    assert failed.exit_code == 2
    assert failed.stderr.startswith("payout_file_not_written: ")
    assert state_of(ctx, payout_id) is PayoutState.REQUESTED
