"""The payment command language: a public post addressed to the service account.

``parse(text, service_handle)`` turns a post into a :data:`Command`. It is pure, never raises on
any text, never uses a float (amounts are integer cents read from the digits) and is
deterministic. ``docs/commands.md`` is the reference of the language; the choices this module
makes where the language leaves room are listed there too.

Speed matters: the service reads every post that mentions it and most posts are not commands.
A single precompiled, anchored regex (the *header*) rejects a post unless it starts with mentions
including the service's, followed by a word. ``parse`` reads a command with one expression per
service: the header, then a well-formed command in euros to the end of the post. Whatever that
expression does not settle goes to the reference reading (``_parse_precise``), which folds the
post (case, diacritics, apostrophes, spaces) and reads it element by element with precompiled
regexes matched at known positions; both always agree. The expression itself is also compiled
in C (``_command_reader.c``) for the commands people usually write: that reader returns the
expression's groups or declines, and every decision is taken here, once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, cast

from payez.domain.errors import Language
from payez.domain.mentions import (
    AT_CLASS,
    HANDLE_END,
    HANDLE_PATTERN,
    SPACE_CLASS,
    normalise_handle,
)
from payez.domain.money import Money

__all__ = [
    "PARSE_ERROR_CODES",
    "BuyCommand",
    "Command",
    "HelpCommand",
    "Language",
    "LinkCommand",
    "NoCommand",
    "ParseError",
    "SendCommand",
    "command_to_json",
    "parse",
    "parse_many",
]


# Reading a command costs less than a frozen dataclass's generated __init__, which sets every
# field through object.__setattr__. The two commands built for each post set their slots
# through the slots' own descriptors instead: the same fields, the same immutability, for
# about half the price.


@dataclass(frozen=True, slots=True, init=False)
class SendCommand:
    amount: Money
    recipient: str
    memo: str | None
    language: Language

    def __init__(self, amount: Money, recipient: str, memo: str | None, language: Language) -> None:
        _set_send_amount(self, amount)
        _set_send_recipient(self, recipient)
        _set_send_memo(self, memo)
        _set_send_language(self, language)


@dataclass(frozen=True, slots=True, init=False)
class BuyCommand:
    amount: Money | None
    language: Language

    def __init__(self, amount: Money | None, language: Language) -> None:
        _set_buy_amount(self, amount)
        _set_buy_language(self, language)


_SlotSetter = Callable[[object, object], None]


def _slot_setter(cls: type, field: str) -> _SlotSetter:
    return cast(_SlotSetter, vars(cls)[field].__set__)


_set_send_amount: Final = _slot_setter(SendCommand, "amount")
_set_send_recipient: Final = _slot_setter(SendCommand, "recipient")
_set_send_memo: Final = _slot_setter(SendCommand, "memo")
_set_send_language: Final = _slot_setter(SendCommand, "language")
_set_buy_amount: Final = _slot_setter(BuyCommand, "amount")
_set_buy_language: Final = _slot_setter(BuyCommand, "language")


@dataclass(frozen=True, slots=True)
class HelpCommand:
    language: Language


@dataclass(frozen=True, slots=True)
class LinkCommand:
    """``lier CODE`` / ``link CODE``: link the posting account to the Payez account that made
    the code; ``code`` is upper case, of :data:`LINK_CODE_LENGTH` letters of
    :data:`LINK_CODE_ALPHABET`."""

    code: str
    language: Language


@dataclass(frozen=True, slots=True)
class NoCommand:
    """Not a command (``kind: none``): the service does not answer."""


@dataclass(frozen=True, slots=True)
class ParseError:
    """A command the service understood to be one, but could not read; ``code`` is one of
    :data:`PARSE_ERROR_CODES`."""

    code: str
    language: Language


Command = SendCommand | BuyCommand | HelpCommand | LinkCommand | NoCommand | ParseError

AMOUNT_MISSING: Final = "amount_missing"
AMOUNT_INVALID: Final = "amount_invalid"
AMOUNTS_MULTIPLE: Final = "amounts_multiple"
CURRENCY_UNSUPPORTED: Final = "currency_unsupported"
RECIPIENT_MISSING: Final = "recipient_missing"
RECIPIENTS_MULTIPLE: Final = "recipients_multiple"
RECIPIENT_IS_SERVICE: Final = "recipient_is_service"
LINK_CODE_INVALID: Final = "link_code_invalid"
PARSE_ERROR_CODES: Final = (
    AMOUNT_MISSING,
    AMOUNT_INVALID,
    AMOUNTS_MULTIPLE,
    CURRENCY_UNSUPPORTED,
    RECIPIENT_MISSING,
    RECIPIENTS_MULTIPLE,
    RECIPIENT_IS_SERVICE,
    LINK_CODE_INVALID,
)

_NONE: Final = NoCommand()
_HELP: Final[dict[Language, HelpCommand]] = {"fr": HelpCommand("fr"), "en": HelpCommand("en")}
_BUY_WITHOUT_AMOUNT: Final[dict[Language, BuyCommand]] = {
    "fr": BuyCommand(None, "fr"),
    "en": BuyCommand(None, "en"),
}
_ERRORS: Final[dict[tuple[str, Language], ParseError]] = {
    (code, language): ParseError(code, language)
    for code in PARSE_ERROR_CODES
    for language in ("fr", "en")
}

# Verbs, folded (lower case, no diacritics, straight apostrophe). ``?`` carries no language:
# it answers in French, the service's home language.
_VERBS: Final[dict[str, tuple[str, Language]]] = {
    **dict.fromkeys(
        (
            "envoie",
            "envoyer",
            "paie",
            "paye",
            "payer",
            "donne",
            "donner",
            "verse",
            "verser",
            "#envoyer",
        ),
        ("send", "fr"),
    ),
    **dict.fromkeys(("send", "pay", "give", "tip"), ("send", "en")),
    **dict.fromkeys(("j'achete", "jachete", "achete", "acheter"), ("buy", "fr")),
    "buy": ("buy", "en"),
    "aide": ("help", "fr"),
    "help": ("help", "en"),
    "lier": ("link", "fr"),
    "link": ("link", "en"),
    "?": ("help", "fr"),
}

_APOSTROPHES: Final = "'’‘ʼʻ´`′＇"
_WORD_FOLD: Final = {ord(char): "'" for char in _APOSTROPHES} | {0xFF03: "#"}


def _fold_word(word: str) -> str:
    """A verb as the table spells it: no diacritics, straight apostrophe, lower case."""
    decomposed = unicodedata.normalize("NFD", word.translate(_WORD_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


# The spellings people type most, so that the common case skips ``_fold_word``.
_VERBS.update(
    {
        spelled: _VERBS[_fold_word(spelled)]
        for spelled in ("j'achète", "j’achète", "j’achete", "jachète", "achète")
    }
)


def _fold(text: str) -> str:
    """Lower case, offset for offset with ``text`` (the memo and the handles are cut from the
    post itself). The only letter whose lower case is longer, ``İ``, is taken as ``i``."""
    if text.isascii():
        return text.lower()
    if "\u0130" in text:
        text = text.replace("\u0130", "i")
    return text.lower()


# --- Amounts (matched on lower-cased text) --------------------------------------------------

# Any Unicode space, plus the invisible ones people paste.
_S: Final = SPACE_CLASS
_EURO_MARKS: Final = frozenset({"€", "eur", "euro", "euros"})
_OTHER_SYMBOLS: Final = "".join(
    chr(cp) for cp in range(0x10000) if unicodedata.category(chr(cp)) == "Sc" and chr(cp) != "€"
)
_OTHER_CODES: Final = (
    "usd gbp chf jpy cad aud nzd cny rmb hkd sgd krw inr brl mxn zar sek nok dkk isk pln czk huf"
    " ron bgn rub uah ils aed sar mad tnd dzd xof xaf xpf btc eth usdt usdc"
)
_OTHER_WORDS: Final = (
    "dollar livre pound franc yen yuan peso rouble ruble roupie rupee dirham dinar bitcoin"
)
_OTHER_MARKS: Final = frozenset(
    {
        *_OTHER_SYMBOLS,
        *_OTHER_CODES.split(" "),
        *(word + plural for word in _OTHER_WORDS.split(" ") for plural in ("", "s")),
        "sterling",
        *(prefix + "$" for prefix in ("us", "ca", "au", "nz", "hk", "sg", "a", "c", "r")),
    }
)
_SIGN_CLASS: Final = r"\-+−–—‐‑"  # the inside of a character class
# A currency marker is looked up in a set rather than spelled in the regex: a long alternation
# of words is slow to fail, and most positions the parser tries are not amounts.
_MARK: Final = rf"[a-z]{{1,2}}\$|[a-z]{{1,9}}(?![a-z])|[€{re.escape(_OTHER_SYMBOLS)}]"
# Broad on purpose: whatever looks like a number is read, then judged; a number glued to a
# separator and more digits (``1.000``, ``5,5,5``) is one malformed amount, not two. A space
# groups thousands only before exactly three digits (``1 234,56``; ``5 10`` is two numbers).
_NUMBER: Final = rf"[0-9]+(?:(?:[.,]|{_S}(?=[0-9]{{3}}(?![0-9])))[0-9]+)*"
_AMOUNT: Final = re.compile(
    rf"{_S}*([{_SIGN_CLASS}]{_S}*)?(?:({_MARK}){_S}*)?([{_SIGN_CLASS}]{_S}*)?"
    rf"(?P<num>{_NUMBER})(?:{_S}*({_MARK}))?"
)
# A number is digits with an optional decimal part of one or two digits, or thousands grouped
# unambiguously: by spaces as in French, or by one separator when the other one ends the number
# as its decimal point (``1,234.56``, ``1.234,56``). ``1.000`` alone stays invalid.
_STRICT_NUMBER: Final = re.compile(
    rf"(?P<int>[0-9]+|[0-9]{{1,3}}(?:{_S}[0-9]{{3}})+|[0-9]{{1,3}}(?:,[0-9]{{3}})+(?=\.)"
    r"|[0-9]{1,3}(?:\.[0-9]{3})+(?=,))(?:[.,](?P<frac>[0-9]{1,2}))?"
)
# Integer cents must fit the ledger's 64-bit columns; twelve digits of euros is far beyond any
# limit and keeps pathological numbers out of int().
_MAX_UNIT_DIGITS: Final = 12
_NON_DIGITS: Final = re.compile(r"[^0-9]")
# Amounts repeat (5 €, 10 €): the value objects are immutable, so they are shared.
_MONEY_CACHE: dict[int, Money] = {}
_MONEY_CACHE_SIZE: Final = 4096


def _euros(cents: int) -> Money:
    money = _MONEY_CACHE.get(cents)
    if money is None:
        money = Money.eur(cents)
        if len(_MONEY_CACHE) < _MONEY_CACHE_SIZE:
            _MONEY_CACHE[cents] = money
    return money


def _cents(number: str) -> int | str:
    """Cents from a number the regex shaped (digits, ``.``/``,`` and spaces only)."""
    if number.isdigit():
        units, frac = number, ""
    else:
        # Most numbers are ``12,50``: split on the last separator before trying the grammar.
        cut = max(number.rfind("."), number.rfind(","))
        units, frac = number[:cut], number[cut + 1 :]
        if not (units.isdigit() and len(frac) <= 2):
            strict = _STRICT_NUMBER.fullmatch(number)
            if strict is None:
                return AMOUNT_INVALID
            units, frac = _NON_DIGITS.sub("", strict.group("int")), strict.group("frac") or ""
    if len(units) > _MAX_UNIT_DIGITS and len(units.lstrip("0")) > _MAX_UNIT_DIGITS:
        return AMOUNT_INVALID
    cents = int(units) * 100 + (int(frac) * (10 if len(frac) == 1 else 1) if frac else 0)
    return cents if cents > 0 else AMOUNT_INVALID


# (cents or error code, end offset, whether a currency marker was written)
_Amount = tuple[int | str, int, bool]


def _amount_at(folded: str, position: int) -> _Amount | None:
    """The amount written at ``position`` (after optional spaces), or None if there is none."""
    match = _AMOUNT.match(folded, position)
    if match is None:
        return None
    sign1, pre, sign2, number, post = match.groups()
    if pre is not None and pre not in _EURO_MARKS and pre not in _OTHER_MARKS:
        return None  # a word that is no currency: the text here is not an amount
    end = match.end()
    if post is not None and post not in _EURO_MARKS and post not in _OTHER_MARKS:
        post, end = None, match.end("num")  # the word after the number is not part of it
    marked = pre is not None or post is not None
    if (pre is not None and pre not in _EURO_MARKS) or (
        post is not None and post not in _EURO_MARKS
    ):
        return CURRENCY_UNSUPPORTED, end, marked
    if (pre is not None and post is not None) or sign1 is not None or sign2 is not None:
        return AMOUNT_INVALID, end, marked
    after = folded[end : end + 1]
    if after.isalnum() or after == "_":  # glued to a word: ``5kg``
        return AMOUNT_INVALID, end, marked
    return _cents(number), end, marked


# --- The rest of the command phrase (lower-cased text) --------------------------------------

# ``à`` is the one accented word of the phrase; it may come decomposed (``a`` + U+0300).
_PREP: Final = r"(?:[aàáâä][\u0300-\u036f]*|pour|to)"
_PREPOSITION: Final = re.compile(rf"{_S}*{_PREP}{_S}+")
_MENTION: Final = re.compile(rf"{_S}*{AT_CLASS}({HANDLE_PATTERN}){HANDLE_END}")
_AFTER_RECIPIENT: Final = re.compile(rf"{_S}*[,:]?")
_JOINED_RECIPIENT: Final = re.compile(
    rf"(?:{_S}*[,&+;/]{_S}*|{_S}+(?:(?:et|and|ou|or){_S}+)?)(?:{_PREP}{_S}+)?"
    rf"{AT_CLASS}{HANDLE_PATTERN}{HANDLE_END}"
)
# Spaces the memo collapses beside those ``str.split`` knows.
_INVISIBLE: Final = "\u200b\u2060\ufeff"
_INVISIBLE_SPACES: Final = re.compile(f"[{_INVISIBLE}]")
# Embedding, override and isolate controls make a memo read otherwise than it is written
# (``\u202e`` turns "gpj.exe" around): dropped, as they mean nothing once the memo is shown.
_BIDI: Final = "\u202a-\u202e\u2066-\u2069"
_BIDI_CONTROLS: Final = re.compile(f"[{_BIDI}]")
_MEMO_LEAD: Final = " ,;:.-–—"
# Hashtags every deployment removes from memos, beside the service's own.
_BRAND_HASHTAGS: Final = ("payez", "tweetezpayez")


def _memo(text: str, grammar: _Grammar) -> str | None:
    if "#" in text:
        text = grammar.hashtags.sub(" ", text)
    if not text.isascii():
        text = _BIDI_CONTROLS.sub("", _INVISIBLE_SPACES.sub(" ", text))
    return " ".join(text.split()).lstrip(_MEMO_LEAD) or None


def _recipient(
    text: str, folded: str, position: int, grammar: _Grammar
) -> tuple[str | None, int, str | None]:
    """``(recipient, end, error code)``; ``recipient`` is None when no mention is there."""
    mention = _MENTION.match(folded, position)
    if mention is None:
        return None, position, None
    recipient = text[mention.start(1) : mention.end(1)].lower()
    if recipient in grammar.service_forms:
        return recipient, mention.end(), RECIPIENT_IS_SERVICE
    if _JOINED_RECIPIENT.match(folded, mention.end()) is not None:
        return recipient, mention.end(), RECIPIENTS_MULTIPLE
    return recipient, mention.end(), None


def _second_amount(folded: str, position: int) -> bool:
    """A marked amount right after the phrase (``… @bob 10€``) is a second amount; a bare
    number there may begin the memo (``… @bob 2 cafés``)."""
    later = _amount_at(folded, position)
    return later is not None and later[2]


def _send_precise(text: str, folded: str, grammar: _Grammar, language: Language) -> Command:
    """The reference reading of a send phrase, one element after the other; the first problem
    met, reading left to right, is the one reported."""
    amount = _amount_at(folded, 0)
    if amount is not None:
        # VERB AMOUNT [PREP] @recipient [memo]
        cents, position, _marked = amount
        if isinstance(cents, str):
            return ParseError(cents, language)
        if _amount_at(folded, position) is not None:
            return ParseError(AMOUNTS_MULTIPLE, language)
        preposition = _PREPOSITION.match(folded, position)
        if preposition is not None:
            position = preposition.end()
        recipient, position, error = _recipient(text, folded, position, grammar)
        if recipient is None:
            return ParseError(RECIPIENT_MISSING, language)
        if error is not None:
            return ParseError(error, language)
        if _second_amount(folded, position):
            return ParseError(AMOUNTS_MULTIPLE, language)
        return SendCommand(_euros(cents), recipient, _memo(text[position:], grammar), language)

    # VERB @recipient AMOUNT [memo]; anything else lacks the amount where it belongs.
    recipient, position, error = _recipient(text, folded, 0, grammar)
    if recipient is None:
        return ParseError(AMOUNT_MISSING, language)
    if error is not None:
        return ParseError(error, language)
    after = _AFTER_RECIPIENT.match(folded, position)
    amount = _amount_at(folded, after.end() if after is not None else position)
    if amount is None:
        return ParseError(AMOUNT_MISSING, language)
    cents, position, _marked = amount
    if isinstance(cents, str):
        return ParseError(cents, language)
    if _second_amount(folded, position):
        return ParseError(AMOUNTS_MULTIPLE, language)
    return SendCommand(_euros(cents), recipient, _memo(text[position:], grammar), language)


def _buy_precise(folded: str, language: Language) -> Command:
    amount = _amount_at(folded, 0)
    if amount is None:
        return _BUY_WITHOUT_AMOUNT[language]
    cents, position, _marked = amount
    if isinstance(cents, str):
        return ParseError(cents, language)
    if _second_amount(folded, position):
        return ParseError(AMOUNTS_MULTIPLE, language)
    return BuyCommand(_euros(cents), language)


# --- Link codes ----------------------------------------------------------------------------

# Letters and digits nobody misreads: no 0/O, 1/I/L. Eight of them are about 40 bits, typed
# in a few seconds; a code lives half an hour and serves once.
LINK_CODE_ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LINK_CODE_LENGTH: Final = 8
_LINK_CODE: Final = re.compile(rf"{_S}*[:,]?{_S}*(?P<code>[0-9A-Za-z]*)(?![\w@＠])")
_LINK_CODE_LETTERS: Final = frozenset(LINK_CODE_ALPHABET)


def _link(text: str, language: Language) -> Command:
    """The code after the verb; what follows it (a thank-you, a hashtag) is ignored."""
    match = _LINK_CODE.match(text)
    code = match.group("code").upper() if match is not None else ""
    if len(code) != LINK_CODE_LENGTH or not _LINK_CODE_LETTERS.issuperset(code):
        return ParseError(LINK_CODE_INVALID, language)
    return LinkCommand(code, language)


# --- The whole command in one expression ----------------------------------------------------
# Most commands are well formed and in euros. One expression per service reads such a command
# whole, from the first mention to the end of the post, so that reading it is a single match;
# whatever that match does not settle goes to the reference reading above, which decides. Tests
# check that both always agree.
#
# The expression reads the post as written, while the reference reading reads the phrase folded
# to lower case: so each letter of the phrase also stands for what folds to it, its capital and,
# for ``i`` and ``k``, the only two other characters whose lower case is ASCII.

_FOLDING_TO_ASCII: Final = {"i": "\u0130", "k": "\u212a"}  # İ (see _fold) and the Kelvin sign
_LETTER: Final = "[a-zA-Z\u0130\u212a]"  # whatever folds to a letter of a-z


def _as_written(word: str) -> str:
    """A lower-case ASCII word, in any case it may be written."""
    return "".join(f"[{c}{c.upper()}{_FOLDING_TO_ASCII.get(c, '')}]" for c in word)


def _any_of_as_written(words: Iterable[str]) -> str:
    # Longest first: a word is not cut short by one of its prefixes (``euro`` in ``euros``).
    return "|".join(_as_written(word) for word in sorted(words, key=len, reverse=True))


# Folded text has no capitals, so ``A-Za-z`` in a handle there means a-z.
_HANDLE_AS_WRITTEN: Final = HANDLE_PATTERN.replace("A-Za-z", "A-Za-z\u0130\u212a")
_PREP_AS_WRITTEN: Final = rf"(?:[aAàáâäÀÁÂÄ][\u0300-\u036f]*|{_any_of_as_written(('pour', 'to'))})"
_CONJUNCTION_AS_WRITTEN: Final = rf"(?:{_any_of_as_written(('et', 'and', 'ou', 'or'))})"
_EURO_AS_WRITTEN: Final = rf"(?:€|(?:{_any_of_as_written(_EURO_MARKS - {'€'})})(?!{_LETTER}))"
_MARK_AS_WRITTEN: Final = (
    rf"{_LETTER}{{1,2}}\$|{_LETTER}{{1,9}}(?!{_LETTER})|[€{re.escape(_OTHER_SYMBOLS)}]"
)


def _mention_as_written(name: str) -> str:
    return rf"{AT_CLASS}(?P<{name}>{_HANDLE_AS_WRITTEN}){HANDLE_END}"


# An amount in euros that ``_cents`` reads as it is written: at most twelve digits of euros and
# two of cents, the number ending where ``_NUMBER`` ends it, a euro mark before or after it.
_EUROS: Final = (
    rf"(?:(?P<euro_first>{_EURO_AS_WRITTEN}){_S}*)?"
    r"(?P<units>[0-9]{1,12})(?:[.,](?P<frac>[0-9]{1,2}))?"
    rf"(?![0-9]|[.,][0-9]|{_S}[0-9]{{3}}(?![0-9]))"
    rf"(?(euro_first)|(?:{_S}*{_EURO_AS_WRITTEN})?)"
)
# VERB @recipient AMOUNT, VERB AMOUNT [PREP] @recipient, or VERB AMOUNT (a purchase). Atomic:
# the reference reading takes each element once, the first way it matches.
_PAYMENT: Final = (
    rf"(?>(?:{_mention_as_written('payee_first')}{_S}*[,:]?{_S}*)?{_EUROS}"
    rf"(?(payee_first)(?!\w)"
    rf"|(?:{_S}+(?:{_PREP_AS_WRITTEN}{_S}+)?{_mention_as_written('payee')}|(?!\w))))"
)
# A second recipient joined to the first (``… à @bob et @carol``), as _JOINED_RECIPIENT.
_JOINED_AS_WRITTEN: Final = (
    rf"(?:{_S}*[,&+;/]{_S}*|{_S}+(?:{_CONJUNCTION_AS_WRITTEN}{_S}+)?)"
    rf"(?:{_PREP_AS_WRITTEN}{_S}+)?{AT_CLASS}{_HANDLE_AS_WRITTEN}{HANDLE_END}"
)
# Whatever could start a joined recipient or another amount after the phrase.
_MAYBE_MORE: Final = (
    rf"{_S}*+(?:[,&+;/@＠0-9{_SIGN_CLASS}€{re.escape(_OTHER_SYMBOLS)}]"
    rf"|(?:{_CONJUNCTION_AS_WRITTEN}|{_PREP_AS_WRITTEN}){_S}"
    rf"|{_LETTER}{{1,2}}\$|{_LETTER}++{_S}*+[0-9{_SIGN_CLASS}])"
)
# A memo that ``_memo`` keeps as it is: words one space apart, with nothing it removes.
_MEMO_WORD: Final = rf"[^\s#{_INVISIBLE}{_BIDI}]+"
_PLAIN_MEMO: Final = rf"(?![{re.escape(_MEMO_LEAD)}]){_MEMO_WORD}(?: {_MEMO_WORD})*"
# After the phrase: nothing, or nothing that could be more of the phrase and possibly a plain
# memo to the end, or a second recipient. Without a recipient after the amount, its first word
# is noted: a currency there (``@bob 12 dollars``) belongs to the amount.
_AFTER_PAYMENT: Final = (
    r"(?: *\Z"
    rf"|(?!{_MAYBE_MORE})(?(payee)|(?={_S}*(?P<word>{_LETTER}{{1,9}}+)(?!{_LETTER}))?)"
    rf"(?: +(?P<memo>{_PLAIN_MEMO}) *\Z)?"
    rf"|(?P<joined>{_JOINED_AS_WRITTEN}))"
)
# An amount in another currency, by its symbol: the same error whatever follows.
_FOREIGN: Final = (
    rf"(?P<foreign>(?>{_NUMBER}){_S}*[{re.escape(_OTHER_SYMBOLS)}]"
    rf"|[{re.escape(_OTHER_SYMBOLS)}]{_S}*[0-9])"
)
# Nothing that could start an amount (``@shop @payez buy``).
_NO_AMOUNT: Final = (
    rf"(?P<no_amount>\Z|(?!{_S}*(?:[{_SIGN_CLASS}]{_S}*)?(?:(?:{_MARK_AS_WRITTEN}){_S}*)?"
    rf"(?:[{_SIGN_CLASS}]{_S}*)?[0-9]))"
)
_AFTER_VERB: Final = rf"{_S}*+(?:{_PAYMENT}{_AFTER_PAYMENT}|{_FOREIGN}|{_NO_AMOUNT})?"
_FRACTION_CENTS: Final = {
    **{f"{tenth}": tenth * 10 for tenth in range(10)},
    **{f"{cents:02d}": cents for cents in range(100)},
}
_CURRENCY_WORDS: Final = frozenset(mark for mark in _EURO_MARKS | _OTHER_MARKS if mark.isalpha())


# What the whole-command expression read: its groups, then where the verb and the match end.
_Reading = tuple[
    str,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    int,
    int,
]
# (text, service user, service server or "", other currency symbols) -> the reading, or None
# when the reader leaves the post to the expression.
_Reader = Callable[[str, str, str, str], _Reading | None]


def _leaves_every_post_to_the_expression(text: str, user: str, server: str, symbols: str) -> None:
    return None


def _compiled_reader() -> _Reader:
    """The expression compiled in C (``_command_reader.c``) for the commands people usually
    write: it returns exactly what the expression reads, or None to leave the post to it.
    Without a C compiler at install time, the expression reads every post."""
    try:
        from payez.domain._command_reader import read
    except ImportError:  # pragma: no cover - CI builds it, and a test checks it is in use
        return _leaves_every_post_to_the_expression
    return read


COMPILED_READER: Final = _compiled_reader()
# The compiled reader compares the service's handle in ASCII, case-insensitively.
_ASCII_USER: Final = re.compile(r"[a-z0-9_]+")
_ASCII_SERVER: Final = re.compile(r"[a-z0-9_.-]*")


@dataclass(frozen=True, slots=True)
class _Grammar:
    service: str
    header: re.Pattern[str]
    command: re.Pattern[str]  # the header, then the whole command after it
    hashtags: re.Pattern[str]
    service_forms: frozenset[str]
    reader: _Reader
    user: str
    server: str


@lru_cache(maxsize=64)
def _grammar(service_handle: str) -> _Grammar:
    service = normalise_handle(service_handle)
    user, sep, server = service.partition("@")
    if not user:
        never = re.compile(r"(?!)")
        return _Grammar(
            service, never, never, never, frozenset(), _leaves_every_post_to_the_expression, "", ""
        )
    service_pattern = re.escape(user) + (rf"(?:@{re.escape(server)})?" if sep else "")
    header = (
        rf"{_S}*(?:{AT_CLASS}{HANDLE_PATTERN}[,:]?{_S}+)*?"
        rf"{AT_CLASS}(?P<svc>{service_pattern})(?![\w@＠]|[.-][A-Za-z0-9_])"
        rf"{_S}*[:,]?{_S}*(?P<verb>\?|[#＃]?[\w{_APOSTROPHES}\u0300-\u036f]+)(?![\-‐‑])"
    )
    # Atomic: the whole-command expression reads the header exactly as the header alone does.
    command = re.compile(rf"(?>(?i:{header})){_AFTER_VERB}")
    tags = "|".join(re.escape(tag) for tag in sorted({*_BRAND_HASHTAGS, user.replace(".", "")}))
    hashtags = re.compile(rf"(?<![\w#])#(?:{tags})(?!\w)", re.IGNORECASE)
    forms = frozenset({service, user} if sep else {service})
    reader = (
        COMPILED_READER
        if _ASCII_USER.fullmatch(user) and _ASCII_SERVER.fullmatch(server)
        else _leaves_every_post_to_the_expression
    )
    return _Grammar(
        service, re.compile(header, re.IGNORECASE), command, hashtags, forms, reader, user, server
    )


def _read_with_expression(grammar: _Grammar, text: str) -> _Reading | None:
    whole = grammar.command.match(text)
    if whole is None:
        return None
    return cast(_Reading, (*whole.groups(), whole.end("verb"), whole.end()))


def _verb(service: str, verb: str, grammar: _Grammar) -> tuple[str, Language] | None:
    """``(kind, language)`` of the word after the service's mention; None if it is no verb."""
    # IGNORECASE also folds a few exotic letters (the Kelvin sign is a ``k``): compare exactly.
    forms = grammar.service_forms
    if service not in forms and service.lower() not in forms:
        return None
    entry = _VERBS.get(verb) or _VERBS.get(verb.lower())
    if entry is None and not verb.isascii():
        entry = _VERBS.get(_fold_word(verb))
    return entry


