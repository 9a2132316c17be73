"""The payment command language: a public post addressed to the service account.

``parse(text, service_handle)`` turns a post into a :data:`Command`. It is pure, never raises on
any text, never uses a float (amounts are integer cents read from the digits) and is
deterministic. ``docs/commands.md`` is the reference of the language; the choices this module
makes where the language leaves room are listed there too.

Speed matters: the service reads every post that mentions it and most posts are not commands.
A single precompiled, anchored regex (the *header*) rejects a post unless it starts with mentions
including the service's, followed by a word; only then is the post folded (case, diacritics,
apostrophes, spaces) and read in full, by precompiled regexes matched at known positions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

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


@dataclass(frozen=True, slots=True)
class SendCommand:
    amount: Money
    recipient: str
    memo: str | None
    language: Language


@dataclass(frozen=True, slots=True)
class BuyCommand:
    amount: Money | None
    language: Language


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
_INVISIBLE_SPACES: Final = re.compile("[\u200b\u2060\ufeff]")
# Embedding, override and isolate controls make a memo read otherwise than it is written
# (``\u202e`` turns "gpj.exe" around): dropped, as they mean nothing once the memo is shown.
_BIDI_CONTROLS: Final = re.compile("[\u202a-\u202e\u2066-\u2069]")
_MEMO_LEAD: Final = " ,;:.-–—"
# Hashtags every deployment removes from memos, beside the service's own.
_BRAND_HASHTAGS: Final = ("payez", "tweetezpayez")


@dataclass(frozen=True, slots=True)
class _Grammar:
    service: str
    header: re.Pattern[str]
    hashtags: re.Pattern[str]
    service_forms: frozenset[str]


@lru_cache(maxsize=64)
def _grammar(service_handle: str) -> _Grammar:
    service = normalise_handle(service_handle)
    user, sep, server = service.partition("@")
    if not user:
        never = re.compile(r"(?!)")
        return _Grammar(service, never, never, frozenset())
    service_pattern = re.escape(user) + (rf"(?:@{re.escape(server)})?" if sep else "")
    header = re.compile(
        rf"{_S}*(?:{AT_CLASS}{HANDLE_PATTERN}[,:]?{_S}+)*?"
        rf"{AT_CLASS}(?P<svc>{service_pattern})(?![\w@＠]|[.-][A-Za-z0-9_])"
        rf"{_S}*[:,]?{_S}*(?P<verb>\?|[#＃]?[\w{_APOSTROPHES}\u0300-\u036f]+)(?![\-‐‑])",
        re.IGNORECASE,
    )
    tags = "|".join(re.escape(tag) for tag in sorted({*_BRAND_HASHTAGS, user.replace(".", "")}))
    hashtags = re.compile(rf"(?<![\w#])#(?:{tags})(?!\w)", re.IGNORECASE)
    forms = frozenset({service, user} if sep else {service})
    return _Grammar(service, header, hashtags, forms)


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


# --- Fast paths ----------------------------------------------------------------------------
# Most commands are well formed and in euros: one regex reads the whole phrase. Anything it does
# not take, or any doubt after it (a second recipient or amount may follow), goes to the
# reference reading above, which decides; tests check that both always agree.

_EURO: Final = r"(?:€|eur(?:os?)?(?![a-z]))"
_SIMPLE_NUMBER: Final = r"(?P<units>[0-9]{1,12})(?:[.,](?P<frac>[0-9]{1,2}))?(?![0-9]|[.,][0-9])"
_FAST_AMOUNT: Final = rf"(?:(?P<pre>{_EURO}){_S}*)?{_SIMPLE_NUMBER}(?(pre)|(?:{_S}*{_EURO})?)"
_FRACTION_CENTS: Final = {
    **{f"{tenth}": tenth * 10 for tenth in range(10)},
    **{f"{cents:02d}": cents for cents in range(100)},
}
_FAST_SEND_AMOUNT_FIRST: Final = re.compile(
    rf"{_S}*{_FAST_AMOUNT}{_S}+(?:{_PREP}{_S}+)?"
    rf"{AT_CLASS}(?P<recipient>{HANDLE_PATTERN}){HANDLE_END}"
)
_FAST_SEND_RECIPIENT_FIRST: Final = re.compile(
    rf"{_S}*{AT_CLASS}(?P<recipient>{HANDLE_PATTERN}){HANDLE_END}"
    rf"{_S}*[,:]?{_S}*{_FAST_AMOUNT}(?!\w)"
)
_FAST_BUY: Final = re.compile(rf"{_S}*{_FAST_AMOUNT}(?!\w)")
# Whatever could start an amount: a superset of what ``_amount_at`` accepts.
_MAYBE_AMOUNT: Final = (
    rf"{_S}*(?:[{_SIGN_CLASS}]{_S}*)?(?:(?:{_MARK}){_S}*)?(?:[{_SIGN_CLASS}]{_S}*)?[0-9]"
)
_MAYBE_AMOUNT_RE: Final = re.compile(_MAYBE_AMOUNT)
# Whatever could start a joined recipient or an amount, cheap to fail on ordinary words.
_MAYBE_MORE: Final = re.compile(
    rf"{_S}*+(?:[,&+;/@＠0-9{_SIGN_CLASS}€{re.escape(_OTHER_SYMBOLS)}]|(?:et|and|ou|or|{_PREP}){_S}"
    rf"|[a-z]{{1,2}}\$|[a-z]++{_S}*+[0-9{_SIGN_CLASS}])"
)


# A currency marker right after an amount the fast path read: let the reference decide.
_MARKER_NEXT: Final = re.compile(rf"{_S}*({_MARK})")


def _marker_next(folded: str, position: int) -> bool:
    match = _MARKER_NEXT.match(folded, position)
    if match is None:
        return False
    word = match.group(1)
    return word in _EURO_MARKS or word in _OTHER_MARKS


def _fast_cents(match: re.Match[str]) -> int:
    """Cents of a ``_FAST_AMOUNT``; 0 (refused, as the reference reading does) for zero."""
    units, frac = match.group("units", "frac")
    return int(units) * 100 + (_FRACTION_CENTS[frac] if frac else 0)


def _send(text: str, folded: str, grammar: _Grammar, language: Language) -> Command:
    fast = _FAST_SEND_AMOUNT_FIRST.match(folded)
    amount_last = fast is None
    if amount_last:
        fast = _FAST_SEND_RECIPIENT_FIRST.match(folded)
    if fast is not None:
        cents = _fast_cents(fast)
        end = fast.end()
        start, stop = fast.span("recipient")
        recipient = text[start:stop].lower()
        if cents > 0 and recipient not in grammar.service_forms:
            if end == len(folded):  # the phrase ends the post: nothing more to read
                return SendCommand(_euros(cents), recipient, None, language)
            more = _MAYBE_MORE.match(folded, end) is not None
            if not more and not (amount_last and _marker_next(folded, end)):
                memo = _memo(text[end:], grammar)
                return SendCommand(_euros(cents), recipient, memo, language)
            if more and not amount_last and _JOINED_RECIPIENT.match(folded, end) is not None:
                # A sound amount, then a sound recipient: reading left to right, the second
                # recipient is the first problem, as the reference reading finds it.
                return ParseError(RECIPIENTS_MULTIPLE, language)
    return _send_precise(text, folded, grammar, language)


def _buy(folded: str, language: Language) -> Command:
    if _MAYBE_AMOUNT_RE.match(folded) is None:
        return _BUY_WITHOUT_AMOUNT[language]
    fast = _FAST_BUY.match(folded)
    if fast is not None:
        cents = _fast_cents(fast)
        end = fast.end()
        if (
            cents > 0
            and _MAYBE_AMOUNT_RE.match(folded, end) is None
            and not _marker_next(folded, end)
        ):
            return BuyCommand(_euros(cents), language)
    return _buy_precise(folded, language)


def _finish(text: str, header: re.Match[str], grammar: _Grammar, precise: bool = False) -> Command:
    """The post starts with the service mention and a word: read the rest."""
    # IGNORECASE also folds a few exotic letters (the Kelvin sign is a ``k``): compare exactly.
    service, verb = header.group("svc", "verb")
    if service.lower() not in grammar.service_forms:
        return _NONE
    entry = _VERBS.get(verb.lower())
    if entry is None:
        if verb.isascii():
            return _NONE
        entry = _VERBS.get(_fold_word(verb))
        if entry is None:
            return _NONE
    kind, language = entry
    if kind == "help":
        return _HELP[language]
    text = text[header.end() :]
    if kind == "link":
        return _link(text, language)
    folded = _fold(text)
    if kind == "buy":
        return _buy_precise(folded, language) if precise else _buy(folded, language)
    if precise:
        return _send_precise(text, folded, grammar, language)
    return _send(text, folded, grammar, language)


def parse(text: str, service_handle: str) -> Command:
    """Read one post addressed (or not) to ``service_handle`` (``payez``, ``@Payez``, or
    ``payez@piaille.fr`` on the fediverse)."""
    grammar = _grammar(service_handle)
    header = grammar.header.match(text)
    if header is None:
        return _NONE
    return _finish(text, header, grammar)


def _parse_precise(text: str, service_handle: str) -> Command:
    """``parse`` without the fast paths: the reference the fast paths must agree with."""
    grammar = _grammar(service_handle)
    header = grammar.header.match(text)
    return _NONE if header is None else _finish(text, header, grammar, precise=True)


def parse_many(texts: Iterable[str], service_handle: str) -> list[Command]:
    """``[parse(text, service_handle) for text in texts]``, for a stream of posts: the grammar
    is looked up once and the header is the only work done on posts that are not commands."""
    grammar = _grammar(service_handle)
    match = grammar.header.match
    none = _NONE
    return [
        none if (header := match(text)) is None else _finish(text, header, grammar)
        for text in texts
    ]


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
