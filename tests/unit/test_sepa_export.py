"""pain.001.001.03 files: valid against the XSD, totals equal to the inputs, bad input refused."""

from __future__ import annotations

from datetime import date, datetime
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payez.adapters.payouts.iban import IbanInvalid
from payez.adapters.payouts.sepa import (
    NAMESPACE,
    SepaPayoutRail,
    check_totals,
    validate_against_xsd,
)
from payez.domain.errors import PayezError
from payez.domain.money import Money
from payez.ports.payouts import DebtorAccount, PayoutFileInvalid, PayoutInstruction, PayoutInvalid

DEBTOR = DebtorAccount("Payez SAS", "FR76 3000 6000 0112 3456 7890 189", "AGRIFRPPXXX")
IBANS = ["FR1420041010050500013M02606", "DE89370400440532013000", "NL91ABNA0417164300"]
NS = {"p": NAMESPACE}


def _rail() -> SepaPayoutRail:
    return SepaPayoutRail(now=lambda: datetime(2026, 1, 2, 9, 30))


def _export(payouts: list[PayoutInstruction], message_id: str = "PAYEZ-20260102-1") -> bytes:
    return _rail().export(
        payouts, debtor=DEBTOR, execution_date=date(2026, 1, 5), message_id=message_id
    )


def _payout(n: int, cents: int, **changes: object) -> PayoutInstruction:
    fields: dict[str, object] = {
        "payout_id": f"PO-{n}",
        "amount": Money.eur(cents),
        "creditor_name": f"Créancier n°{n}",
        "iban": IBANS[n % len(IBANS)],
        "remittance": f"Payez — retrait n°{n} ✓",
    }
    fields.update(changes)
    return PayoutInstruction(**fields)  # type: ignore[arg-type]


def test_file_validates_and_says_what_the_inputs_say() -> None:
    payouts = [_payout(1, 1050), _payout(2, 5), _payout(3, 123_456, bic="COBADEFFXXX")]
    document = _export(payouts)
    validate_against_xsd(document)  # raises if not valid
    root = ElementTree.fromstring(document)
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS) == (
        "PAYEZ-20260102-1"
    )
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "3"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "1245.11"
    assert root.findtext(".//p:ReqdExctnDt", namespaces=NS) == "2026-01-05"
    transfers = root.findall(".//p:CdtTrfTxInf", NS)
    assert [t.findtext("p:PmtId/p:EndToEndId", namespaces=NS) for t in transfers] == [
        "PO-1",
        "PO-2",
        "PO-3",
    ]
    assert [t.findtext("p:Amt/p:InstdAmt", namespaces=NS) for t in transfers] == [
        "10.50",
        "0.05",
        "1234.56",
    ]
    assert transfers[0].findtext("p:Cdtr/p:Nm", namespaces=NS) == "Creancier n 1"
    assert transfers[0].findtext("p:RmtInf/p:Ustrd", namespaces=NS) == "Payez - retrait n 1"
    assert transfers[2].findtext("p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=NS) == "COBADEFFXXX"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=20))
def test_header_totals_equal_the_inputs(amounts: list[int]) -> None:
    payouts = [_payout(i, cents) for i, cents in enumerate(amounts)]
    root = ElementTree.fromstring(_export(payouts))
    count = root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS)
    control = root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) or ""
    units, cents = control.split(".")
    assert count == str(len(amounts))
    assert int(units) * 100 + int(cents) == sum(amounts)


@pytest.mark.parametrize(
    ("payouts", "error", "code"),
    [
        ([_payout(1, -500)], PayoutInvalid, "payout_invalid"),
        ([_payout(1, 0)], PayoutInvalid, "payout_invalid"),
        ([_payout(1, 100, amount=Money(100, "USD"))], PayoutInvalid, "payout_invalid"),
        ([_payout(1, 100, iban="FR1420041010050500013M02607")], IbanInvalid, "iban_invalid"),
        ([_payout(1, 100), _payout(2, 100, iban="nope")], IbanInvalid, "iban_invalid"),
        ([_payout(1, 100), _payout(1, 200)], PayoutInvalid, "payout_invalid"),
        ([_payout(1, 100, payout_id="x" * 36)], PayoutInvalid, "payout_invalid"),
        ([_payout(1, 100, payout_id="has space")], PayoutInvalid, "payout_invalid"),
        ([_payout(1, 100, creditor_name="🎉")], PayoutInvalid, "payout_invalid"),
        ([], PayoutInvalid, "payout_invalid"),
    ],
)
def test_bad_input_raises_a_clear_error_and_builds_nothing(
    payouts: list[PayoutInstruction], error: type[PayezError], code: str
) -> None:
    with pytest.raises(error) as refused:
        _export(payouts)
    assert refused.value.code == code


def test_bad_debtor_or_message_id_is_refused() -> None:
    with pytest.raises(IbanInvalid):
        _rail().export(
            [_payout(1, 100)],
            debtor=DebtorAccount("Payez", "FR00"),
            execution_date=date(2026, 1, 5),
            message_id="M1",
        )
    with pytest.raises(PayoutInvalid):
        _export([_payout(1, 100)], message_id="")


def test_xsd_check_refuses_a_broken_file() -> None:
    document = _export([_payout(1, 100)]).replace(b"<NbOfTxs>1</NbOfTxs>", b"<NbOfTxs>x</NbOfTxs>")
    with pytest.raises(PayoutFileInvalid):
        validate_against_xsd(document)


def test_totals_check_catches_a_file_that_disagrees_with_its_inputs() -> None:
    payouts = [_payout(1, 100), _payout(2, 250)]
    document = _export(payouts)
    check_totals(document, payouts)  # agrees
    with pytest.raises(PayoutFileInvalid):
        check_totals(document, [_payout(1, 100), _payout(2, 251)])
    with pytest.raises(PayoutFileInvalid):
        check_totals(document, [*payouts, _payout(3, 1)])