def _finish(text: str, kind: str, language: Language, grammar: _Grammar) -> Command:
    """The reference reading of what follows the verb."""
    if kind == "help":
        return _HELP[language]
    if kind == "link":
        return _link(text, language)
    folded = _fold(text)
    if kind == "buy":
        return _buy_precise(folded, language)
    return _send_precise(text, folded, grammar, language)


def _is_currency(word: str | None) -> bool:
    return word is not None and _fold(word) in _CURRENCY_WORDS


def parse(text: str, service_handle: str) -> Command:
    """Read one post addressed (or not) to ``service_handle`` (``payez``, ``@Payez``, or
    ``payez@piaille.fr`` on the fediverse)."""
    grammar = _grammar(service_handle)
    reading = grammar.reader(
        text, grammar.user, grammar.server, _OTHER_SYMBOLS
    ) or _read_with_expression(grammar, text)
    if reading is None:
        return _NONE
    # The groups in the order the expression defines them (a test checks it).
    (
        service,
        verb,
        payee_first,
        _,
        units,
        frac,
        payee,
        word,
        memo,
        joined,
        foreign,
        no_amount,
        verb_end,
        end,
    ) = reading
    forms = grammar.service_forms
    # The service and verb as people usually type them, before the general look-up.
    entry = _VERBS.get(verb) if service in forms else None
    if entry is None:
        entry = _verb(service, verb, grammar)
        if entry is None:
            return _NONE
    kind, language = entry
    # What the expression read settles the command, or the reference reading decides.
    if units is not None:
        cents = int(units) * 100 + (_FRACTION_CENTS[frac] if frac else 0)
        recipient = payee or payee_first
        if recipient is not None:
            recipient = recipient.lower()
            if kind == "send" and recipient not in forms:
                if joined is not None:
                    if payee is not None and cents > 0:
                        return _ERRORS[RECIPIENTS_MULTIPLE, language]
                elif payee is not None or not _is_currency(word):
                    if cents == 0:  # refused as soon as it is read, as the reference does
                        return _ERRORS[AMOUNT_INVALID, language]
                    if end != len(text):
                        memo = _memo(text[end:], grammar)
                    return SendCommand(_euros(cents), recipient, memo, language)
        elif kind == "buy" and joined is None and not _is_currency(word):
            if cents == 0:
                return _ERRORS[AMOUNT_INVALID, language]
            return BuyCommand(_euros(cents), language)
    elif kind == "help":
        return _HELP[language]
    elif foreign is not None and kind in ("send", "buy"):
        return _ERRORS[CURRENCY_UNSUPPORTED, language]
    elif no_amount is not None and kind == "buy":
        return _BUY_WITHOUT_AMOUNT[language]
    return _finish(text[verb_end:], kind, language, grammar)


