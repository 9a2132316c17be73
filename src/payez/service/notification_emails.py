"""Emails that tell a user of their money: received, a claim about to expire, a payout
executed, a confirmation waiting.

Each is queued in the transaction that makes the thing happen (so it is sent if and only if
that commits), only to a verified address and only if the user left that email switched on in
settings. Its key names the event (``email:money_received:{payment}``), so a retried decision
queues it once. The amount is in the text, never in the subject: subjects show on lock
screens. The processor notifies a whole batch with one query and one insert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from payez.adapters.db import email_contacts
from payez.adapters.db import emails as emails_repo
from payez.adapters.db.email_contacts import EmailContact
from payez.adapters.db.users import UserRow
from payez.domain.errors import Language
from payez.domain.money import Money
from payez.service.email_outbox import Letter, email_row

MONEY_RECEIVED = "money_received"
CLAIM_EXPIRING = "claim_expiring"
PAYOUT_EXECUTED = "payout_executed"
CONFIRMATION_WAITING = "confirmation_waiting"

_FOOTER_FR = "\n\nVous recevez cet e-mail car il est activé dans vos réglages : {base}/settings\n"
_FOOTER_EN = "\n\nYou get this email because it is switched on in your settings: {base}/settings\n"


@dataclass(frozen=True, slots=True)
class Notice:
    """One event to tell ``user_id`` of; ``ref`` names the event (a payment, a payout)."""

    kind: str
    user_id: int
    ref: str
    amount: Money
    counterpart: str = ""  # a public handle
    link: str = ""  # a path of the web app
    hours: int = 0


def letter_for(notice: Notice, base_url: str) -> Letter:
    base = base_url.rstrip("/")
    fr, en = notice.amount.format("fr"), notice.amount.format("en")
    who = notice.counterpart or "?"
    link = f"{base}{notice.link}" if notice.link else f"{base}/dashboard"
    if notice.kind == MONEY_RECEIVED:
        letter = Letter(
            "Vous avez reçu de l'argent sur Payez",
            "You received money on Payez",
            f"Bonjour,\n\n{who} vous a envoyé {fr}. Le montant est sur votre compte Payez."
            f"\n\nVotre tableau de bord : {link}",
            f"Hello,\n\n{who} sent you {en}. It is in your Payez account."
            f"\n\nYour dashboard: {link}",
        )
    elif notice.kind == CONFIRMATION_WAITING:
        letter = Letter(
            "Un paiement attend votre confirmation",
            "A payment is waiting for your confirmation",
            f"Bonjour,\n\nVotre paiement de {fr} à {who} attend votre confirmation. Confirmez-le"
            f" ici : {link}\n\nSi vous n'êtes pas à l'origine de ce paiement, ne confirmez rien"
            " : il expirera sans rien payer.",
            f"Hello,\n\nYour payment of {en} to {who} is waiting for your confirmation. Confirm"
            f" it here: {link}\n\nIf you did not make this payment, confirm nothing: it will"
            " expire without paying.",
        )
    elif notice.kind == CLAIM_EXPIRING:
        letter = Letter(
            "Votre paiement n'a pas encore été réclamé",
            "Your payment has not been claimed yet",
            f"Bonjour,\n\n{who} n'a pas encore réclamé les {fr} que vous lui avez envoyés. Sans"
            f" réclamation dans les {notice.hours} heures, l'argent reviendra sur votre compte"
            f" Payez.\n\nVotre tableau de bord : {link}",
            f"Hello,\n\n{who} has not yet claimed the {en} you sent. Unless it is claimed"
            f" within {notice.hours} hours, the money comes back to your Payez account."
            f"\n\nYour dashboard: {link}",
        )
    elif notice.kind == PAYOUT_EXECUTED:
        letter = Letter(
            "Votre virement a été exécuté",
            "Your payout has been executed",
            f"Bonjour,\n\nLa banque a exécuté votre virement de {fr} vers votre compte"
            f" bancaire.\n\nVos virements : {link}",
            f"Hello,\n\nThe bank executed your payout of {en} to your bank account."
            f"\n\nYour payouts: {link}",
        )
    else:
        raise ValueError(f"unknown notification {notice.kind}")
    return Letter(
        letter.subject_fr,
        letter.subject_en,
        letter.text_fr + _FOOTER_FR.format(base=base),
        letter.text_en + _FOOTER_EN.format(base=base),
    )


def _language(value: str) -> Language:
    return "en" if value == "en" else "fr"


def contact_of(user: UserRow) -> EmailContact | None:
    """How to reach a user already read (a batch's senders and recipients), if at all."""
    if user.email_contact is None:
        return None
    return EmailContact(user.id, user.email_contact, user.language, user.emails_wanted)


def notify_by_email(
    conn: Connection,
    notices: Sequence[Notice],
    *,
    base_url: str,
    now: datetime,
    contacts: Mapping[int, EmailContact] | None = None,
) -> int:
    """Queue the emails of ``notices`` their users can and want to get; returns how many.
    ``contacts``: the users' email choices when the caller has read them already."""
    if not notices:
        return 0
    if contacts is None:
        contacts = email_contacts.reachable(conn, (n.user_id for n in notices))
    rows = []
    for notice in notices:
        contact = contacts.get(notice.user_id)
        if contact is None or notice.kind not in contact.wants:
            continue
        rows.append(
            email_row(
                kind=notice.kind,
                to=contact.email,
                language=_language(contact.language),
                letter=letter_for(notice, base_url),
                idempotency_key=f"email:{notice.kind}:{notice.ref}",
                now=now,
                user_id=contact.user_id,
            )
        )
    emails_repo.enqueue(conn, rows)
    return len(rows)
