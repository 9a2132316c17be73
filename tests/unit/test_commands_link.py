"""``lier CODE`` / ``link CODE``: the command that links the posting account to a Payez account."""

from __future__ import annotations

import pytest

from payez.domain.commands import (
    LINK_CODE_ALPHABET,
    LINK_CODE_INVALID,
    LINK_CODE_LENGTH,
    LinkCommand,
    ParseError,
    command_to_json,
    parse,
    parse_many,
)


@pytest.mark.parametrize(
    ("text", "code", "language"),
    [
        ("@payez lier K7MQ4XR2", "K7MQ4XR2", "fr"),
        ("@payez link K7MQ4XR2", "K7MQ4XR2", "en"),
        ("@payez LIER k7mq4xr2", "K7MQ4XR2", "fr"),
        ("@Payez Link k7MQ4xr2", "K7MQ4XR2", "en"),
        ("@payez: lier K7MQ4XR2", "K7MQ4XR2", "fr"),
        ("@payez lier : K7MQ4XR2", "K7MQ4XR2", "fr"),
        ("@shop @payez lier K7MQ4XR2", "K7MQ4XR2", "fr"),
        ("@payez lier\u00a0K7MQ4XR2", "K7MQ4XR2", "fr"),
        ("@payez lier K7MQ4XR2 merci !", "K7MQ4XR2", "fr"),
        ("@payez link K7MQ4XR2. Thanks", "K7MQ4XR2", "en"),
        ("@payez lier K7MQ4XR2 #payez", "K7MQ4XR2", "fr"),
        ("@payez\nlier\nK7MQ4XR2\n", "K7MQ4XR2", "fr"),
    ],
)
def test_the_code_is_read_in_either_language_and_any_case(
    text: str, code: str, language: str
) -> None:
    assert parse(text, "payez") == LinkCommand(code, language)  # type: ignore[arg-type]
    assert command_to_json(parse(text, "payez")) == {"kind": "link", "code": code}


def test_the_fediverse_handle_reads_the_same() -> None:
    assert parse("@payez@piaille.fr lier K7MQ4XR2", "payez@piaille.fr") == LinkCommand(
        "K7MQ4XR2", "fr"
    )


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("@payez lier", "fr"),
        ("@payez link", "en"),
        ("@payez lier K7MQ4XR", "fr"),  # seven characters
        ("@payez lier K7MQ4XR2A", "fr"),  # nine
        ("@payez lier K7MQ4XR0", "fr"),  # 0 is not in the alphabet (nor O, 1, I, L)
        ("@payez link K7MQ4XRO", "en"),
        ("@payez link K7MQ4XR1", "en"),
        ("@payez lier K7MQ-4XR2", "fr"),
        ("@payez lier K7MQ_4XR2", "fr"),
        ("@payez lier K7MQ4XRé", "fr"),
        ("@payez lier @bob", "fr"),
        ("@payez lier K7MQ4XR2@bob", "fr"),
        ("@payez link 10€", "en"),
    ],
)
def test_a_missing_or_malformed_code_is_an_error_in_the_verb_language(
    text: str, language: str
) -> None:
    assert parse(text, "payez") == ParseError(LINK_CODE_INVALID, language)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "lier K7MQ4XR2",
        "@alice lier K7MQ4XR2",
        "Je vais @payez lier K7MQ4XR2",
        "@payez lier-moi K7MQ4XR2",
        "@payez liez K7MQ4XR2",
        "@payezfan link K7MQ4XR2",
    ],
)
def test_not_a_link_command(text: str) -> None:
    assert command_to_json(parse(text, "payez")) == {"kind": "none"}


def test_the_alphabet_is_unambiguous_and_a_code_is_short() -> None:
    assert LINK_CODE_LENGTH == 8
    assert not set("01ILO") & set(LINK_CODE_ALPHABET)
    assert len(set(LINK_CODE_ALPHABET)) == len(LINK_CODE_ALPHABET) == 31


def test_parse_many_reads_links_as_parse_does() -> None:
    texts = ["@payez lier K7MQ4XR2", "@payez link nope", "@payez aide"]
    assert parse_many(texts, "payez") == [parse(t, "payez") for t in texts]
