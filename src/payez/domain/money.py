"""Exact money: an integer number of cents and a currency, in a frozen value type.

Floats are refused everywhere: ``Money(12.5)`` raises, and so does adding a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from payez.domain.errors import InvalidInput

Locale = Literal["fr", "en"]

_SYMBOLS = {"EUR": "€"}
# French typography: a no-break space before the symbol, a narrow no-break space in thousands.
_NBSP = "\u00a0"
_NNBSP = "\u202f"


@lru_cache(maxsize=64)  # the hot path builds many amounts in the same few currencies
def _is_currency_code(code: str) -> bool:
    """Three upper-case ASCII letters (ISO 4217's form)."""
    return len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()


class MoneyError(InvalidInput):
    code = "money_invalid"
    message_fr = "Montant invalide."
    message_en = "Invalid amount."


class AmountNotInteger(MoneyError):
    code = "amount_not_integer"
    message_fr = "Un montant doit être un nombre entier de centimes."
    message_en = "An amount must be a whole number of cents."


class CurrencyInvalid(MoneyError):
    code = "currency_invalid"
    message_fr = "Devise invalide : un code ISO 4217 de trois lettres est attendu."
    message_en = "Invalid currency: a three-letter ISO 4217 code is expected."


class CurrencyMismatch(MoneyError):
    code = "currency_mismatch"
    message_fr = "Les devises ne correspondent pas."
    message_en = "The currencies do not match."


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount: ``cents`` minor units of ``currency`` (ISO 4217, upper case)."""

    cents: int
    currency: str = "EUR"

    def __post_init__(self) -> None:
        # bool is an int subclass: True must not become one cent.
        if type(self.cents) is not int:
            raise AmountNotInteger(f"got {type(self.cents).__name__}")
        if not (isinstance(self.currency, str) and _is_currency_code(self.currency)):
            raise CurrencyInvalid(repr(self.currency))

    @classmethod
    def eur(cls, cents: int) -> Money:
        return cls(cents, "EUR")

    @classmethod
    def zero(cls, currency: str = "EUR") -> Money:
        return cls(0, currency)

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise AmountNotInteger(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.cents + self._same_currency(other).cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.cents - self._same_currency(other).cents, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.cents, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.cents < self._same_currency(other).cents

    def __le__(self, other: Money) -> bool:
        return self.cents <= self._same_currency(other).cents

    def __gt__(self, other: Money) -> bool:
        return self.cents > self._same_currency(other).cents

    def __ge__(self, other: Money) -> bool:
        return self.cents >= self._same_currency(other).cents

    @property
    def is_positive(self) -> bool:
        return self.cents > 0

    def format(self, locale: Locale = "en") -> str:
        """``12,50 €`` in French, ``€12.50`` in English; other currencies by their code."""
        sign = "-" if self.cents < 0 else ""
        units, cents = divmod(abs(self.cents), 100)
        if locale == "fr":
            number = f"{units:,}".replace(",", _NNBSP) + f",{cents:02d}"
            symbol = _SYMBOLS.get(self.currency, self.currency)
            return f"{sign}{number}{_NBSP}{symbol}"
        number = f"{units:,}.{cents:02d}"
        if self.currency not in _SYMBOLS:
            return f"{sign}{number} {self.currency}"
        return f"{sign}{_SYMBOLS[self.currency]}{number}"

    def __str__(self) -> str:
        return self.format("en")
