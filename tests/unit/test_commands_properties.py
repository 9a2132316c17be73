"""Properties of the parser: amounts round-trip, no exception, no float, determinism, and the
fast paths read every post exactly as the reference reading does."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from payez.domain import commands
from payez.domain.commands import (
    BuyCommand,
    Command,
    NoCommand,
    ParseError,
    SendCommand,
    command_to_json,
    parse,
    parse_many,
)
from payez.domain.money import Money

CENTS = st.integers(min_value=1, max_value=10**14 - 1)

FRAGMENTS = [
    "@payez",
    "@PAYEZ",
    "@shop",
    "envoie",
    "ENVOIE",
    "send",
    "paie",
    "pay",
    "#envoyer",
    "j'achète",
    "j’achete",
    "buy",
    "aide",
    "help",
    "?",
    "5",
    "5€",
    "€5",
    "12,50",
    "12.5",
    "0",
    "-5",
    "1.000",
    "5,555",
    "1 234,56",
    "€",
    "EUR",
    "eur",
    "euros",
    "$",
    "USD",
    "dollars",
    "£",
    "10EUR",
    "5kg",
    "à",
    "a",
    "À",
    "to",
    "pour",
    "@bob",
    "@Bob_92",
    "@carol",
    "@alice@mastodon.social",
    "@alice.bsky.social",
    "bob",
    "et",
    "and",
    "&",
    ",",
    ":",
    ".",
    "-",
    "#payez",
    "#TweetezPayez",
    "merci",
    "pour le resto",
    "!",
    "🍕",
    "\u0301",
]
SEPARATORS = st.sampled_from(["", " ", " ", "  ", "\u00a0", "\u202f", "\u2009", "\n", "\u200b"])


@st.composite
def near_commands(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(FRAGMENTS), min_size=0, max_size=9))
    head = draw(st.sampled_from(["@payez ", "@shop @payez ", "@payez: ", "", " @payez "]))
    text = head
    for part in parts:
        text += draw(SEPARATORS) + part
    return text


def _no_float(value: object) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(_no_float(v) for v in value.values())
    return True


def _check_invariants(command: Command) -> None:
    assert _no_float(command_to_json(command))
    if isinstance(command, SendCommand | BuyCommand) and command.amount is not None:
        assert type(command.amount.cents) is int
        assert command.amount.cents > 0
        assert command.amount.currency == "EUR"
    if isinstance(command, SendCommand):
        assert command.recipient == command.recipient.lower()
        assert not command.recipient.startswith("@")
        assert command.memo is None or (command.memo and command.memo == command.memo.strip())
    if isinstance(command, ParseError):
        assert command.code in commands.PARSE_ERROR_CODES


@settings(max_examples=300)
@given(CENTS, st.sampled_from(["envoie", "paie", "verse", "send", "pay", "give", "tip"]))
def test_amounts_formatted_the_french_way_parse_back(cents: int, verb: str) -> None:
    amount = Money.eur(cents).format("fr")
    for text in (f"@payez {verb} {amount} à @bob", f"@payez {verb} @bob {amount} merci"):
        command = parse(text, "payez")
        assert isinstance(command, SendCommand), (text, command)
        assert command.amount == Money.eur(cents)


@settings(max_examples=300)
@given(CENTS, st.sampled_from(["send", "pay", "envoie"]))
def test_amounts_formatted_the_english_way_parse_back(cents: int, verb: str) -> None:
    amount = Money.eur(cents).format("en")
    for text in (f"@payez {verb} {amount} to @bob", f"@payez {verb} @bob {amount} thanks"):
        command = parse(text, "payez")
        assert isinstance(command, SendCommand), (text, command)
        assert command.amount == Money.eur(cents)


@settings(max_examples=200)
@given(CENTS)
def test_plain_decimal_amounts_parse_back(cents: int) -> None:
    units, rest = divmod(cents, 100)
    for amount in (f"{units},{rest:02d}€", f"{units}.{rest:02d} EUR", f"€{units}.{rest:02d}"):
        command = parse(f"@payez envoie {amount} à @bob", "payez")
        assert isinstance(command, SendCommand), amount
        assert command.amount.cents == cents


@settings(max_examples=500)
@given(st.text())
@example("@payez envoie " + "1" * 5000 + " à @bob")
@example("@payez " + "@" * 3000)
@example("@payez envoie 5€ à @" + "a." * 2000)
def test_parse_never_raises_and_never_floats_on_any_text(text: str) -> None:
    for candidate in (text, "@payez " + text, "@payez envoie " + text, "@payez paie @bob " + text):
        command = parse(candidate, "payez")
        _check_invariants(command)
        assert parse(candidate, "payez") == command


@settings(max_examples=1000)
@given(near_commands())
@example("@payez paie @bob 5$")
@example("@shop @payez buy 20$")
@example("@payez envoie 5€ à @bob 10€")
@example("@payez paie @bob €5€")
def test_fast_paths_agree_with_the_reference_reading(text: str) -> None:
    command = parse(text, "payez")
    _check_invariants(command)
    assert command == commands._parse_precise(text, "payez")
    assert parse_many([text, text], "payez") == [command, command]


@settings(max_examples=200)
@given(st.lists(st.text(max_size=40), max_size=20))
def test_parse_many_is_parse_on_each_post(texts: list[str]) -> None:
    assert parse_many(texts, "payez") == [parse(text, "payez") for text in texts]


@given(st.text(max_size=30))
def test_a_post_not_starting_with_mentions_is_never_a_command(text: str) -> None:
    post = "x " + text
    assert parse(post, "payez") == NoCommand()
