"""Table tests: one or more rows for every rule of the command language (docs/commands.md)."""

from __future__ import annotations

import pytest

from payez.domain.commands import (
    BuyCommand,
    HelpCommand,
    NoCommand,
    ParseError,
    SendCommand,
    command_to_json,
    is_addressed_to_service,
    parse,
    parse_many,
)
from payez.domain.money import Money

NONE = {"kind": "none"}
HELP = {"kind": "help"}


def send(cents: int, recipient: str, memo: str | None = None) -> dict[str, object]:
    return {
        "kind": "send",
        "amount_cents": cents,
        "currency": "EUR",
        "recipient": recipient,
        "memo": memo,
    }


def error(code: str) -> dict[str, object]:
    return {"kind": "error", "code": code}


def buy(cents: int | None) -> dict[str, object]:
    return {
        "kind": "buy",
        "amount_cents": cents,
        "currency": None if cents is None else "EUR",
    }


def check(text: str, expected: dict[str, object], service: str = "payez") -> None:
    assert command_to_json(parse(text, service)) == expected, text


# --- When a post is a command -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@shop @payez envoie 5€ à @bob", send(500, "bob")),
        ("@a @b @c @payez envoie 5€ à @bob", send(500, "bob")),
        ("@shop, @payez envoie 5€ à @bob", send(500, "bob")),
        ("@alice.bsky.social @payez send 5 to @bob", send(500, "bob")),
        ("@alice@mastodon.social @payez send 5 to @bob", send(500, "bob")),
        ("  @payez envoie 5€ à @bob", send(500, "bob")),
        ("\u00a0\u200b@payez envoie 5€ à @bob", send(500, "bob")),
        ("\n@payez envoie 5€ à @bob", send(500, "bob")),
        ("＠payez envoie 5€ à @bob", send(500, "bob")),
        ("Hey @payez envoie 5€ à @bob", NONE),
        ("@shop merci @payez envoie 5€ à @bob", NONE),
        ("RT @payez: envoie 5€ à @bob", NONE),
        ("@payezfan envoie 5€ à @bob", NONE),
        ("@payez_bis envoie 5€ à @bob", NONE),
        ("@payez.bsky.social envoie 5€ à @bob", NONE),
        ("@payez@other.server envoie 5€ à @bob", NONE),
        ("mail@payez envoie 5€ à @bob", NONE),
        ("@payez", NONE),
        ("@payez ", NONE),
        ("@payez !", NONE),
        ("@payez 5€ à @bob", NONE),
        ("@payez envoies 5€ à @bob", NONE),
        ("@payez envoie-moi 5€", NONE),
        ("@payez @bob envoie 5€ à @alice", NONE),
        ("@payez bonjour envoie 5€ à @bob", NONE),
    ],
)
def test_leading_mentions_and_text_before_the_service(
    text: str, expected: dict[str, object]
) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    "text",
    [
        "@payez: envoie 5€ à @bob",
        "@payez : envoie 5€ à @bob",
        "@payez, envoie 5€ à @bob",
        "@payez ,envoie 5€ à @bob",
        "@payez:envoie 5€ à @bob",
        "@payez\u202f: envoie 5€ à @bob",
    ],
)
def test_colon_or_comma_after_the_service(text: str) -> None:
    check(text, send(500, "bob"))


@pytest.mark.parametrize(
    ("service", "text", "expected"),
    [
        ("TweetezPayez", "@TweetezPayez envoie 5€ à @bob", send(500, "bob")),
        ("@TweetezPayez", "@tweetezpayez ENVOIE 5€ À @BOB", send(500, "bob")),
        ("TweetezPayez", "@payez envoie 5€ à @bob", NONE),
        ("payez@piaille.fr", "@payez envoie 5€ à @bob", send(500, "bob")),
        ("payez@piaille.fr", "@payez@piaille.fr envoie 5€ à @bob", send(500, "bob")),
        ("payez@piaille.fr", "@payez@PIAILLE.fr envoie 5€ à @bob", send(500, "bob")),
        ("payez@piaille.fr", "@payez@other.fr envoie 5€ à @bob", NONE),
        ("payez.bsky.social", "@payez.bsky.social send 5 to @bob", send(500, "bob")),
        ("payez.bsky.social", "@payez send 5 to @bob", NONE),
        ("", "@payez envoie 5€ à @bob", NONE),
    ],
)
def test_the_service_handle_is_configured(
    service: str, text: str, expected: dict[str, object]
) -> None:
    check(text, expected, service)


