"""The compiled reader (``domain/_command_reader.c``) reads a post exactly as the whole-command
expression does, or leaves it to the expression; it is built, and it is in use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from payez.domain import commands
from payez.domain.commands import BuyCommand, SendCommand, parse
from payez.domain.money import Money
from tests.unit.test_commands_properties import near_commands, people_commands

CORPUS = Path(__file__).resolve().parents[1] / "data" / "commands.jsonl"
SERVICES = ["payez", "@Payez", "payez@piaille.fr"]


def compiled_reading(text: str, service: str = "payez") -> commands._Reading | None:
    grammar = commands._grammar(service)
    return commands.COMPILED_READER(text, grammar.user, grammar.server, commands._OTHER_SYMBOLS)


def expression_reading(text: str, service: str = "payez") -> commands._Reading | None:
    return commands._read_with_expression(commands._grammar(service), text)


def agrees(text: str, service: str = "payez") -> bool:
    """The reader settles the post as the expression reads it, or leaves it to the expression."""
    reading = compiled_reading(text, service)
    assert reading is None or reading == expression_reading(text, service), (text, service)
    return reading is not None


def test_the_compiled_reader_is_built_and_reads_for_the_service() -> None:
    assert commands.COMPILED_READER is not commands._leaves_every_post_to_the_expression
    assert type(commands.COMPILED_READER).__name__ == "builtin_function_or_method"
    for service in SERVICES:
        assert commands._grammar(service).reader is commands.COMPILED_READER
    # A handle the reader cannot compare in ASCII is left to the expression.
    for service in ("pay.ez", "pay-ez", "payéz", "payez@exämple.fr"):
        assert commands._grammar(service).reader is commands._leaves_every_post_to_the_expression


# Commands as people write them: the reader settles every one, so that reading them is fast.
USUAL = [
    "@payez envoie 12,50\u00a0€ à @alice merci !",
    "@payez envoie 12,50 € à @alice",
    "@payez envoie 5 € à @bob ",
    "@Payez Envoie 5€ à @Bob_92 le kebab",
    "@payez paie @bob 12,50\u00a0€ pour hier",
    "@payez paie @mat@piaille.fr 20 €",
    "@payez send €12.50 to @eve.bsky.social for lunch",
    "@payez pay @bob €12.50",
    "@payez: donne 12 euros à @RestosDuCoeur",
    "@payez #envoyer 12EUR @alice",
    "@shop @payez j'achète 12,50\u00a0€",
    "@shop @payez buy",
    "@shop @payez buy 20",
    "@payez aide",
    "@payez help",
    "@payez ?",
    "@payez envoie 12,50\u00a0€ à @alice et @carol",
    "@payez envoie 5 € à @alice, @carol",
    "@payez envoie 5$ à @alice",
    "@payez envoie $5 à @alice",
    "@payez paie @bob 12 dollars",
    "@payez envoie 5 € à @bob 10 €",
    "@payez envoie 0 € à @bob",
    "@payez envoie à @bob",
    "  @payez   envoie   5   €   à   @bob",
]


@pytest.mark.parametrize("text", USUAL)
def test_the_reader_settles_the_commands_people_usually_write(text: str) -> None:
    assert agrees(text), text
    assert agrees(text, "payez@piaille.fr")


# Where a character could fold to another, or the expression could backtrack to another reading,
# the reader leaves the post to the expression.
DOUBTFUL = [
    "@pay\u212aez envoie 5 € à @bob",  # the Kelvin sign is a k to the expression
    "@payez envoİe 5 € à @bob",
    "@payez envoie 5 € à @bİb",
    "@payez envoie 5 € à @bob.",  # the expression ends the handle before the dot
    "@payez envoie 5 € à @bob@x_",
    "@payez envoie 5 € à @bobé",
    "@payez envoie 12,505 € à @bob",  # the number's end backtracks
    "@payez envoie 1 000 € à @bob",
    "@payez envoie 1234567890123 € à @bob",
    "@payez envoie-moi 5 €",
    "@payez envoie 5 € à @bob \u212a",
    "x @payez envoie 5 € à @bob",
    "@shop,@payez envoie 5 € à @bob",
]


@pytest.mark.parametrize("text", DOUBTFUL)
def test_the_reader_leaves_doubtful_posts_to_the_expression(text: str) -> None:
    assert compiled_reading(text) is None
    assert parse(text, "payez") == commands._parse_precise(text, "payez")


def test_the_reader_agrees_on_every_example_of_the_corpus() -> None:
    texts = [json.loads(line)["text"] for line in CORPUS.read_text("utf-8").splitlines() if line]
    settled = [text for text in texts if agrees(text)]
    assert len(settled) >= len(texts) // 3, settled


@settings(max_examples=3000)
@given(people_commands(), st.sampled_from(SERVICES))
def test_the_reader_agrees_with_the_expression_on_commands_people_write(
    text: str, service: str
) -> None:
    agrees(text, service)


@settings(max_examples=2000)
@given(near_commands())
def test_the_reader_agrees_with_the_expression_on_near_commands(text: str) -> None:
    agrees(text)


@settings(max_examples=1000)
@given(st.text())
@example("1" * 5000 + " à @bob")
@example("@" * 3000)
@example("5€ à @" + "a." * 2000)
@example("5 € à @bob" + " merci" * 2000)
@example("\U0001f355 5 € à @bob \U0001f355")
def test_the_reader_agrees_with_the_expression_on_any_text(text: str) -> None:
    for candidate in (
        text,
        "@payez " + text,
        "@payez envoie " + text,
        "@payez paie @bob " + text,
        "@payez envoie 5 € à @bob" + text,
    ):
        agrees(candidate)
        agrees(candidate, "payez@piaille.fr")


def test_the_reader_refuses_anything_but_four_strings() -> None:
    with pytest.raises(TypeError):
        commands.COMPILED_READER(b"@payez aide", "payez", "", "$")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        commands.COMPILED_READER("@payez aide", "payez", "")  # type: ignore[call-arg]


def test_commands_built_for_each_post_are_frozen_values() -> None:
    send = SendCommand(Money.eur(500), "bob", "merci", "fr")
    same = SendCommand(amount=Money.eur(500), recipient="bob", memo="merci", language="fr")
    assert send == same and hash(send) == hash(same)
    assert send != SendCommand(Money.eur(500), "bob", None, "fr")
    assert repr(send) == (
        "SendCommand(amount=Money(cents=500, currency='EUR'), recipient='bob', memo='merci',"
        " language='fr')"
    )
    buy = BuyCommand(None, "en")
    assert buy == BuyCommand(amount=None, language="en") and buy.amount is None
    for command, field in ((send, "memo"), (buy, "amount")):
        with pytest.raises(AttributeError):
            setattr(command, field, "changed")
