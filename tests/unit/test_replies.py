"""Replies: every outcome, both languages, the privacy flag, and the networks' length limits."""

from __future__ import annotations

import pytest

from payez.domain.commands import PARSE_ERROR_CODES
from payez.domain.money import Money
from payez.domain.replies import (
    LINK_REFUSALS,
    OUTCOMES,
    PARSE_ERROR_OUTCOMES,
    REJECTION_REASONS,
    ReplyFactMissing,
    ReplyOutcomeUnknown,
    fits_every_network,
    reply_text,
    x_weighted_length,
)

LONG_HANDLE = "a" * 50
LONG_LINK = "https://payez.example/" + "c" * 38
# The widest amounts the texts will meet: far beyond any limit, with thousands separators.
WORST = {
    "amount": Money.eur(99_999_999_999),
    "recipient": "r" * 50,
    "merchant": "m" * 50,
    "service": "s" * 50,
    "link": LONG_LINK,
    "days": 365,
    "minutes": 1440,
    "title": "Un titre d’annonce interminable " * 10,
    "limit": Money.eur(99_999_999_999),
    "minimum": Money.eur(99_999_999_999),
    "price": Money.eur(99_999_999_999),
}
TYPICAL = {
    "amount": Money.eur(1250),
    "recipient": "bob",
    "link": "https://payez.fr/c/abc",
    "days": 14,
    "minutes": 15,
    "title": "Vélo rouge",
    "limit": Money.eur(25_000),
    "minimum": Money.eur(50),
}
SINGLE_OUTCOMES = [outcome for outcome in OUTCOMES if outcome != "rejected"]


def test_worst_case_facts_are_as_long_as_promised() -> None:
    assert len(LONG_LINK) == 60


def test_every_parse_error_code_has_a_reply() -> None:
    assert set(PARSE_ERROR_CODES) == set(PARSE_ERROR_OUTCOMES)


@pytest.mark.parametrize("outcome", SINGLE_OUTCOMES)
@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("show_amount", [True, False])
def test_every_reply_fits_every_network_with_worst_case_facts(
    outcome: str, language: str, show_amount: bool
) -> None:
    for hours_instead in (False, True):
        facts: dict[str, object] = dict(WORST, show_amount=show_amount)
        if hours_instead:
            del facts["days"]
            facts["hours"] = 9999
        text = reply_text(outcome, language, author=LONG_HANDLE, **facts)  # type: ignore[arg-type]
        assert fits_every_network(text), (outcome, language, x_weighted_length(text), text)
        assert x_weighted_length(text) <= 280
        assert len(text) <= 300


@pytest.mark.parametrize("outcome", SINGLE_OUTCOMES)
def test_french_and_english_differ_and_name_the_addressee(outcome: str) -> None:
    french = reply_text(outcome, "fr", author="alice", **TYPICAL)
    english = reply_text(outcome, "en", author="alice", **TYPICAL)
    assert french != english
    addressee = "@bob " if outcome == "claim_pending" else "@alice "
    assert french.startswith(addressee)
    assert english.startswith(addressee)
    assert "{" not in french + english
    assert "  " not in french + english


@pytest.mark.parametrize("reason", REJECTION_REASONS)
def test_rejected_with_a_reason_is_the_reason_itself(reason: str) -> None:
    for language in ("fr", "en"):
        assert reply_text(
            "rejected", language, author="alice", reason=reason, **TYPICAL
        ) == reply_text(reason, language, author="alice", **TYPICAL)


def test_every_rejection_reason_has_its_own_text() -> None:
    for language in ("fr", "en"):
        texts = {reply_text(r, language, author="a", **TYPICAL) for r in REJECTION_REASONS}
        assert len(texts) == len(REJECTION_REASONS)


@pytest.mark.parametrize("code", [c for c in PARSE_ERROR_OUTCOMES if c != "link_code_invalid"])
def test_parse_errors_show_the_correct_form(code: str) -> None:
    french = reply_text(code, "fr", author="alice", service="TweetezPayez")
    english = reply_text(code, "en", author="alice", service="TweetezPayez")
    assert "@TweetezPayez envoie 10€ à @\u2060pseudo" in french
    assert "@TweetezPayez send €10 to @\u2060name" in english


def test_an_unreadable_link_code_shows_the_link_form() -> None:
    french = reply_text("link_code_invalid", "fr", author="alice", service="TweetezPayez")
    english = reply_text("link_code_invalid", "en", author="alice", service="TweetezPayez")
    assert french.endswith("Écrivez : @TweetezPayez lier CODE")
    assert english.endswith("Write: @TweetezPayez link CODE")


