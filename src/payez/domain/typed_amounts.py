"""Euros typed into a form by a person, read into integer cents (never through a float)."""

from __future__ import annotations

import re

from payez.domain.errors import InvalidInput

_SPACES = "\u00a0\u202f\u2009 "
# ASCII digits only: "٣" or "３" are digits to Python but not an amount anyone types in euros.
_EUROS = re.compile(
    r"^(?P<euros>\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+|\d{1,9})(?:[.,](?P<cents>\d{1,2}))?\Z",
    re.ASCII,
)


class TypedAmountUnreadable(InvalidInput):
    code = "typed_amount_unreadable"
    message_fr = "Montant illisible : écrivez un montant en euros comme 12 ou 12,50."
    message_en = "Unreadable amount: write an amount in euros such as 12 or 12.50."


def parse_typed_euros(text: str) -> int:
    """ "12", "12,5", "12.50 €", "1 200,00" → cents; three decimals, signs and words refused."""
    cleaned = text.strip().strip(_SPACES)
    lowered = cleaned.lower()
    for suffix in ("euros", "euro", "eur", "€"):
        if lowered.endswith(suffix):
            cleaned = cleaned[: -len(suffix)].strip(_SPACES)
            break
    found = _EUROS.match(cleaned)
    if found is None:
        raise TypedAmountUnreadable(text[:40])
    euros = int("".join(c for c in found["euros"] if c.isdigit()))
    return euros * 100 + int((found["cents"] or "0").ljust(2, "0"))