# --- Verbs ------------------------------------------------------------------------------------

FRENCH_SEND = ("envoie", "envoyer", "paie", "paye", "payer", "donne", "donner", "verse", "verser")
ENGLISH_SEND = ("send", "pay", "give", "tip")


@pytest.mark.parametrize("verb", [*FRENCH_SEND, "#envoyer"])
def test_french_send_verbs(verb: str) -> None:
    command = parse(f"@payez {verb} 5€ à @bob", "payez")
    assert command == SendCommand(Money.eur(500), "bob", None, "fr")
    assert parse(f"@payez {verb.upper()} 5€ à @bob", "payez") == command


@pytest.mark.parametrize("verb", ENGLISH_SEND)
def test_english_send_verbs(verb: str) -> None:
    command = parse(f"@payez {verb} €5 to @bob", "payez")
    assert command == SendCommand(Money.eur(500), "bob", None, "en")
    assert parse(f"@payez {verb.title()} €5 to @bob", "payez") == command


@pytest.mark.parametrize(
    ("verb", "language"),
    [
        ("j'achète", "fr"),
        ("j’achète", "fr"),
        ("j‘achète", "fr"),
        ("jʼachète", "fr"),
        ("j'achete", "fr"),
        ("J'ACHÈTE", "fr"),
        ("J'ACHETE", "fr"),
        ("jachete", "fr"),
        ("jachète", "fr"),
        ("achète", "fr"),
        ("achete", "fr"),
        ("acheter", "fr"),
        ("ache\u0300te", "fr"),
        ("buy", "en"),
        ("BUY", "en"),
    ],
)
def test_buy_verbs_with_and_without_amount(verb: str, language: str) -> None:
    assert parse(f"@shop @payez {verb}", "payez") == BuyCommand(None, language)  # type: ignore[arg-type]
    assert parse(f"@shop @payez {verb} 20€", "payez") == BuyCommand(
        Money.eur(2000),
        language,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@shop @payez j'achète", buy(None)),
        ("@shop @payez j'achète merci !", buy(None)),
        ("@shop @payez j'achète 20€", buy(2000)),
        ("@shop @payez j'achète 20", buy(2000)),
        ("@shop @payez j'achète 19,99 €", buy(1999)),
        ("@shop @payez buy €19.99", buy(1999)),
        ("@shop @payez buy 20 EUR please", buy(2000)),
        ("@shop @payez j'achète 0€", error("amount_invalid")),
        ("@shop @payez buy $20", error("currency_unsupported")),
        ("@shop @payez buy 20€ 30€", error("amounts_multiple")),
        ("@shop @payez buy 20kg", error("amount_invalid")),
    ],
)
def test_buy_forms(text: str, expected: dict[str, object]) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("@payez aide", "fr"),
        ("@payez AIDE", "fr"),
        ("@payez aide moi stp", "fr"),
        ("@payez help", "en"),
        ("@payez Help me", "en"),
        ("@payez ?", "fr"),
        ("@payez?", "fr"),
        ("@payez ??", "fr"),
        ("@shop @payez help", "en"),
    ],
)
def test_help_forms(text: str, language: str) -> None:
    assert parse(text, "payez") == HelpCommand(language)  # type: ignore[arg-type]


def test_unknown_words_are_not_commands() -> None:
    for word in ("bonjour", "merci", "sends", "aidez", "helpful", "achat", "#payez"):
        assert parse(f"@payez {word} 5€ à @bob", "payez") == NoCommand(), word


def test_diacritics_are_ignored_on_verbs() -> None:
    # Written with accents the verb does not have, or without those it has: still the verb.
    assert parse("@payez envoié 5€ à @bob", "payez") == SendCommand(
        Money.eur(500), "bob", None, "fr"
    )
    assert parse("@payez pâye 5€ à @bob", "payez") == SendCommand(Money.eur(500), "bob", None, "fr")


