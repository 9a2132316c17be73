"""Amounts in French words, as tax receipts print them ("somme en toutes lettres")."""

from __future__ import annotations

import pytest

from payez.domain.errors import InvalidInput
from payez.domain.french_numbers import AmountTooLargeForWords, euros_in_words, integer_in_words
from payez.domain.money import Money


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zéro"),
        (1, "un"),
        (10, "dix"),
        (16, "seize"),
        (17, "dix-sept"),
        (20, "vingt"),
        (21, "vingt et un"),
        (22, "vingt-deux"),
        (31, "trente et un"),
        (61, "soixante et un"),
        (70, "soixante-dix"),
        (71, "soixante et onze"),
        (72, "soixante-douze"),
        (79, "soixante-dix-neuf"),
        (80, "quatre-vingts"),
        (81, "quatre-vingt-un"),
        (90, "quatre-vingt-dix"),
        (91, "quatre-vingt-onze"),
        (99, "quatre-vingt-dix-neuf"),
        (100, "cent"),
        (101, "cent un"),
        (180, "cent quatre-vingts"),
        (200, "deux cents"),
        (201, "deux cent un"),
        (999, "neuf cent quatre-vingt-dix-neuf"),
        (1000, "mille"),
        (1001, "mille un"),
        (1980, "mille neuf cent quatre-vingts"),
        (2000, "deux mille"),
        (80_000, "quatre-vingt mille"),
        (200_000, "deux cent mille"),
        (201_000, "deux cent un mille"),
        (1_000_000, "un million"),
        (2_000_000, "deux millions"),
        (80_000_000, "quatre-vingts millions"),
        (200_000_000, "deux cents millions"),
        (1_000_000_000, "un milliard"),
        (
            1_234_567,
            "un million deux cent trente-quatre mille cinq cent soixante-sept",
        ),
    ],
)
def test_integers_in_words(number: int, words: str) -> None:
    assert integer_in_words(number) == words


@pytest.mark.parametrize(
    ("cents", "words"),
    [
        (1, "un centime"),
        (100, "un euro"),
        (101, "un euro et un centime"),
        (2500, "vingt-cinq euros"),
        (12_345, "cent vingt-trois euros et quarante-cinq centimes"),
        (8_080, "quatre-vingts euros et quatre-vingts centimes"),
        (50_000, "cinq cents euros"),
        (150_075, "mille cinq cents euros et soixante-quinze centimes"),
        (100_000_000, "un million d'euros"),
        (300_000_000, "trois millions d'euros"),
        (100_000_100, "un million un euros"),
    ],
)
def test_euros_in_words(cents: int, words: str) -> None:
    assert euros_in_words(Money.eur(cents)) == words


def test_what_cannot_be_written_is_refused() -> None:
    with pytest.raises(AmountTooLargeForWords):
        integer_in_words(10**12)
    with pytest.raises(InvalidInput):
        integer_in_words(-1)
    with pytest.raises(InvalidInput):
        euros_in_words(Money(100, "USD"))
