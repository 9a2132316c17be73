"""A parsed command as stored with its post, so that a post is read once, not twice.

The listener parses each post to decide what to record and to resolve a send's recipient; the
processor used to parse it again. The listener now stores what it read beside the post, and the
processor takes it back when it was read by the grammar the processor would use itself.

The stored form is a compact JSON array, its first item the kind ``command_to_json`` names
(``["send", "fr", 1250, "EUR", "bob", "merci"]``): about a third of the size of the
``payez parse`` object, and read back by one C-speed ``json.loads``. JSON escapes every control
character, so the stored text never holds a NUL, which PostgreSQL text refuses.

A stored parse is valid for one grammar: :data:`GRAMMAR_VERSION` and the service handle the post
was read for (the handle shapes the header and which recipients are the service itself). Both go
into :func:`grammar_stamp`; a row whose stamp differs, or that has none (recorded before the
parse was stored, or by a path that does not parse: sandbox, tests, benches' loaders), is
parsed again, exactly as before.
"""

from __future__ import annotations

import json
from typing import Final

from payez.domain.commands import (
    BuyCommand,
    Command,
    HelpCommand,
    LinkCommand,
    NoCommand,
    ParseError,
    SendCommand,
)
from payez.domain.errors import Language
from payez.domain.money import Money, MoneyError

# Raise it whenever ``parse`` may return another command for some text (a new verb, another
# amount rule): every row stored before then is read again by the new grammar. Rewriting the
# parser without changing what it returns keeps it.
GRAMMAR_VERSION: Final = 1

_NONE: Final = NoCommand()
_LANGUAGES: Final[dict[str, Language]] = {"fr": "fr", "en": "en"}


def grammar_stamp(service_handle: str) -> str:
    """What a stored parse must carry to be taken back for posts to ``service_handle``."""
    return f"{GRAMMAR_VERSION}:{service_handle}"


def command_to_stored(command: Command) -> str:
    """``command`` as the compact JSON array the inbox keeps."""
    if isinstance(command, SendCommand):
        amount = command.amount
        item: list[object] = [
            "send",
            command.language,
            amount.cents,
            amount.currency,
            command.recipient,
            command.memo,
        ]
    elif isinstance(command, BuyCommand):
        bought = command.amount
        item = ["buy", command.language]
        item += [None, None] if bought is None else [bought.cents, bought.currency]
    elif isinstance(command, HelpCommand):
        item = ["help", command.language]
    elif isinstance(command, LinkCommand):
        item = ["link", command.language, command.code]
    elif isinstance(command, ParseError):
        item = ["error", command.language, command.code]
    else:
        item = ["none"]
    # Not ASCII-escaped: a memo keeps its accents at one or two bytes each, not six.
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def command_from_stored(stored: str) -> Command:
    """The command :func:`command_to_stored` wrote; ``ValueError`` when ``stored`` is not one."""
    try:
        item = json.loads(stored)
        kind = item[0]
        if kind == "none":
            return _NONE
        language = _LANGUAGES[item[1]]
        if kind == "send":
            _, _, cents, currency, recipient, memo = item
            return SendCommand(Money(cents, currency), recipient, memo, language)
        if kind == "buy":
            _, _, cents, currency = item
            return BuyCommand(None if cents is None else Money(cents, currency), language)
        if kind == "help":
            return HelpCommand(language)
        if kind == "link":
            return LinkCommand(item[2], language)
        if kind == "error":
            return ParseError(item[2], language)
    except (ValueError, TypeError, LookupError, MoneyError) as exc:
        raise ValueError(f"not a stored command: {stored[:80]!r}") from exc
    raise ValueError(f"not a stored command: {stored[:80]!r}")


def stored_command(stored: str | None, stamp: str | None, service_handle: str) -> Command | None:
    """The command stored with a post, when it was read by the grammar in force for
    ``service_handle``; None when the post must be parsed again (no parse stored, another
    grammar, or a stored form this version cannot read)."""
    if stored is None or stamp != grammar_stamp(service_handle):
        return None
    try:
        return command_from_stored(stored)
    except ValueError:
        # A damaged stored form must not stop the inbox: the text is still there to read.
        return None
