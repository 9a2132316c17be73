"""Properties of the parser: amounts round-trip, no exception, no float, determinism, and the
whole-command expression reads every post exactly as the reference reading does."""

from __future__ import annotations

import re
import sys

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


# Commands as people write them, and as they should not: every element in its usual forms and in
# forms that are one character away from being read differently.
PEOPLE_HEADS = [
    "@payez ",
    "@PAYEZ ",
    "@Payez: ",
    "@shop @payez ",
    "＠payez ",
    "@payez\u00a0",
    "@pay\u212aez ",
]
PEOPLE_VERBS = ["envoie", "Envoie", "paie", "send", "pay", "donne", "#envoyer", "j'achète", "buy"]
PEOPLE_VERBS += ["aide", "lier", "envoİe", "paıe", "ſend", "hello"]
PEOPLE_NUMBERS = [
    "12",
    "12,50",
    "12.50",
    "12,5",
    "0",
    "0,00",
    "1 000",
    "1\u202f000,00",
    "1.000",
    "12,505",
]
PEOPLE_NUMBERS += ["999999999999", "1234567890123", "١٢", "１２", "5,5,5", "12.", "49,99", "12 000"]
PEOPLE_BEFORE = ["", "", "€", "€ ", "EUR ", "$", "-", "−", "+", "us$"]
PEOPLE_AFTER = ["", "", " €", "€", "\u00a0€", " euros", "EUR", " Eur", " eurosx", " €uros", "$"]
PEOPLE_AFTER += [" dollars", " USD", " us$", "kg", " € €", "€5", " İnr", " \u212a", "_"]
PEOPLE_PREPOSITIONS = ["", "à ", "a ", "À ", "a\u0300 ", "pour ", "To ", "at "]
PEOPLE_RECIPIENTS = ["@bob", "@Bob_92", "@mat@piaille.fr", "@eve.bsky.social", "@payez", "@bob."]
PEOPLE_RECIPIENTS += [
    "@bob.x",
    "@bobé",
    "@bo\u212aa",
    "@bİb",
    "@ſam",
    "@ıi",
    "＠bob",
    "bob",
    "@bob@x_",
]
PEOPLE_AFTERWARDS = ["", " ", "  ", " merci !", " le kebab", " for lunch", " merci  beaucoup"]
PEOPLE_AFTERWARDS += [" merci #payez", " #resto", " 10€", " 2 cafés", " dollars", " usd", " euros"]
PEOPLE_AFTERWARDS += [" et voilà", " pour toi", " ,merci", " - merci", " café", " \u202egpj.exe"]
PEOPLE_AFTERWARDS += [
    " \u200bmerci",
    " et @carol",
    ", @carol",
    " & @carol",
    " ou à @carol",
    " @payez",
]
PEOPLE_AFTERWARDS += [
    " a$",
    " le 5",
    " \n merci",
    " İnr",
    " \u212a",
    " ſ",
    "!",
    " Dollars",
    "\u00a0ok",
]
SPACES = st.sampled_from([" ", " ", " ", "", "  ", "\u00a0", "\n", ": ", ", "])


@st.composite
def people_commands(draw: st.DrawFn) -> str:
    amount = (
        draw(st.sampled_from(PEOPLE_BEFORE))
        + draw(st.sampled_from(PEOPLE_NUMBERS))
        + draw(st.sampled_from(PEOPLE_AFTER))
    )
    recipient = draw(st.sampled_from(PEOPLE_RECIPIENTS))
    phrase = draw(
        st.sampled_from(
            [
                [amount, draw(st.sampled_from(PEOPLE_PREPOSITIONS)) + recipient],
                [recipient, amount],
                [amount],
                [recipient],
                [],
            ]
        )
    )
    text = draw(st.sampled_from(PEOPLE_HEADS)) + draw(st.sampled_from(PEOPLE_VERBS))
    for element in phrase:
        text += draw(SPACES) + element
    return text + draw(st.sampled_from(PEOPLE_AFTERWARDS))


@settings(max_examples=3000)
@given(people_commands(), st.sampled_from(["payez", "@Payez", "payez@piaille.fr"]))
@example("@payez envoie 12,50\u00a0€ à @alice", "payez")
@example("@payez paie @alice 12,50\u00a0€ merci !", "payez")
@example("@payez envoie 12,50\u00a0€ à @alice et @carol", "payez")
@example("@payez envoie 5$ à @alice", "payez")
@example("@shop @payez j'achète 12,50\u00a0€", "payez")
@example("@payez paie @bob 12 dollars", "payez")
@example("@payez paie @bob €12 euros", "payez")
@example("@payez envoie 12,50 000 € à @bob", "payez")
@example("@payez envoie 5 € à @a.\u212a", "payez")
@example("@payez #envoyer 0EUR @alice", "payez")
@example("@payez paie @bob 0 dollars", "payez")
@example("@payez paie @payez 0 €", "payez")
@example("@shop @payez buy 0 € et @bob", "payez")
def test_the_whole_command_expression_agrees_with_the_reference_reading(
    text: str, service: str
) -> None:
    command = parse(text, service)
    _check_invariants(command)
    assert command == commands._parse_precise(text, service)


def test_the_whole_command_expression_groups_are_in_the_order_parse_reads_them() -> None:
    groups = tuple(commands._grammar("payez").command.groupindex)
    assert groups == (
        "svc",
        "verb",
        "payee_first",
        "euro_first",
        "units",
        "frac",
        "payee",
        "word",
        "memo",
        "joined",
        "foreign",
        "no_amount",
    )


def test_folding_changes_no_character_class_the_whole_command_expression_relies_on() -> None:
    # The expression reads the post as written and the reference reading reads it folded: a
    # letter class as written must take exactly the characters that fold into it, and folding
    # must keep word characters, spaces, digits and currency symbols what they are.
    letter = re.compile(commands._LETTER)
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        folded = commands._fold(char)
        assert len(folded) == 1
        assert (letter.fullmatch(char) is not None) == ("a" <= folded <= "z"), hex(code_point)
        if folded != char:
            assert folded.isalnum() == char.isalnum() and not folded.isspace(), hex(code_point)
            assert not folded.isdigit() and folded not in commands._OTHER_SYMBOLS + "€"
            assert not ("\u0300" <= folded <= "\u036f"), hex(code_point)


def test_words_as_written_take_every_case_that_folds_to_them() -> None:
    euro = re.compile(rf"(?:{commands._any_of_as_written(['euros', 'euro', 'eur'])})\Z")
    for spelled in ("eur", "EUR", "Euro", "eUrOs", "EURO"):
        assert euro.match(spelled)
    assert re.fullmatch(commands._as_written("ik"), "\u0130\u212a")
    assert not re.fullmatch(commands._as_written("s"), "ſ")


@settings(max_examples=200)
@given(st.lists(st.text(max_size=40), max_size=20))
def test_parse_many_is_parse_on_each_post(texts: list[str]) -> None:
    assert parse_many(texts, "payez") == [parse(text, "payez") for text in texts]


@given(st.text(max_size=30))
def test_a_post_not_starting_with_mentions_is_never_a_command(text: str) -> None:
    post = "x " + text
    assert parse(post, "payez") == NoCommand()
