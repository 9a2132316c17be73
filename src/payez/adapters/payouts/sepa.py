"""SEPA credit transfer files (pain.001.001.03) built with sepaxml and checked before use.

Every file is checked three ways before anyone may save it: against the pain.001.001.03 XSD
(the copy sepaxml ships), its header's transaction count and control sum against the inputs,
and each transfer's end-to-end id and amount against its instruction. Bad input raises
:class:`~payez.ports.payouts.PayoutInvalid` (or an IBAN/BIC error) before any XML is built.

Text fields are reduced to the SEPA character set (EPC guidelines):
``a-z A-Z 0-9 / - ? : ( ) . , ' +`` and space. Accents are transliterated (``é`` → ``e``,
``ß`` → ``ss``), other characters become spaces, runs of spaces collapse.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import sepaxml
import xmlschema

from payez.adapters.payouts.iban import normalize_bic, normalize_iban
from payez.domain.money import Money
from payez.ports.payouts import DebtorAccount, PayoutFileInvalid, PayoutInstruction, PayoutInvalid

SCHEMA = "pain.001.001.03"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
MAX_REMITTANCE = 140
MAX_NAME = 70
MAX_ID = 35
# The largest amount pain.001.001.03 allows in one transfer (18 digits, 2 decimals is the
# XSD's limit; the EPC rulebook caps a SEPA credit transfer at 999 999 999,99 EUR).
MAX_AMOUNT_CENTS = 99_999_999_999

_ALLOWED = re.compile(r"[^a-zA-Z0-9/\-?:().,'+ ]")
_ID_ALLOWED = re.compile(r"[A-Za-z0-9/\-?:().,'+]{1,35}")
# Letters NFKD does not decompose into a base letter and accents.
_SPECIAL = str.maketrans(
    {
        "ß": "ss",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Ø": "O",
        "ø": "o",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Þ": "Th",
        "þ": "th",
        "€": "EUR",
        "’": "'",
        "‘": "'",
        "«": "(",
        "»": ")",
        "–": "-",
        "—": "-",
    }
)


def sepa_text(text: str, max_length: int = MAX_REMITTANCE) -> str:
    """``text`` in the SEPA character set, transliterated, at most ``max_length`` long."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = re.sub(r"\s+", " ", _ALLOWED.sub(" ", ascii_only)).strip()
    return cleaned[:max_length].rstrip()


def cents_to_decimal(cents: int) -> str:
    """``1234`` → ``"12.34"``: exact, by digits, never through a float."""
    units, rest = divmod(cents, 100)
    return f"{units}.{rest:02d}"


def decimal_to_cents(text: str) -> int:
    """``"12.34"`` → ``1234``; refuses anything that is not plain digits with two decimals."""
    match = re.fullmatch(r"(\d+)(?:\.(\d{1,2}))?", text.strip())
    if not match:
        raise PayoutFileInvalid(f"amount {text!r}")
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


@cache
def _schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(Path(sepaxml.__file__).parent / "schemas" / f"{SCHEMA}.xsd"))


def validate_against_xsd(document: bytes) -> None:
    errors = list(_schema().iter_errors(document.decode("utf-8")))
    if errors:
        raise PayoutFileInvalid("; ".join(str(e.reason or e) for e in errors[:3]))


def _checked_id(value: str, what: str) -> str:
    if not _ID_ALLOWED.fullmatch(value):
        raise PayoutInvalid(f"{what} {value!r}: 1 to {MAX_ID} characters from the SEPA set")
    return value


def _checked_amount(payout: PayoutInstruction) -> Money:
    amount = payout.amount
    if amount.currency != "EUR":
        raise PayoutInvalid(f"payout {payout.payout_id}: SEPA transfers are in EUR")
    if not 0 < amount.cents <= MAX_AMOUNT_CENTS:
        raise PayoutInvalid(f"payout {payout.payout_id}: amount {amount.cents} cents")
    return amount


