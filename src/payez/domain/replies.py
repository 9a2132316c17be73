"""Every text the service posts back under a command, in French and in English.

One entry point, ``reply_text(outcome, language, *, author, **facts)``, chosen by the language of
the command's verb. ``outcome`` is one of :data:`OUTCOMES`: a parse error code, ``help``, a
success (``settled``, ``donation_settled``, ``purchase_settled``, ``claim_pending``,
``confirmation_required``, ``refunded``, ``claim_reminder``, ``account_linked``), or a refusal:
either ``"rejected"`` with ``reason=<code>`` or the reason code itself (:data:`REJECTION_REASONS`,
which include the refusals of a link code, :data:`LINK_REFUSALS`).

Facts (all optional unless the outcome needs them; unknown facts are ignored so a caller may
pass one dictionary to every outcome):

=================  ============================================================================
``amount``         :class:`Money` of the payment
``recipient``      handle of the recipient (merchant or association included)
``link``           a URL; required by ``help``, ``claim_pending``, ``confirmation_required``,
                   ``claim_reminder``, ``sender_unknown``, ``sender_unverified``,
                   ``post_stale_needs_confirmation`` and the link refusals that point to
                   the page making codes
``days``/``hours`` time left to claim; ``minutes`` to confirm (default 15)
``title``          the listing's title (cut to 40 characters); ``merchant`` (else ``recipient``)
``limit``          :class:`Money`, for ``amount_over_limit``; ``minimum`` for the minimum
``price``          :class:`Money`, the listing price (else ``amount``)
``service``        the service handle written in examples (default ``payez``)
``show_amount``    False (or ``hide_amount`` True) keeps the payment's amount out of the text
=================  ============================================================================

``author`` is the handle the reply is addressed to (empty: no leading mention). For
``claim_pending`` the reply is addressed to the recipient and names the author as the sender.

Replies fit every network with the longest facts: X (280, weighted as X counts: most scripts
1, others and emoji 2) and Bluesky (300 graphemes), with handles up to 50 characters and a link
up to 60. Example handles are written ``@\u2060pseudo`` (a word joiner after the ``@``) so that
no real account called ``pseudo`` is notified by every help reply.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from payez.domain.errors import InvalidInput, Language
from payez.domain.money import Money

PARSE_ERROR_OUTCOMES: Final = (
    "amount_missing",
    "amount_invalid",
    "amounts_multiple",
    "currency_unsupported",
    "recipient_missing",
    "recipients_multiple",
    "recipient_is_service",
    "link_code_invalid",
)
# Refusals of ``lier CODE`` / ``link CODE``, beside its parse error.
LINK_REFUSALS: Final = (
    "link_code_unknown",
    "link_code_expired",
    "link_code_used",
    "link_account_taken",
    "link_post_edited",
    "link_email_unverified",
)
REJECTION_REASONS: Final = (
    "amount_over_limit",
    "amount_below_minimum",
    "daily_cap_exceeded",
    "monthly_cap_exceeded",
    "self_payment",
    "sender_unknown",
    "sender_unverified",
    "sender_frozen",
    "recipient_unknown",
    "recipient_frozen",
    "funding_failed",
    "listing_price_mismatch",
    "listing_sold_out",
    "not_a_listing",
    "confirmation_expired",
    "post_stale_needs_confirmation",
    "cancelled",
    "too_many_orders",
    "request_closed",
    *LINK_REFUSALS,
)
OUTCOMES: Final = (
    *PARSE_ERROR_OUTCOMES,
    "help",
    "settled",
    "donation_settled",
    "purchase_settled",
    "claim_pending",
    "confirmation_required",
    "rejected",
    "refunded",
    "claim_reminder",
    "received",
    "account_linked",
    *REJECTION_REASONS,
)

X_MAX_WEIGHT: Final = 280
BLUESKY_MAX_GRAPHEMES: Final = 300
TITLE_MAX: Final = 40
_QUIET_AT: Final = "@\u2060"  # an ``@`` no network turns into a mention


class ReplyOutcomeUnknown(InvalidInput):
    code = "reply_outcome_unknown"
    message_fr = "Type de réponse inconnu."
    message_en = "Unknown reply outcome."


class ReplyFactMissing(InvalidInput):
    code = "reply_fact_missing"
    message_fr = "Une information manque pour rédiger la réponse."
    message_en = "A fact is missing to write the reply."


# (French, English). Placeholders: {at} the addressee's mention and a space (or nothing), {svc}
# the service's mention, {ex} the correct send form, {lex} the link form, {of} " de 10,00 €" /
# " of €10.00" (empty when the amount is private), {to} " à @bob" / " to @bob", {rcpt} "@bob",
# {link}, {within}, {minutes}, {limit}, {minimum}, {price}, {title}, {merchant}, {sender},
# {quiet_rcpt}.
_TEXTS: Final[dict[str, tuple[str, str]]] = {
    "amount_missing": (
        "{at}Il manque le montant. Écrivez : {ex}",
        "{at}The amount is missing. Write: {ex}",
    ),
    "amount_invalid": (
        "{at}Montant illisible : un nombre positif, deux décimales au plus. Écrivez : {ex}",
        "{at}Unreadable amount: use a positive number with at most two decimals. Write: {ex}",
    ),
    "amounts_multiple": (
        "{at}Un seul montant par message. Écrivez : {ex}",
        "{at}Only one amount per post. Write: {ex}",
    ),
    "currency_unsupported": (
        "{at}Seuls les euros sont acceptés. Écrivez : {ex}",
        "{at}Only euros are accepted. Write: {ex}",
    ),
    "recipient_missing": (
        "{at}À qui ? Indiquez le destinataire avec son @. Écrivez : {ex}",
        "{at}To whom? Give the recipient's @handle. Write: {ex}",
    ),
    "recipients_multiple": (
        "{at}Un seul destinataire par message : écrivez un message par personne. Écrivez : {ex}",
        "{at}One recipient per post: write one post per person. Write: {ex}",
    ),
    "recipient_is_service": (
        "{at}{svc} ne reçoit pas d'argent : indiquez le destinataire. Écrivez : {ex}",
        "{at}{svc} cannot receive money: name the recipient. Write: {ex}",
    ),
    "link_code_invalid": (
        "{at}Code illisible : recopiez les 8 caractères donnés par Payez. Écrivez : {lex}",
        "{at}Unreadable code: copy the 8 characters Payez gave you. Write: {lex}",
    ),
    "help": (
        "{at}Payer : « {svc} envoie 10€ à @\u2060pseudo » ou « paie @\u2060pseudo 10€ »."
        " Acheter : « j'achète » sous l'annonce. Aide : {link}",
        "{at}To pay: “{svc} send €10 to @\u2060name” or “pay @\u2060name €10”."
        " To buy: “buy” under the listing. Help: {link}",
    ),
    "settled": (
        "{at}C'est fait : paiement{of} envoyé{to}.",
        "{at}Done: payment{of} sent{to}.",
    ),
    "received": (
        "{at}Vous avez reçu {amt} de {payer}.",
        "{at}You received {amt} from {payer}.",
    ),
    "donation_settled": (
        "{at}Merci ! Votre don{of} a été versé{to}.",
        "{at}Thank you! Your donation{of} went{to}.",
    ),
    "purchase_settled": (
        "{at}Achat réglé{title} : paiement{of} à {merchant}.",
        "{at}Purchase paid{title}: payment{of} to {merchant}.",
    ),
    "claim_pending": (
        "{at}{sender} vous envoie un paiement{of} via Payez. Récupérez-le{within} : {link}",
        "{at}{sender} sent you a payment{of} with Payez. Claim it{within}: {link}",
    ),
    "confirmation_required": (
        "{at}Confirmez ce paiement{of}{to} dans l'appli, sous {minutes} min : {link}",
        "{at}Confirm this payment{of}{to} in the app within {minutes} min: {link}",
    ),
    "refunded": (
        "{at}Votre paiement{of}{quiet_to} n'a pas été récupéré : il vous a été rendu.",
        "{at}Your payment{of}{quiet_to} was not claimed: it has been returned to you.",
    ),
    "claim_reminder": (
        "{at}Rappel : un paiement{of} vous attend sur Payez. Récupérez-le{within} : {link}",
        "{at}Reminder: a payment{of} is waiting for you on Payez. Claim it{within}: {link}",
    ),
    "amount_over_limit": (
        "{at}Paiement refusé : {limit} au plus par paiement.",
        "{at}Payment declined: the limit is {limit} per payment.",
    ),
    "amount_below_minimum": (
        "{at}Paiement refusé : le minimum est de {minimum}.",
        "{at}Payment declined: the minimum is {minimum}.",
    ),
    "daily_cap_exceeded": (
        "{at}Paiement refusé : vous avez atteint votre plafond du jour. Réessayez demain.",
        "{at}Payment declined: you have reached today's limit. Try again tomorrow.",
    ),
    "monthly_cap_exceeded": (
        "{at}Paiement refusé : vous avez atteint votre plafond du mois.",
        "{at}Payment declined: you have reached this month's limit.",
    ),
    "self_payment": (
        "{at}Paiement refusé : vous ne pouvez pas vous payer vous-même.",
        "{at}Payment declined: you cannot pay yourself.",
    ),
    "sender_unknown": (
        "{at}Pour payer par message, ouvrez d'abord votre compte Payez : {link}",
        "{at}To pay by post, open your Payez account first: {link}",
    ),
    "sender_unverified": (
        "{at}Terminez la vérification de votre identité pour payer : {link}",
        "{at}Finish verifying your identity to pay: {link}",
    ),
    "too_many_orders": (
        "{at}Paiement refusé : trop d'ordres en une heure. Réessayez dans une heure.",
        "{at}Payment declined: too many orders within an hour. Try again in an hour.",
    ),
    "sender_frozen": (
        "{at}Paiement refusé : votre compte est suspendu. Contactez l'assistance.",
        "{at}Payment declined: your account is suspended. Please contact support.",
    ),
    "recipient_unknown": (
        "{at}Paiement refusé : aucun compte {rcpt} sur ce réseau.",
        "{at}Payment declined: there is no account {rcpt} on this network.",
    ),
    "recipient_frozen": (
        "{at}Paiement refusé : ce destinataire ne peut pas recevoir de paiement.",
        "{at}Payment declined: this recipient cannot receive payments.",
    ),
    "funding_failed": (
        "{at}Paiement refusé : carte refusée ou solde insuffisant.{see}",
        "{at}Payment declined: card refused or balance too low.{see}",
    ),
    "listing_price_mismatch": (
        "{at}Achat refusé : le prix de l'annonce est {price}.",
        "{at}Purchase declined: the listing price is {price}.",
    ),
    "listing_sold_out": (
        "{at}Désolé, cet article est épuisé. Vous n'avez pas été débité.",
        "{at}Sorry, this item is sold out. You have not been charged.",
    ),
    "request_closed": (
        "{at}Paiement refusé : cette demande de paiement est close (déjà payée, annulée ou "
        "expirée). Vous n'avez pas été débité.",
        "{at}Payment declined: this payment request is closed (already paid, cancelled or "
        "expired). You have not been charged.",
    ),
    "not_a_listing": (
        "{at}Pour acheter, répondez « {svc} j'achète » directement sous l'annonce.",
        "{at}To buy, reply “{svc} buy” directly under the listing.",
    ),
    "confirmation_expired": (
        "{at}Paiement annulé : il n'a pas été confirmé à temps. Renvoyez votre message.",
        "{at}Payment cancelled: it was not confirmed in time. Post your command again.",
    ),
    "post_stale_needs_confirmation": (
        "{at}Votre message date un peu : confirmez ce paiement dans l'appli : {link}",
        "{at}Your post is a little old: confirm this payment in the app: {link}",
    ),
    "cancelled": (
        "{at}Paiement annulé : le message a été supprimé avant le règlement.",
        "{at}Payment cancelled: the post was deleted before it was settled.",
    ),
    "account_linked": (
        "{at}C'est fait : ce compte est relié à Payez. Vous pouvez payer par message.",
        "{at}Done: this account is now linked to Payez. You can pay by post.",
    ),
    "link_code_unknown": (
        "{at}Code inconnu : aucun compte relié. Créez un code sur Payez : {link}",
        "{at}Unknown code: no account was linked. Get a code on Payez: {link}",
    ),
    "link_code_expired": (
        "{at}Ce code a expiré : aucun compte relié. Créez-en un nouveau : {link}",
        "{at}This code has expired: no account was linked. Get a new one: {link}",
    ),
    "link_code_used": (
        "{at}Ce code a déjà servi : aucun compte relié. Créez-en un nouveau : {link}",
        "{at}This code was already used: no account was linked. Get a new one: {link}",
    ),
    "link_account_taken": (
        "{at}Liaison refusée : ce compte est déjà relié à un autre compte Payez.",
        "{at}Link refused: this account is already linked to another Payez account.",
    ),
    "link_post_edited": (
        "{at}Un message modifié ne relie aucun compte : publiez un nouveau message.",
        "{at}An edited post links no account: write a new post.",
    ),
    "link_email_unverified": (
        "{at}Liaison refusée : confirmez d'abord l'adresse e-mail du compte Payez : {link}",
        "{at}Link refused: first confirm the Payez account's email address: {link}",
    ),
}
_NEEDS_LINK: Final = frozenset(
    {
        "help",
        "claim_pending",
        "confirmation_required",
        "claim_reminder",
        "sender_unknown",
        "sender_unverified",
        "post_stale_needs_confirmation",
        "link_code_unknown",
        "link_code_expired",
        "link_code_used",
        "link_email_unverified",
    }
)
_EXAMPLE: Final = ("{svc} envoie 10€ à @\u2060pseudo", "{svc} send €10 to @\u2060name")
_LINK_EXAMPLE: Final = ("{svc} lier CODE", "{svc} link CODE")


def _handle(value: object) -> str:
    return str(value).strip().lstrip("@＠") if value else ""


def _money(value: object, language: Language) -> str | None:
    return value.format(language) if isinstance(value, Money) else None


def _within(facts: dict[str, object], language: Language) -> str:
    days, hours = facts.get("days"), facts.get("hours")
    if isinstance(days, int) and not isinstance(days, bool):
        unit = (
            ("jour" if days == 1 else "jours")
            if language == "fr"
            else ("day" if days == 1 else "days")
        )
        count = f"{days}\u00a0{unit}" if language == "fr" else f"{days} {unit}"
    elif isinstance(hours, int) and not isinstance(hours, bool):
        count = f"{hours}\u00a0h" if language == "fr" else f"{hours} h"
    else:
        return ""
    return f" sous {count}" if language == "fr" else f" within {count}"


def _title(value: object) -> str:
    title = " ".join(str(value).split()) if value else ""
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    return title


def reply_text(outcome: str, language: Language, *, author: str, **facts: object) -> str:
    """The reply for ``outcome`` in ``language`` (see the module's documentation)."""
    if outcome == "rejected":
        reason = facts.get("reason")
        if not isinstance(reason, str) or reason not in REJECTION_REASONS:
            raise ReplyOutcomeUnknown(f"rejected without a known reason: {reason!r}")
        outcome = reason
    texts = _TEXTS.get(outcome)
    if texts is None:
        raise ReplyOutcomeUnknown(outcome)
    template = texts[0] if language == "fr" else texts[1]
    fr = language == "fr"

    link = str(facts.get("link") or "")
    if outcome in _NEEDS_LINK and not link:
        raise ReplyFactMissing(f"{outcome} needs a link")
    service = _handle(facts.get("service")) or "payez"
    author_handle = _handle(author)
    recipient = _handle(facts.get("recipient"))
    private = facts.get("show_amount") is False or facts.get("hide_amount") is True
    amount = None if private else _money(facts.get("amount"), language)

    addressee = author_handle
    sender = f"@{author_handle}" if author_handle else ("Quelqu'un" if fr else "Someone")
    if outcome == "claim_pending":
        addressee = recipient
    merchant = _handle(facts.get("merchant")) or recipient
    title = _title(facts.get("title"))
    price = _money(facts.get("price"), language) or _money(facts.get("amount"), language)
    limit = _money(facts.get("limit"), language)
    minimum = _money(facts.get("minimum"), language)
    minutes = facts.get("minutes")
    values = {
        "at": f"@{addressee} " if addressee else "",
        "svc": f"@{service}",
        "of": (f" de {amount}" if fr else f" of {amount}") if amount else "",
        "to": (f" à @{recipient}" if fr else f" to @{recipient}") if recipient else "",
        "quiet_to": (
            (f" à {_QUIET_AT}{recipient}" if fr else f" to {_QUIET_AT}{recipient}")
            if recipient
            else ""
        ),
        "rcpt": f"@{recipient}" if recipient else ("de ce nom" if fr else "by that name"),
        "merchant": f"@{merchant}" if merchant else ("le vendeur" if fr else "the seller"),
        "sender": sender,
        "payer": f"@{_handle(facts.get('payer'))}" if _handle(facts.get("payer")) else sender,
        "amt": amount or ("un paiement" if fr else "a payment"),
        "link": link,
        "see": f" {link}" if link else "",
        "within": _within(facts, language),
        "minutes": minutes if isinstance(minutes, int) and not isinstance(minutes, bool) else 15,
        "title": (f" « {title} »" if fr else f" “{title}”") if title else "",
        "price": price or ("différent" if fr else "different"),
        "limit": limit or ("le plafond" if fr else "the maximum"),
        "minimum": minimum or ("plus élevé" if fr else "higher"),
    }
    values["ex"] = _EXAMPLE[0 if fr else 1].format(svc=values["svc"])
    values["lex"] = _LINK_EXAMPLE[0 if fr else 1].format(svc=values["svc"])
    return template.format(**values)


def x_weighted_length(text: str) -> int:
    """The length X counts: one for most Latin, Greek, Cyrillic… characters and common
    punctuation, two for everything else (``€``, CJK, emoji). Links are counted as written,
    which can only over-estimate (X counts every link as 23)."""
    weight = 0
    for char in unicodedata.normalize("NFC", text):
        cp = ord(char)
        light = cp <= 4351 or 8192 <= cp <= 8205 or 8208 <= cp <= 8223 or 8242 <= cp <= 8247
        weight += 1 if light else 2
    return weight


def fits_every_network(text: str) -> bool:
    """Whether ``text`` can be posted on X and on Bluesky (code points bound graphemes)."""
    return x_weighted_length(text) <= X_MAX_WEIGHT and len(text) <= BLUESKY_MAX_GRAPHEMES