@pytest.mark.parametrize("reason", LINK_REFUSALS)
def test_link_refusals_are_rejection_reasons_and_say_nothing_was_linked(reason: str) -> None:
    assert reason in REJECTION_REASONS
    link = "https://payez.fr/onboarding#link"
    french = reply_text("rejected", "fr", author="alice", reason=reason, link=link)
    english = reply_text("rejected", "en", author="alice", reason=reason, link=link)
    assert french.startswith("@alice ") and english.startswith("@alice ")
    assert "envoie" not in french and "send" not in english


def test_examples_never_mention_a_real_account() -> None:
    text = reply_text("help", "fr", author="alice", link="https://payez.fr")
    assert "@pseudo" not in text
    assert "@\u2060pseudo" in text
    assert text.endswith("https://payez.fr")


def test_amounts_use_the_language_format() -> None:
    facts = {"amount": Money.eur(123_456), "recipient": "bob"}
    assert "1\u202f234,56\u00a0€" in reply_text("settled", "fr", author="alice", **facts)
    assert "€1,234.56" in reply_text("settled", "en", author="alice", **facts)
    assert reply_text("settled", "fr", author="alice", amount=Money.eur(1000), recipient="bob") == (
        "@alice C'est fait : paiement de 10,00\u00a0€ envoyé à @bob."
    )
    assert reply_text(
        "settled", "en", author="@alice", amount=Money.eur(1000), recipient="@bob"
    ) == ("@alice Done: payment of €10.00 sent to @bob.")


@pytest.mark.parametrize(
    "outcome",
    [
        "settled",
        "donation_settled",
        "purchase_settled",
        "claim_pending",
        "confirmation_required",
        "refunded",
        "claim_reminder",
    ],
)
def test_the_amount_can_be_kept_private(outcome: str) -> None:
    for language in ("fr", "en"):
        shown = reply_text(outcome, language, author="alice", **TYPICAL)
        money = Money.eur(1250).format(language)
        assert money in shown
        for flag in ({"show_amount": False}, {"hide_amount": True}):
            hidden = reply_text(outcome, language, author="alice", **TYPICAL, **flag)
            assert money not in hidden
            assert "12" not in hidden


def test_specific_facts_appear() -> None:
    assert "250,00\u00a0€" in reply_text("amount_over_limit", "fr", author="a", **TYPICAL)
    assert "€0.50" in reply_text("amount_below_minimum", "en", author="a", **TYPICAL)
    assert "14\u00a0jours" in reply_text("claim_pending", "fr", author="a", **TYPICAL)
    assert "within 1 day:" in reply_text(
        "claim_pending", "en", author="a", **{**TYPICAL, "days": 1}
    )
    assert "15 min" in reply_text("confirmation_required", "en", author="a", **TYPICAL)
    assert "« Vélo rouge »" in reply_text("purchase_settled", "fr", author="a", **TYPICAL)
    assert "@a" in reply_text("claim_pending", "fr", author="a", **TYPICAL)
    assert "€12.50" in reply_text("listing_price_mismatch", "en", author="a", price=Money.eur(1250))
    assert "@bob" in reply_text("recipient_unknown", "en", author="a", recipient="bob")
    assert reply_text("recipient_unknown", "fr", author="a") == (
        "@a Paiement refusé : aucun compte de ce nom sur ce réseau."
    )


def test_refunds_do_not_notify_the_recipient_again() -> None:
    text = reply_text("refunded", "fr", author="", amount=Money.eur(500), recipient="bob")
    assert not text.startswith("@")
    assert "@bob" not in text
    assert "bob" in text


def test_long_titles_are_cut() -> None:
    text = reply_text("purchase_settled", "en", author="a", title="x" * 500, recipient="shop")
    assert "x" * 39 + "…" in text
    assert "x" * 40 not in text


def test_unknown_outcomes_and_missing_links_are_refused() -> None:
    with pytest.raises(ReplyOutcomeUnknown):
        reply_text("teleported", "fr", author="a")
    with pytest.raises(ReplyOutcomeUnknown):
        reply_text("rejected", "fr", author="a", reason="bored")
    with pytest.raises(ReplyFactMissing):
        reply_text("claim_pending", "fr", author="a", recipient="b", amount=Money.eur(1))


def test_x_weighting() -> None:
    assert x_weighted_length("abc") == 3
    assert x_weighted_length("é") == 1
    assert x_weighted_length("€") == 2
    assert x_weighted_length("日本") == 4
    assert x_weighted_length("\u2019") == 1
    assert not fits_every_network("x" * 281)
    assert not fits_every_network("€" * 150)