def _parse_precise(text: str, service_handle: str) -> Command:
    """``parse`` without the whole-command expression: the reference it must agree with."""
    grammar = _grammar(service_handle)
    header = grammar.header.match(text)
    if header is None:
        return _NONE
    entry = _verb(header.group("svc"), header.group("verb"), grammar)
    if entry is None:
        return _NONE
    return _finish(text[header.end() :], *entry, grammar)


def parse_many(texts: Iterable[str], service_handle: str) -> list[Command]:
    """``[parse(text, service_handle) for text in texts]``, for a stream of posts: the grammar
    is looked up once, and the header and its verb are the only work done on posts that are not
    commands."""
    grammar = _grammar(service_handle)
    header = grammar.header.match
    read: list[Command] = []
    for text in texts:
        found = header(text)
        if found is None or _verb(found["svc"], found["verb"], grammar) is None:
            read.append(_NONE)
        else:
            read.append(parse(text, service_handle))
    return read


def is_addressed_to_service(text: str, service_handle: str) -> bool:
    """Whether the post starts like a command (leading mentions, the service, a word): the
    cheap filter ``parse`` applies first."""
    return _grammar(service_handle).header.match(text) is not None


def command_to_json(command: Command) -> dict[str, object]:
    """The JSON object ``payez parse`` prints for ``command``."""
    if isinstance(command, SendCommand):
        return {
            "kind": "send",
            "amount_cents": command.amount.cents,
            "currency": command.amount.currency,
            "recipient": command.recipient,
            "memo": command.memo,
        }
    if isinstance(command, BuyCommand):
        if command.amount is None:
            return {"kind": "buy", "amount_cents": None, "currency": None}
        return {
            "kind": "buy",
            "amount_cents": command.amount.cents,
            "currency": command.amount.currency,
        }
    if isinstance(command, HelpCommand):
        return {"kind": "help"}
    if isinstance(command, LinkCommand):
        return {"kind": "link", "code": command.code}
    if isinstance(command, ParseError):
        return {"kind": "error", "code": command.code}
    return {"kind": "none"}


def command_language(text: str, service_handle: str) -> Language:
    """The language to answer ``text`` in: its verb's, French when it has none."""
    command = parse(text, service_handle)
    return "fr" if isinstance(command, NoCommand) else command.language
