"""A French tax receipt for donations (reçu fiscal), with the fields of Cerfa form 11580.

The receipt says who received (name, address, object, SIREN or RNA), who gave (name,
address), how much (in figures and in words), when, in what form (a manual gift, in cash
terms: "numéraire"), by what means (an electronic transfer from the donor's Payez
wallet) and under which article of the tax code the gift opens a tax reduction: 200 for a
person, 238 bis for a company.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from payez.domain.french_numbers import euros_in_words
from payez.domain.money import Money

ARTICLE_PERSON = "200"
ARTICLE_COMPANY = "238 bis"


def tax_article_for(donor_kind: str) -> str:
    """Article 200 of the CGI for individuals; 238 bis for companies (a merchant account)."""
    return ARTICLE_PERSON if donor_kind == "person" else ARTICLE_COMPANY


@dataclass(frozen=True, slots=True)
class TaxReceipt:
    id: int
    number: int
    year: int
    association_user_id: int
    association_name: str
    association_address: str
    association_object: str
    association_legal_id: str
    donor_user_id: int
    donor_name: str
    donor_address: str
    amount: Money
    donation_dates: tuple[date, ...]
    tax_article: str
    issued_at: datetime

    @property
    def reference(self) -> str:
        """The receipt's order number as printed ("numéro d'ordre"), unique per association."""
        return f"{self.number:06d}"

    @property
    def amount_in_words(self) -> str:
        return euros_in_words(self.amount)
