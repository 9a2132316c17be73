"""Amounts written out in French words, as a tax receipt requires ("somme en toutes lettres").

Traditional spelling, the one cheques and receipts use: hyphens inside numbers below one
hundred, "et" in 21, 31 … 71 ("soixante et onze"), "quatre-vingts" and "deux cents" take an
"s" only when nothing follows them, "mille" never does, "million" and "milliard" are nouns.
"""

from __future__ import annotations

from payez.domain.errors import InvalidInput
from payez.domain.money import Money

_UNITS = (
    *("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"),
    *("dix", "onze", "douze", "treize", "quatorze", "quinze", "seize"),
    *("dix-sept", "dix-huit", "dix-neuf"),
)
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}


class AmountTooLargeForWords(InvalidInput):
    code = "amount_too_large_for_words"
    message_fr = "Montant trop grand pour être écrit en lettres."
    message_en = "Amount too large to be written out in words."


def _below_hundred(n: int) -> str:
    if n < 20:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    if tens in (7, 9):
        # 70–79 and 90–99 count on from soixante and quatre-vingt: soixante-douze.
        base = "soixante" if tens == 7 else "quatre-vingt"
        rest = 10 + unit
        joiner = " et " if tens == 7 and unit == 1 else "-"
        return base + joiner + _UNITS[rest]
    if tens == 8:
        return "quatre-vingts" if unit == 0 else "quatre-vingt-" + _UNITS[unit]
    word = _TENS[tens]
    if unit == 0:
        return word
    if unit == 1:
        return word + " et un"
    return word + "-" + _UNITS[unit]


def _below_thousand(n: int, *, final: bool) -> str:
    """``final``: nothing follows the number (so "quatre-vingts", "deux cents" keep their s)."""
    hundreds, rest = divmod(n, 100)
    parts: list[str] = []
    if hundreds:
        if hundreds == 1:
            parts.append("cent")
        else:
            plural = "s" if rest == 0 and final else ""
            parts.append(f"{_UNITS[hundreds]} cent{plural}")
    if rest:
        words = _below_hundred(rest)
        if words == "quatre-vingts" and not final:
            words = "quatre-vingt"
        parts.append(words)
    return " ".join(parts)


def integer_in_words(n: int) -> str:
    """0 ≤ n < 10^12, in French words: 1 981 → "mille neuf cent quatre-vingt-un"."""
    if type(n) is not int or n < 0:
        raise InvalidInput(repr(n))
    if n >= 10**12:
        raise AmountTooLargeForWords(str(n))
    if n == 0:
        return "zéro"
    billions, n = divmod(n, 10**9)
    millions, n = divmod(n, 10**6)
    thousands, units = divmod(n, 1000)
    parts: list[str] = []
    for count, noun in ((billions, "milliard"), (millions, "million")):
        if count:
            # "Million" is a noun: "quatre-vingts millions", "deux cents millions".
            parts.append(f"{_below_thousand(count, final=True)} {noun}{'s' if count > 1 else ''}")
    if thousands:
        # "Mille" is an adjective: no "s", and "cent"/"vingt" before it lose theirs.
        parts.append(
            "mille" if thousands == 1 else _below_thousand(thousands, final=False) + " mille"
        )
    if units:
        parts.append(_below_thousand(units, final=True))
    return " ".join(parts)


def euros_in_words(amount: Money) -> str:
    """12 345 cents → "cent vingt-trois euros et quarante-cinq centimes"."""
    if amount.currency != "EUR":
        raise InvalidInput(amount.currency)
    euros, cents = divmod(amount.cents, 100)
    if amount.cents < 0:
        raise InvalidInput(str(amount.cents))
    parts: list[str] = []
    if euros or not cents:
        words = integer_in_words(euros)
        # "Un million d'euros": a round million or milliard takes "de" before its noun.
        of = " d'" if euros and euros % 10**6 == 0 else " "
        parts.append(f"{words}{of}euro{'s' if euros > 1 else ''}")
    if cents:
        parts.append(f"{integer_in_words(cents)} centime{'s' if cents > 1 else ''}")
    return " et ".join(parts)