# --- Send forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@payez envoie 5€ à @bob", send(500, "bob")),
        ("@payez envoie 5€ a @bob", send(500, "bob")),
        ("@payez envoie 5€ À @bob", send(500, "bob")),
        ("@payez envoie 5€ A @bob", send(500, "bob")),
        ("@payez envoie 5€ a\u0300 @bob", send(500, "bob")),
        ("@payez envoie 5€ pour @bob", send(500, "bob")),
        ("@payez envoie 5€ POUR @bob", send(500, "bob")),
        ("@payez send 5€ to @bob", send(500, "bob")),
        ("@payez send 5€ TO @bob", send(500, "bob")),
        ("@payez envoie 5€ @bob", send(500, "bob")),
        ("@payez send 5€ à @bob", send(500, "bob")),
        ("@payez envoie 5€ to @bob", send(500, "bob")),
        ("@payez paie @bob 5€", send(500, "bob")),
        ("@payez paie @bob, 5€", send(500, "bob")),
        ("@payez paie @bob: 5€", send(500, "bob")),
        ("@payez pay @bob €5 lunch", send(500, "bob", "lunch")),
        ("@payez paie @bob 5 le kebab", send(500, "bob", "le kebab")),
        ("@payez #envoyer 10EUR @ami", send(1000, "ami")),
        ("@payez #ENVOYER 10eur @Ami merci", send(1000, "ami", "merci")),
        ("@payez #envoyer 10 EUR @ami", send(1000, "ami")),
        ("@payez #envoyer 10€ à @ami", send(1000, "ami")),
    ],
)
def test_both_send_forms_and_optional_prepositions(text: str, expected: dict[str, object]) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@payez envoie", error("amount_missing")),
        ("@payez envoie @bob", error("amount_missing")),
        ("@payez paie @bob le kebab", error("amount_missing")),
        ("@payez envoie à @bob 5€", error("amount_missing")),
        ("@payez envoie des sous à @bob", error("amount_missing")),
        ("@payez send money to @bob", error("amount_missing")),
        ("@payez envoie 5€ à", error("recipient_missing")),
        ("@payez envoie 5€ à bob", error("recipient_missing")),
        ("@payez envoie 5€ à bob@example.com", error("recipient_missing")),
        ("@payez envoie 5€ merci", error("recipient_missing")),
    ],
)
def test_missing_amount_or_recipient(text: str, expected: dict[str, object]) -> None:
    check(text, expected)


# --- Amounts ----------------------------------------------------------------------------------

NBSP, NNBSP, THIN = "\u00a0", "\u202f", "\u2009"


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("5", 500),
        ("5,5", 550),
        ("5.5", 550),
        ("12,50", 1250),
        ("12.05", 1205),
        ("0,01", 1),
        ("0.5", 50),
        ("007", 700),
        ("250", 25_000),
        ("999999999999", 99_999_999_999_900),
        ("5€", 500),
        ("5 €", 500),
        (f"5{NBSP}€", 500),
        (f"5{NNBSP}€", 500),
        (f"5{THIN}€", 500),
        ("€5", 500),
        ("€ 5", 500),
        ("5EUR", 500),
        ("5 EUR", 500),
        ("5eur", 500),
        ("EUR5", 500),
        ("EUR 5", 500),
        ("5 euro", 500),
        ("5 euros", 500),
        ("5euros", 500),
        ("5 Euros", 500),
        ("euros 5", 500),
        ("euro 5", 500),
        ("1 234,56", 123_456),
        (f"1{NNBSP}234,56{NBSP}€", 123_456),
        (f"1{NBSP}000 €", 100_000),
        ("€1,234.56", 123_456),
        ("1.234,56 €", 123_456),
        ("1,000,000.00", 100_000_000),
    ],
)
def test_amount_forms(amount: str, cents: int) -> None:
    check(f"@payez envoie {amount} à @bob", send(cents, "bob"))
    check(f"@payez pay @bob {amount}", send(cents, "bob"))


@pytest.mark.parametrize(
    "amount",
    [
        "0",
        "0€",
        "0,00 €",
        "-5",
        "-5€",
        "−5€",
        "€-5",
        "- 5€",
        "+5€",
        "5,555",
        "1.000",
        "1,000",
        "5,5,5",
        "1.2.3",
        "5.123€",
        "€5€",
        "EUR 5 €",
        "5kg",
        "5e",
        "1,234",
        "1 234,567",
        "9999999999999",
        "1" * 5000,
    ],
)
def test_invalid_amounts(amount: str) -> None:
    check(f"@payez envoie {amount} à @bob", error("amount_invalid"))


@pytest.mark.parametrize(
    "amount",
    [
        "5$",
        "$5",
        "5 $",
        "5 USD",
        "USD 5",
        "5usd",
        "5 dollars",
        "5 dollar",
        "5£",
        "£5",
        "5 GBP",
        "5 CHF",
        "CHF 5",
        "5¥",
        "5 yens",
        "5 livres",
        "5 francs",
        "5₿",
        "5 BTC",
        "5 US$",
        "5$ ",
    ],
)
def test_other_currencies(amount: str) -> None:
    check(f"@payez envoie {amount} à @bob", error("currency_unsupported"))
    check(f"@payez paie @bob {amount}", error("currency_unsupported"))


