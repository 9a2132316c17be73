"""Payment requests: "pay me 12,50 € for the restaurant", shared as a link and a QR code.

Pure rules, no I/O: the request's short code and the reference a payment carries in its memo
(``#r<code>``), the checks on what a requester types, the state of a request at a moment, and
the command a payer posts, prefilled in each network's compose page.

A payment is linked to a request when it was sent to the request's owner with the request's
reference in its memo; the reference is read back from the memo the parser kept
(``docs/commands.md``: hashtags other than the service's stay in the memo).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Final
from urllib.parse import quote

from payez.domain.errors import InvalidInput, Language
from payez.domain.money import Money
from payez.domain.typed_amounts import TypedAmountUnreadable, parse_typed_euros

# Lower-case letters and digits a person cannot confuse (no 0 o 1 i l): 31^8, about 8.5e11
# codes, so a link cannot be guessed, and short enough to read in a post.
CODE_ALPHABET: Final = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH: Final = 8
REFERENCE_PREFIX: Final = "#r"
MAX_REASON_LENGTH: Final = 80
MAX_EXPIRY_DAYS: Final = 365

_REFERENCE = re.compile(
    rf"(?<![\w#])#r([{CODE_ALPHABET}]{{{CODE_LENGTH}}})(?![\w])", re.IGNORECASE | re.ASCII
)
_CODE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")


class RequestState(StrEnum):
    OPEN = "open"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class RequestAmountInvalid(InvalidInput):
    code = "request_amount_invalid"
    message_fr = "Montant illisible : écrivez un montant en euros comme 12 ou 12,50."
    message_en = "Unreadable amount: write an amount in euros such as 12 or 12.50."


class RequestAmountOutOfRange(InvalidInput):
    code = "request_amount_out_of_range"
    # The limits are configured, so the page that shows this message adds them.
    message_fr = "Le montant doit rester dans les limites d'un paiement."
    message_en = "The amount must stay within the limits of one payment."


class RequestReasonInvalid(InvalidInput):
    code = "request_reason_invalid"
    message_fr = "Donnez un motif de 1 à 80 caractères, sans caractères de contrôle."
    message_en = "Give a reason of 1 to 80 characters, without control characters."


class RequestExpiryInvalid(InvalidInput):
    code = "request_expiry_invalid"
    message_fr = "Date d'expiration invalide : une date à venir, dans l'année (AAAA-MM-JJ)."
    message_en = "Invalid expiry date: a date to come, within a year (YYYY-MM-DD)."


class RequestUsesInvalid(InvalidInput):
    code = "request_uses_invalid"
    message_fr = "Choisissez « payée une fois » ou « payée plusieurs fois »."
    message_en = "Choose “paid once” or “paid many times”."


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def is_code(text: str) -> bool:
    return bool(_CODE.match(text))


def reference(code: str) -> str:
    """What a payment's memo carries to be linked to the request: ``#r<code>``."""
    return f"{REFERENCE_PREFIX}{code}"


def references_in(memo: str | None) -> list[str]:
    """The request codes referenced in ``memo``, in order, each once (lower case)."""
    if not memo or "#" not in memo:
        return []
    found: list[str] = []
    for match in _REFERENCE.finditer(memo):
        code = match.group(1).lower()
        if code not in found:
            found.append(code)
    return found


def carries_reference(memo: str | None, code: str) -> bool:
    return code in references_in(memo)


def parse_request_amount(text: str, *, min_cents: int, max_cents: int) -> Money | None:
    """The amount a requester typed; empty means "any amount" (``None``)."""
    if not text.strip():
        return None
    if len(text) > 40:
        raise RequestAmountInvalid(text[:40])
    try:
        cents = parse_typed_euros(text)
    except TypedAmountUnreadable:
        raise RequestAmountInvalid(text[:40]) from None
    if not min_cents <= cents <= max_cents:
        raise RequestAmountOutOfRange(str(cents))
    return Money.eur(cents)


def clean_reason(text: str) -> str:
    """The reason as it will be shown and posted: spaces collapsed, 1 to 80 characters, no
    control, format (bidirectional overrides, invisible) or surrogate characters."""
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") for char in text):
        raise RequestReasonInvalid("control character")
    cleaned = " ".join(text.split())
    if not 1 <= len(cleaned) <= MAX_REASON_LENGTH:
        raise RequestReasonInvalid(str(len(cleaned)))
    return cleaned


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What decides a request's state."""

    once: bool
    expires_at: datetime | None
    cancelled_at: datetime | None
    payments: int  # settled payments linked to it


def state_of(facts: RequestFacts, now: datetime) -> RequestState:
    """Cancelled wins, then paid (a paid-once request with a payment), then expired."""
    if facts.cancelled_at is not None:
        return RequestState.CANCELLED
    if facts.once and facts.payments > 0:
        return RequestState.PAID
    if facts.expires_at is not None and facts.expires_at <= now:
        return RequestState.EXPIRED
    return RequestState.OPEN


@dataclass(frozen=True, slots=True)
class RequestStanding:
    """A request as a payment naming it meets it: whose it is, and what decides its state."""

    owner_user_id: int
    facts: RequestFacts


def closed_to(standing: RequestStanding, recipient_user_id: int | None, now: datetime) -> bool:
    """Whether a payment to ``recipient_user_id`` naming this request is refused: it pays the
    request's owner and the request is no longer open (paid once already, cancelled, expired).
    Its payer meant that request, so the money must not move as an ordinary payment."""
    if recipient_user_id != standing.owner_user_id:
        return False  # not this request's payment: its reference is only words
    return state_of(standing.facts, now) is not RequestState.OPEN


def with_one_more_payment(standing: RequestStanding) -> RequestStanding:
    return replace(standing, facts=replace(standing.facts, payments=standing.facts.payments + 1))


def command_text(
    *,
    service_handle: str,
    recipient_handle: str,
    amount: Money,
    code: str | None,
    reason: str,
    language: Language,
) -> str:
    """The post that pays the request, in the command language: the reference comes right
    after the recipient (so that a reason starting with an amount or ``et @x`` stays memo)."""
    recipient = recipient_handle.lstrip("@")
    ref = f" {reference(code)}" if code else ""
    memo = f"{ref} {reason}".rstrip() if reason else ref
    if language == "fr":
        return f"@{service_handle} envoie {amount.format('fr')} à @{recipient}{memo}"
    return f"@{service_handle} send {amount.format('en')} to @{recipient}{memo}"


def compose_url(network: str, text: str, *, sandbox_url: str, mastodon_url: str) -> str | None:
    """The page of ``network`` where a post is written, with ``text`` prefilled; ``None`` for a
    network that has no such page known to us."""
    encoded = quote(text, safe="")
    if network == "x":
        return f"https://x.com/intent/post?text={encoded}"
    if network == "bluesky":
        return f"https://bsky.app/intent/compose?text={encoded}"
    if network == "mastodon" and mastodon_url:
        return f"{mastodon_url.rstrip('/')}/share?text={encoded}"
    if network == "sandbox" and sandbox_url:
        return f"{sandbox_url.rstrip('/')}/?text={encoded}"
    return None


def networks_offered(linked: Iterable[str], listened: Iterable[str]) -> list[str]:
    """The networks a payer may use: where the requester has an account and Payez listens, in
    a fixed order."""
    order = ("sandbox", "mastodon", "bluesky", "x")
    mine = set(linked) & set(listened)
    return [network for network in order if network in mine]
