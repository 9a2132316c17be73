"""A command stored with its post reads back as the very command parsed, and only when it was
read by the grammar in force."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payez.domain.commands import (
    BuyCommand,
    Command,
    HelpCommand,
    LinkCommand,
    NoCommand,
    ParseError,
    SendCommand,
    parse,
)
from payez.domain.money import Money
from payez.domain.stored_commands import (
    GRAMMAR_VERSION,
    command_from_stored,
    command_to_stored,
    grammar_stamp,
    stored_command,
)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "commands.jsonl"
TEXTS = [
    json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines() if line
]

EVERY_KIND: list[Command] = [
    SendCommand(Money.eur(1250), "bob", "merci pour le café ☕ « ok »", "fr"),
    SendCommand(Money.eur(5), "bob@piaille.fr", None, "en"),
    SendCommand(Money.eur(700), "bob", 'a "quoted"\\ memo\twith\u202fspaces\x01', "fr"),
    BuyCommand(None, "fr"),
    BuyCommand(Money.eur(990), "en"),
    HelpCommand("fr"),
    HelpCommand("en"),
    LinkCommand("ABCDEFGH", "fr"),
    ParseError("amount_missing", "en"),
    NoCommand(),
]


@pytest.mark.parametrize("command", EVERY_KIND, ids=repr)
def test_every_kind_reads_back_as_itself(command: Command) -> None:
    stored = command_to_stored(command)
    assert command_from_stored(stored) == command
    # JSON escapes control characters: the stored text never holds a NUL.
    assert "\x00" not in stored


def test_a_nul_is_escaped() -> None:
    command = SendCommand(Money.eur(100), "bob", "a\x00b", "fr")
    stored = command_to_stored(command)
    assert "\x00" not in stored
    assert command_from_stored(stored) == command


def test_the_stored_form_is_compact() -> None:
    command = SendCommand(Money.eur(1250), "bob", "merci", "fr")
    assert command_to_stored(command) == '["send","fr",1250,"EUR","bob","merci"]'


@pytest.mark.parametrize("text", TEXTS)
def test_every_corpus_example_reads_back_as_parsed(text: str) -> None:
    command = parse(text, "payez")
    assert command_from_stored(command_to_stored(command)) == command


@given(st.text(max_size=80))
def test_any_send_reads_back_as_parsed(tail: str) -> None:
    command = parse(f"@payez envoie 5€ à @bob {tail}", "payez")
    assert command_from_stored(command_to_stored(command)) == command


def test_taken_back_only_for_the_grammar_and_handle_it_was_read_with() -> None:
    command = SendCommand(Money.eur(500), "bob", None, "fr")
    stored = command_to_stored(command)
    assert grammar_stamp("payez") == f"{GRAMMAR_VERSION}:payez"
    assert stored_command(stored, grammar_stamp("payez"), "payez") == command
    # Recorded before the parse was stored, or by a path that does not parse.
    assert stored_command(None, None, "payez") is None
    assert stored_command(stored, None, "payez") is None
    # Read by an older grammar, or for another service handle.
    assert stored_command(stored, f"{GRAMMAR_VERSION - 1}:payez", "payez") is None
    assert stored_command(stored, grammar_stamp("payez@piaille.fr"), "payez") is None


@pytest.mark.parametrize(
    "damaged", ["", "[", "{}", "[]", '["send","fr"]', '["what"]', '["send","xx",1,"EUR","b",null]']
)
def test_a_damaged_form_is_parsed_again(damaged: str) -> None:
    with pytest.raises(ValueError, match="not a stored command"):
        command_from_stored(damaged)
    assert stored_command(damaged, grammar_stamp("payez"), "payez") is None


def test_a_malformed_amount_is_parsed_again() -> None:
    damaged = '["send","fr",12.5,"EUR","bob",null]'
    assert stored_command(damaged, grammar_stamp("payez"), "payez") is None


# What the grammar of GRAMMAR_VERSION reads from the posts below, as a digest. Stored parses
# are trusted while the version is unchanged, so a change to what ``parse`` returns must raise
# the version: this test fails until it does (and the digest is recorded for the new version).
GRAMMAR_DIGESTS: dict[int, str] = {
    1: "13d1231bcc404a5ea218ff3263dd87286fc185203e4446578e2851c6a84fb7db",
}


def _posts_read_by_the_grammar() -> list[str]:
    rng = random.Random(2014)
    amounts = ("12,50 €", "12.50€", "€12", "12 euros", "0 €", "-5 €", "1 000 €", "251 €", "5$")
    forms = (
        "@payez envoie {a} à @{w} {m}",
        "@payez paie @{w} {a} {m}",
        "@payez send {a} to @{w} and @carol",
        "@payez: donne {a} @{w}",
        "@shop @payez j'achète {a}",
        "@shop @payez buy",
        "@payez aide",
        "@payez ?",
        "@{w} envoie {a} à @payez",
        "@payez lier ABCD-1234",
    )
    memos = ("", "merci !", "#payez le kebab", "for lunch € @x", "\u202egpj.exe")
    posts = list(TEXTS)
    for _ in range(3_000):
        post = rng.choice(forms).format(
            a=rng.choice(amounts),
            w=rng.choice(("alice", "Bob_92", "mat@piaille.fr")),
            m=rng.choice(memos),
        )
        posts.append(post.upper() if rng.random() < 0.1 else post)
    return posts


def test_what_the_grammar_reads_is_the_version_stored_parses_carry() -> None:
    read = "\n".join(
        command_to_stored(parse(post, "payez")) for post in _posts_read_by_the_grammar()
    )
    digest = hashlib.sha256(read.encode()).hexdigest()
    assert GRAMMAR_DIGESTS.get(GRAMMAR_VERSION) == digest, (
        "parse reads some posts otherwise than the grammar stored parses carry: raise "
        f"GRAMMAR_VERSION and record {digest} for it"
    )