@pytest.mark.parametrize(
    "text",
    [
        "@payez envoie 5€ 10€ à @bob",
        "@payez envoie 5 10 à @bob",
        "@payez envoie 5€ 10 à @bob",
        "@payez envoie 5€ à @bob 10€",
        "@payez envoie 5€ à @bob €10",
        "@payez paie @bob 5€ 10€",
        "@payez paie @bob 5 10 euros",
    ],
)
def test_two_amounts_in_the_command_phrase(text: str) -> None:
    check(text, error("amounts_multiple"))


def test_a_bare_number_after_the_phrase_belongs_to_the_memo() -> None:
    check("@payez envoie 5€ à @bob 2 cafés", send(500, "bob", "2 cafés"))
    check("@payez paie @bob 5€ 2 cafés", send(500, "bob", "2 cafés"))


# --- Recipients -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipient", "normalised"),
    [
        ("@bob", "bob"),
        ("@Bob_92", "bob_92"),
        ("@ALICE", "alice"),
        ("@alice@mastodon.social", "alice@mastodon.social"),
        ("@Alice@Mastodon.Social", "alice@mastodon.social"),
        ("@alice.bsky.social", "alice.bsky.social"),
        ("@alice-b.bsky.social", "alice-b.bsky.social"),
        ("@alice.", "alice"),
        ("＠bob", "bob"),
    ],
)
def test_recipient_handles(recipient: str, normalised: str) -> None:
    check(f"@payez envoie 5€ à {recipient}", send(500, normalised))


@pytest.mark.parametrize(
    "text",
    [
        "@payez envoie 5€ à @bob et @carol",
        "@payez envoie 5€ à @bob ET @carol",
        "@payez send 5€ to @bob and @carol",
        "@payez envoie 5€ à @bob & @carol",
        "@payez envoie 5€ à @bob, @carol",
        "@payez envoie 5€ à @bob,@carol",
        "@payez envoie 5€ à @bob et à @carol",
        "@payez envoie 5€ à @bob @carol",
        "@payez envoie 5€ à @bob ou @carol",
        "@payez paie @bob et @carol 5€",
        "@payez paie @bob, @carol 5€",
        "@payez envoie 5€ à @bob, @carol et @dave",
    ],
)
def test_several_recipients(text: str) -> None:
    check(text, error("recipients_multiple"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "@payez envoie 5€ à @bob merci pour le resto avec @carol",
            send(500, "bob", "merci pour le resto avec @carol"),
        ),
        ("@payez paie @bob 5€ et @carol aussi", send(500, "bob", "et @carol aussi")),
        ("@payez send 5€ to @bob for @carol's gift", send(500, "bob", "for @carol's gift")),
    ],
)
def test_later_mentions_belong_to_the_memo(text: str, expected: dict[str, object]) -> None:
    check(text, expected)


@pytest.mark.parametrize(
    ("service", "text"),
    [
        ("payez", "@payez envoie 5€ à @payez"),
        ("payez", "@payez envoie 5€ à @PAYEZ"),
        ("payez", "@payez paie @payez 5€"),
        ("TweetezPayez", "@TweetezPayez send 5 to @tweetezpayez"),
        ("payez@piaille.fr", "@payez envoie 5€ à @payez"),
        ("payez@piaille.fr", "@payez envoie 5€ à @payez@piaille.fr"),
    ],
)
def test_the_service_as_recipient(service: str, text: str) -> None:
    check(text, error("recipient_is_service"), service)


def test_a_namesake_on_another_server_is_not_the_service() -> None:
    check("@payez envoie 5€ à @payez@other.fr", send(500, "payez@other.fr"))


