"""The payout rail port: turn payout instructions into a file the bank executes.

The SEPA implementation (``payez.adapters.payouts.sepa``) writes a pain.001.001.03 credit
transfer file. Amounts are integer cents in euros; every instruction's id becomes the
transfer's end-to-end id, which the bank's statement echoes back for matching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from payez.domain.errors import InvalidInput, PayezError
from payez.domain.money import Money


class PayoutInvalid(InvalidInput):
    code = "payout_invalid"
    message_fr = "Virement invalide : aucun fichier n'a été produit."
    message_en = "Invalid payout: no file was produced."


class PayoutFileInvalid(PayezError):
    """The file we built does not check out; a bug on our side, never sent to the bank."""

    code = "payout_file_invalid"
    message_fr = "Le fichier de virements produit est invalide : il n'a pas été enregistré."
    message_en = "The payout file produced is invalid: it was not saved."


@dataclass(frozen=True, slots=True)
class PayoutInstruction:
    payout_id: str  # becomes the EndToEndId: at most 35 characters
    amount: Money
    creditor_name: str
    iban: str
    remittance: str = ""
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class DebtorAccount:
    """Our own account the transfers leave from."""

    name: str
    iban: str
    bic: str | None = None


class PayoutRail(Protocol):
    def export(
        self,
        payouts: Sequence[PayoutInstruction],
        *,
        debtor: DebtorAccount,
        execution_date: date,
        message_id: str,
    ) -> bytes:
        """The whole file, validated; raises :class:`PayoutInvalid` and writes nothing."""
        ...
