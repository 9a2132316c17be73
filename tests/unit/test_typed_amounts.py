"""Euros typed into a form: read exactly into cents, anything else refused."""

from __future__ import annotations

import pytest

from payez.domain.typed_amounts import TypedAmountUnreadable, parse_typed_euros


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("12", 1200),
        ("12,5", 1250),
        ("12.50 €", 1250),
        ("1 200,00", 120000),
        ("1\u202f200 euros", 120000),
        (" 9,90 EUR ", 990),
    ],
)
def test_typed_euros_are_read_into_cents(typed: str, cents: int) -> None:
    assert parse_typed_euros(typed) == cents


@pytest.mark.parametrize(
    "typed",
    [
        "٣",  # an Arabic-Indic three
        "３",  # a full-width three
        "1٢,50",
        "12,５0",
        "12,505",
        "-12",
        "douze",
        "",
    ],
)
def test_anything_but_ascii_euros_is_refused(typed: str) -> None:
    with pytest.raises(TypedAmountUnreadable):
        parse_typed_euros(typed)