# --- Memo -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "memo"),
    [
        ("@payez envoie 5€ à @bob", None),
        ("@payez envoie 5€ à @bob   ", None),
        ("@payez envoie 5€ à @bob merci !", "merci !"),
        ("@payez envoie 5€ à @bob  merci\n\npour\u00a0tout\u202f!", "merci pour tout !"),
        ("@payez envoie 5€ à @bob merci\u200bbeaucoup", "merci beaucoup"),
        ("@payez envoie 5€ à @bob #TweetezPayez", None),
        ("@payez envoie 5€ à @bob #payez", None),
        ("@payez envoie 5€ à @bob #PAYEZ merci", "merci"),
        ("@payez envoie 5€ à @bob merci #payez !", "merci !"),
        ("@payez envoie 5€ à @bob #payezmoi", "#payezmoi"),
        ("@payez envoie 5€ à @bob #resto", "#resto"),
        ("@payez envoie 5€ à @bob, merci", "merci"),
        ("@payez envoie 5€ à @bob : le ciné", "le ciné"),
        ("@payez envoie 5€ à @bob - le ciné", "le ciné"),
        ("@payez envoie 5€ à @bob.", None),
        ("@payez envoie 5€ à @bob Merci Pour Le Ciné", "Merci Pour Le Ciné"),
        ("@payez envoie 5€ à @bob 🍕🍺", "🍕🍺"),
        ("@payez envoie 5€ à @bob facture \u202egpj.exe", "facture gpj.exe"),
        ("@payez envoie 5€ à @bob \u2067merci\u2069 \u202a!\u202c", "merci !"),
        ("@payez envoie 5€ à @bob \u202e", None),
        ("@payez envoie 5€ à @bob \u200fشكرا", "\u200fشكرا"),
    ],
)
def test_memo(text: str, memo: str | None) -> None:
    command = parse(text, "payez")
    assert isinstance(command, SendCommand), text
    assert command.memo == memo


def test_memo_drops_the_configured_service_hashtag() -> None:
    command = parse("@Caisse envoie 5€ à @bob #caisse merci", "Caisse")
    assert command == SendCommand(Money.eur(500), "bob", "merci", "fr")


# --- Spaces, case and apostrophes -------------------------------------------------------------

UNICODE_SPACES = [
    "\u0020",
    "\u00a0",
    "\u1680",
    *(chr(cp) for cp in range(0x2000, 0x200B)),
    "\u202f",
    "\u205f",
    "\u3000",
    "\t",
    "\n",
    "\u200b",
]


@pytest.mark.parametrize("space", UNICODE_SPACES, ids=[f"U+{ord(s):04X}" for s in UNICODE_SPACES])
def test_every_unicode_space_is_a_space(space: str) -> None:
    text = space.join(["@payez", "envoie", "12,50", "€", "à", "@bob", "merci", "!"])
    check(text, send(1250, "bob", "merci !"))
    text = space.join(["@payez", "pay", "@bob", "€12.50"])
    check(text, send(1250, "bob"))


def test_case_is_ignored_everywhere_but_the_memo() -> None:
    check("@PAYEZ ENVOIE 12,50 EUROS À @BOB MERCI", send(1250, "bob", "MERCI"))
    check("@Payez Send 5 Euro To @Bob", send(500, "bob"))


def test_language_is_the_language_of_the_verb() -> None:
    assert parse("@payez send 5€ à @bob", "payez") == SendCommand(Money.eur(500), "bob", None, "en")
    assert parse("@payez envoie €5 to @bob", "payez") == SendCommand(
        Money.eur(500), "bob", None, "fr"
    )
    assert parse("@payez envoie 0€ à @bob", "payez") == ParseError("amount_invalid", "fr")
    assert parse("@payez send 0 to @bob", "payez") == ParseError("amount_invalid", "en")


# --- The API ----------------------------------------------------------------------------------


def test_json_shapes() -> None:
    assert command_to_json(NoCommand()) == {"kind": "none"}
    assert command_to_json(HelpCommand("en")) == {"kind": "help"}
    assert command_to_json(BuyCommand(None, "fr")) == buy(None)
    assert command_to_json(BuyCommand(Money.eur(2000), "fr")) == buy(2000)
    assert command_to_json(ParseError("amount_missing", "fr")) == error("amount_missing")
    assert command_to_json(SendCommand(Money.eur(1250), "alice", "merci !", "fr")) == send(
        1250, "alice", "merci !"
    )
    assert list(command_to_json(SendCommand(Money.eur(1), "a", None, "en"))) == [
        "kind",
        "amount_cents",
        "currency",
        "recipient",
        "memo",
    ]


def test_parse_many_matches_parse_and_the_filter_agrees() -> None:
    texts = [
        "",
        "bonjour",
        "@alice salut",
        "Merci @payez",
        "@payez bonjour",
        "@payez envoie 5€ à @bob",
        "@shop @payez j'achète",
        "@payez envoie 5$ à @bob",
    ]
    assert parse_many(texts, "payez") == [parse(text, "payez") for text in texts]
    assert [is_addressed_to_service(t, "payez") for t in texts] == [
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
    ]