def _name(value: str, what: str) -> str:
    cleaned = sepa_text(value, MAX_NAME)
    if not cleaned:
        raise PayoutInvalid(f"{what}: a name is required")
    return cleaned


class SepaPayoutRail:
    """A :class:`payez.ports.payouts.PayoutRail` writing pain.001.001.03 files."""

    def __init__(self, *, now: Any = None) -> None:
        # ``now`` (a callable returning a datetime) fixes the file's creation time in tests.
        self._now = now or datetime.now

    def export(
        self,
        payouts: Sequence[PayoutInstruction],
        *,
        debtor: DebtorAccount,
        execution_date: date,
        message_id: str,
    ) -> bytes:
        if not payouts:
            raise PayoutInvalid("no payouts to export")
        _checked_id(message_id, "message id")
        config: dict[str, Any] = {
            "name": _name(debtor.name, "debtor"),
            "IBAN": normalize_iban(debtor.iban),
            "currency": "EUR",
            "batch": True,
        }
        if debtor.bic:
            config["BIC"] = normalize_bic(debtor.bic)
        entries: list[dict[str, Any]] = []
        seen: set[str] = set()
        for payout in payouts:
            payout_id = _checked_id(payout.payout_id, "payout id")
            if payout_id in seen:
                raise PayoutInvalid(f"payout {payout_id} appears twice")
            seen.add(payout_id)
            entry: dict[str, Any] = {
                "name": _name(payout.creditor_name, f"payout {payout_id}"),
                "IBAN": normalize_iban(payout.iban),
                "amount": _checked_amount(payout).cents,
                "execution_date": execution_date,
                "description": sepa_text(payout.remittance) or payout_id,
                "endtoend_id": payout_id,
            }
            if payout.bic:
                entry["BIC"] = normalize_bic(payout.bic)
            entries.append(entry)

        # Everything is checked: only now is the XML built.
        transfer = sepaxml.SepaTransfer(config, schema=SCHEMA, clean=False)
        for entry in entries:
            transfer.add_payment(entry)
        # sepaxml draws its own random message id and reads the wall clock; the message id is
        # ours (the bank refuses a second file with the same one), so the header is rewritten.
        header = transfer._xml.find("CstmrCdtTrfInitn/GrpHdr")
        header.find("MsgId").text = message_id
        header.find("CreDtTm").text = self._now().strftime("%Y-%m-%dT%H:%M:%S")
        document: bytes = transfer.export(validate=False)
        validate_against_xsd(document)
        check_totals(document, payouts)
        return document


def _find_all(root: ElementTree.Element, path: str) -> list[ElementTree.Element]:
    ns = {"p": NAMESPACE}
    return root.findall(path, ns)


def check_totals(document: bytes, payouts: Sequence[PayoutInstruction]) -> None:
    """The header and each transfer say exactly what the instructions say."""
    root = ElementTree.fromstring(document)
    (header,) = _find_all(root, "p:CstmrCdtTrfInitn/p:GrpHdr")
    count = int(header.findtext(f"{{{NAMESPACE}}}NbOfTxs") or "-1")
    control = decimal_to_cents(header.findtext(f"{{{NAMESPACE}}}CtrlSum") or "")
    expected_total = sum(p.amount.cents for p in payouts)
    if count != len(payouts) or control != expected_total:
        raise PayoutFileInvalid(
            f"header says {count} transfers / {control} cents, "
            f"inputs are {len(payouts)} / {expected_total}"
        )
    found: dict[str, int] = {}
    for tx in _find_all(root, ".//p:CdtTrfTxInf"):
        end_to_end = tx.findtext(f"{{{NAMESPACE}}}PmtId/{{{NAMESPACE}}}EndToEndId") or ""
        amount = tx.findtext(f"{{{NAMESPACE}}}Amt/{{{NAMESPACE}}}InstdAmt") or ""
        found[end_to_end] = decimal_to_cents(amount)
    if found != {p.payout_id: p.amount.cents for p in payouts}:
        raise PayoutFileInvalid("transfers do not match the instructions")
