"""The pure rules of payment requests: codes and references, what a requester may type, the
states of a request, and the command a payer posts (read back by the real parser)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from payez.domain.commands import SendCommand, parse
from payez.domain.money import Money
from payez.domain.payment_requests import (
    CODE_ALPHABET,
    CODE_LENGTH,
    RequestAmountInvalid,
    RequestAmountOutOfRange,
    RequestFacts,
    RequestReasonInvalid,
    RequestStanding,
    RequestState,
    carries_reference,
    clean_reason,
    closed_to,
    command_text,
    compose_url,
    is_code,
    networks_offered,
    new_code,
    parse_request_amount,
    reference,
    references_in,
    state_of,
    with_one_more_payment,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_codes_are_short_unambiguous_and_drawn_at_random() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
        assert is_code(code)
    assert not set("01ilo") & set(CODE_ALPHABET)
    assert not is_code("abcdefg") and not is_code("abcdefgh1") and not is_code("ABCDEFGH")
    assert not is_code("abcdefg0")


def test_references_are_read_from_memos_whole_and_in_any_case() -> None:
    assert reference("k7m2p9xq") == "#rk7m2p9xq"
    assert references_in("#rk7m2p9xq pour le resto") == ["k7m2p9xq"]
    assert references_in("merci #RK7M2P9XQ !") == ["k7m2p9xq"]
    assert references_in("#rk7m2p9xq et #rk7m2p9xq, #rabcdefgh") == ["k7m2p9xq", "abcdefgh"]
    # Not a reference: glued to a word, too long, too short, a confusable letter, no "#r".
    for memo in (
        "x#rk7m2p9xq",
        "#rk7m2p9xqz",
        "#rk7m2p9x",
        "#rk7m2p9x0",
        "rk7m2p9xq",
        "##rk7m2p9xq",
    ):
        assert references_in(memo) == [], memo
    assert references_in(None) == [] and references_in("") == []
    assert carries_reference("pour #rk7m2p9xq", "k7m2p9xq")
    assert not carries_reference("pour #rk7m2p9xq", "abcdefgh")


@pytest.mark.parametrize(
    ("typed", "cents"), [("12,50", 1250), ("12.5", 1250), ("250", 25_000), ("0,50 €", 50)]
)
def test_amounts_are_read_into_cents(typed: str, cents: int) -> None:
    assert parse_request_amount(typed, min_cents=50, max_cents=25_000) == Money.eur(cents)


def test_an_empty_amount_is_any_amount() -> None:
    assert parse_request_amount("  ", min_cents=50, max_cents=25_000) is None


@pytest.mark.parametrize("typed", ["-5", "abc", "12,505", "1e3", "5 $", "12,50,3", "٣", "１２"])
def test_unreadable_amounts_are_refused(typed: str) -> None:
    with pytest.raises(RequestAmountInvalid):
        parse_request_amount(typed, min_cents=50, max_cents=25_000)


@pytest.mark.parametrize("typed", ["250,01", "1000", "0", "0,49"])
def test_amounts_outside_one_payment_are_refused(typed: str) -> None:
    with pytest.raises(RequestAmountOutOfRange):
        parse_request_amount(typed, min_cents=50, max_cents=25_000)


def test_reasons_are_cleaned_and_bounded() -> None:
    assert clean_reason("  pour \u00a0 le restaurant ") == "pour le restaurant"
    assert clean_reason("x" * 80) == "x" * 80
    for bad in (
        "",
        "   ",
        "x" * 81,
        "resto\x00",
        "a\nb",
        "a\tb",
        "resto\x1b[31m",
        "a\u202eb",
        "a\u200bb",
    ):
        with pytest.raises(RequestReasonInvalid):
            clean_reason(bad)


def _facts(
    *, once: bool = True, expires: datetime | None = None, cancelled: bool = False, paid: int = 0
) -> RequestFacts:
    return RequestFacts(once, expires, NOW if cancelled else None, paid)


def test_states() -> None:
    assert state_of(_facts(), NOW) is RequestState.OPEN
    assert state_of(_facts(paid=1), NOW) is RequestState.PAID
    assert state_of(_facts(once=False, paid=3), NOW) is RequestState.OPEN
    assert state_of(_facts(expires=NOW), NOW) is RequestState.EXPIRED
    assert state_of(_facts(expires=NOW + timedelta(seconds=1)), NOW) is RequestState.OPEN
    assert state_of(_facts(once=False, paid=2, expires=NOW), NOW) is RequestState.EXPIRED
    # Paid before it expired: it stays paid; cancelled wins over everything.
    assert state_of(_facts(paid=1, expires=NOW), NOW) is RequestState.PAID
    assert state_of(_facts(paid=1, cancelled=True), NOW) is RequestState.CANCELLED


def test_a_payment_naming_a_request_is_refused_only_when_it_pays_its_owner_and_it_is_closed() -> (
    None
):
    owner, other = 7, 8
    open_once = RequestStanding(owner, _facts())
    assert not closed_to(open_once, owner, NOW)
    paid = with_one_more_payment(open_once)
    assert paid.facts.payments == 1 and open_once.facts.payments == 0
    assert closed_to(paid, owner, NOW)
    assert not closed_to(paid, other, NOW) and not closed_to(paid, None, NOW)
    assert closed_to(RequestStanding(owner, _facts(cancelled=True)), owner, NOW)
    assert closed_to(RequestStanding(owner, _facts(expires=NOW)), owner, NOW)
    many = RequestStanding(owner, _facts(once=False, paid=5))
    assert not closed_to(with_one_more_payment(many), owner, NOW)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    "reason",
    ["pour le restaurant", "10€ le resto", "et @carol aussi", "2 cafés", "#payez merci", "à @bob"],
)
@pytest.mark.parametrize("recipient", ["alice", "alice.bsky.social", "alice@mastodon.social"])
def test_the_command_parses_back_to_the_request(language: str, reason: str, recipient: str) -> None:
    amount = Money.eur(1250)
    text = command_text(
        service_handle="payez",
        recipient_handle="@" + recipient,
        amount=amount,
        code="k7m2p9xq",
        reason=reason,
        language="fr" if language == "fr" else "en",
    )
    command = parse(text, "payez")
    assert isinstance(command, SendCommand), (text, command)
    assert command.amount == amount and command.recipient == recipient
    assert command.language == language
    assert references_in(command.memo) == ["k7m2p9xq"]


def test_the_french_command_reads_as_people_write_it() -> None:
    text = command_text(
        service_handle="payez",
        recipient_handle="alice",
        amount=Money.eur(1250),
        code="k7m2p9xq",
        reason="pour le restaurant",
        language="fr",
    )
    assert text == "@payez envoie 12,50\u00a0€ à @alice #rk7m2p9xq pour le restaurant"
    bare = command_text(
        service_handle="payez",
        recipient_handle="alice",
        amount=Money.eur(500),
        code=None,
        reason="",
        language="en",
    )
    assert bare == "@payez send €5.00 to @alice"
    assert parse(bare, "payez") == SendCommand(Money.eur(500), "alice", None, "en")


def test_compose_urls() -> None:
    text = "@payez envoie 5 € à @alice #rk7m2p9xq"
    encoded = "%40payez%20envoie%205%20%E2%82%AC%20%C3%A0%20%40alice%20%23rk7m2p9xq"
    urls = {
        network: compose_url(
            network,
            text,
            sandbox_url="http://127.0.0.1:8000/sandbox",
            mastodon_url="https://piaille.fr/",
        )
        for network in ("x", "bluesky", "mastodon", "sandbox", "memory")
    }
    assert urls == {
        "x": f"https://x.com/intent/post?text={encoded}",
        "bluesky": f"https://bsky.app/intent/compose?text={encoded}",
        "mastodon": f"https://piaille.fr/share?text={encoded}",
        "sandbox": f"http://127.0.0.1:8000/sandbox/?text={encoded}",
        "memory": None,
    }
    assert compose_url("mastodon", text, sandbox_url="", mastodon_url="") is None


def test_networks_offered_are_those_linked_and_listened() -> None:
    assert networks_offered({"x": "a", "sandbox": "b", "bluesky": "c"}, ["sandbox", "x"]) == [
        "sandbox",
        "x",
    ]
    assert networks_offered({"mastodon": "a"}, ["sandbox"]) == []
