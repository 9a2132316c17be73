"""The words of the web pages, in French and English, and the choice between them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from payez.domain.errors import Language

TEXTS: dict[str, dict[Language, str]] = {
    "tagline": {
        "fr": "Payez par message : envoyez de l'argent en écrivant un post public.",
        "en": "Pay by post: send money by writing a public post.",
    },
    "how": {"fr": "Comment ça marche", "en": "How it works"},
    "send_example": {"fr": "@payez envoie 10€ à @alice merci !", "en": "@payez send €10 to @alice"},
    "buy_example": {
        "fr": "@payez j'achète (en réponse à une annonce)",
        "en": "@payez buy (as a reply to a listing)",
    },
    "limits": {
        "fr": "Jusqu'à 250 € par paiement entre personnes, 500 € pour une association. Gratuit.",
        "en": "Up to €250 a payment between persons, €500 to an association. Free.",
    },
    "sandbox": {"fr": "Essayer dans le bac à sable", "en": "Try it in the sandbox"},
    "claim_title": {"fr": "De l'argent vous attend", "en": "Money is waiting for you"},
    "claim_from": {"fr": "vous envoie", "en": "sends you"},
    "claim_prove": {
        "fr": "Prouvez que ce compte est le vôtre pour recevoir l'argent :",
        "en": "Prove this account is yours to receive the money:",
    },
    "claim_button": {"fr": "Se connecter avec", "en": "Sign in with"},
    "claim_done": {"fr": "C'est à vous !", "en": "It's yours!"},
    "claim_done_body": {
        "fr": "a été crédité sur votre compte Payez.",
        "en": "has been credited to your Payez account.",
    },
    "error_title": {"fr": "Impossible", "en": "Not possible"},
    "language": {"fr": "Langue", "en": "Language"},
}


def choose_language(accept_language: str | None, chosen: str | None = None) -> Language:
    """The visitor's choice if any, else the first of French or English the browser prefers."""
    if chosen in ("fr", "en"):
        return "fr" if chosen == "fr" else "en"
    ranked: list[tuple[Decimal, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = Decimal(1)
        if params.strip().startswith("q="):
            try:
                quality = Decimal(params.strip()[2:])
            except InvalidOperation:
                quality = Decimal(0)
        ranked.append((quality, tag.strip().lower()[:2]))
    for _quality, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag in ("fr", "en"):
            return "fr" if tag == "fr" else "en"
    return "fr"


def texts(language: Language) -> dict[str, str]:
    return {key: value[language] for key, value in TEXTS.items()}
