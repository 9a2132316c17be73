"""Bank account identifiers checked with schwifty: IBAN (checksum, length, country) and BIC."""

from __future__ import annotations

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from payez.domain.errors import InvalidInput


class IbanInvalid(InvalidInput):
    code = "iban_invalid"
    message_fr = "IBAN invalide : vérifiez les caractères et la clé de contrôle."
    message_en = "Invalid IBAN: check the characters and the check digits."


class IbanOutsideSepa(IbanInvalid):
    code = "iban_outside_sepa"
    message_fr = "Cet IBAN n'appartient pas à la zone SEPA : virement impossible."
    message_en = "This IBAN is outside the SEPA area: no transfer is possible."


class BicInvalid(InvalidInput):
    code = "bic_invalid"
    message_fr = "BIC invalide."
    message_en = "Invalid BIC."


def normalize_iban(text: str) -> str:
    """The compact IBAN (``FR14...``) for ``text`` as people type it (spaces, lower case)."""
    try:
        iban = IBAN(text)
    except (SchwiftyException, ValueError, TypeError) as exc:
        raise IbanInvalid(str(exc)) from exc
    if not iban.in_sepa_zone:
        raise IbanOutsideSepa(iban.country_code)
    return str(iban.compact)


def format_iban(text: str) -> str:
    """The IBAN in groups of four, for display."""
    return str(IBAN(normalize_iban(text)).formatted)


def normalize_bic(text: str) -> str:
    try:
        return str(BIC(text).compact)
    except (SchwiftyException, ValueError, TypeError) as exc:
        raise BicInvalid(str(exc)) from exc
