"""Remittance text and names reduced to the SEPA character set."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payez.adapters.payouts.sepa import cents_to_decimal, decimal_to_cents, sepa_text
from payez.ports.payouts import PayoutFileInvalid

SEPA_SET = re.compile(r"[a-zA-Z0-9/\-?:().,'+ ]*")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Merci pour le café", "Merci pour le cafe"),
        ("Zoë Æneas Øst", "Zoe AEneas Ost"),
        ("Straße 12", "Strasse 12"),
        ("Œuvre de l’année – 10 €", "OEuvre de l'annee - 10 EUR"),
        ("a & b @ c_d #tag", "a b c d tag"),
        ("  many   spaces\tand\nnewlines  ", "many spaces and newlines"),
        ("emoji 🎉 party", "emoji party"),
        ("ok/-?:().,'+", "ok/-?:().,'+"),
        ("", ""),
    ],
)
def test_examples(raw: str, clean: str) -> None:
    assert sepa_text(raw) == clean


def test_cut_to_140_characters() -> None:
    assert len(sepa_text("é" * 500)) == 140
    assert sepa_text("word " * 40).endswith("word")


@settings(max_examples=200)
@given(st.text(), st.integers(min_value=1, max_value=200))
def test_output_is_always_in_the_sepa_set_and_short_enough(text: str, limit: int) -> None:
    cleaned = sepa_text(text, limit)
    assert SEPA_SET.fullmatch(cleaned)
    assert len(cleaned) <= limit
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=10**15))
def test_decimal_round_trip(cents: int) -> None:
    text = cents_to_decimal(cents)
    assert re.fullmatch(r"\d+\.\d\d", text)
    assert decimal_to_cents(text) == cents


@pytest.mark.parametrize("bad", ["1.234", "-1.00", "1e3", "", "1,00"])
def test_decimal_refuses_anything_else(bad: str) -> None:
    with pytest.raises(PayoutFileInvalid):
        decimal_to_cents(bad)
