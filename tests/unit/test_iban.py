"""IBAN and BIC checks (schwifty): normalised when good, a stable error code when bad."""

from __future__ import annotations

import pytest

from payez.adapters.payouts.iban import (
    BicInvalid,
    IbanInvalid,
    IbanOutsideSepa,
    format_iban,
    normalize_bic,
    normalize_iban,
)


@pytest.mark.parametrize(
    ("typed", "compact"),
    [
        ("FR1420041010050500013M02606", "FR1420041010050500013M02606"),
        ("fr14 2004 1010 0505 0001 3m02 606", "FR1420041010050500013M02606"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("NL91ABNA0417164300", "NL91ABNA0417164300"),
        ("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
    ],
)
def test_good_ibans_are_normalised(typed: str, compact: str) -> None:
    assert normalize_iban(typed) == compact


def test_format_groups_by_four() -> None:
    assert format_iban("FR1420041010050500013M02606") == "FR14 2004 1010 0505 0001 3M02 606"


@pytest.mark.parametrize(
    "bad",
    [
        "FR1420041010050500013M02607",  # check digits do not match
        "FR142004101005050001",  # too short for France
        "XX1420041010050500013M02606",  # no such country
        "FR14 2004 1010 0505 0001 3M02 60!",
        "",
        "not an iban",
    ],
)
def test_bad_ibans_raise_iban_invalid(bad: str) -> None:
    with pytest.raises(IbanInvalid) as refused:
        normalize_iban(bad)
    assert refused.value.code == "iban_invalid"
    assert "IBAN" in refused.value.message("fr") and "IBAN" in refused.value.message("en")


def test_iban_outside_sepa_is_refused_with_its_own_code() -> None:
    with pytest.raises(IbanOutsideSepa) as refused:
        normalize_iban("BR1800360305000010009795493C1")
    assert refused.value.code == "iban_outside_sepa"
    assert isinstance(refused.value, IbanInvalid)


def test_bic() -> None:
    assert normalize_bic("cobadeffxxx") == "COBADEFFXXX"
    with pytest.raises(BicInvalid):
        normalize_bic("COBA")
