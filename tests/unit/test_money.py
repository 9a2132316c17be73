from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payez.domain.money import AmountNotInteger, CurrencyInvalid, CurrencyMismatch, Money


def test_money_is_integer_cents_and_refuses_floats() -> None:
    with pytest.raises(AmountNotInteger):
        Money(12.5)  # type: ignore[arg-type]
    with pytest.raises(AmountNotInteger):
        Money(True)
    with pytest.raises(CurrencyInvalid):
        Money(100, "eur")


def test_money_is_frozen() -> None:
    money = Money.eur(100)
    with pytest.raises(AttributeError):
        money.cents = 5  # type: ignore[misc]


def test_money_arithmetic_keeps_currency_and_refuses_mixing() -> None:
    assert Money.eur(150) + Money.eur(50) == Money.eur(200)
    assert Money.eur(150) - Money.eur(200) == Money.eur(-50)
    with pytest.raises(CurrencyMismatch):
        Money.eur(1) + Money(1, "USD")
    with pytest.raises(AmountNotInteger):
        Money.eur(1) + 0.5  # type: ignore[operator]


@pytest.mark.parametrize(
    ("cents", "fr", "en"),
    [
        (1250, "12,50\u00a0€", "€12.50"),
        (5, "0,05\u00a0€", "€0.05"),
        (-300, "-3,00\u00a0€", "-€3.00"),
        (123456789, "1\u202f234\u202f567,89\u00a0€", "€1,234,567.89"),
    ],
)
def test_money_formats_for_french_and_english(cents: int, fr: str, en: str) -> None:
    assert Money.eur(cents).format("fr") == fr
    assert Money.eur(cents).format("en") == en


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(-(10**9), 10**9))
def test_money_addition_is_exact(a: int, b: int) -> None:
    assert (Money.eur(a) + Money.eur(b)).cents == a + b
    assert (Money.eur(a) - Money.eur(b)) + Money.eur(b) == Money.eur(a)
