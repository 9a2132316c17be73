"""Mentions and handles as people write them on X, on Mastodon (the fediverse) and on Bluesky.

One grammar serves the three networks, because the command parser does not know where a post
came from:

- X: ``@alice_92`` (letters, digits, ``_``);
- fediverse: ``@alice`` or ``@alice@mastodon.social`` (the user may carry its server; Mastodon
  also allows ``.`` and ``-`` inside a user name);
- Bluesky: a domain, ``@alice.bsky.social``.

A mention starts with ``@`` (or the full-width ``＠`` that X accepts) that is not glued to a word
or to a ``/`` (so ``bob@example.com`` and ``https://host/@alice`` are not mentions). A handle
never ends on ``.`` or ``-``: ``merci @alice.`` mentions ``alice``. A handle glued to another
letter (``@bobé``) is not a mention, as on X.

A normalised handle is lower case, without its leading ``@``.
"""

from __future__ import annotations

import re

# Unicode spaces (everything ``str.isspace`` accepts) plus the invisible ones people paste.
SPACE_CLASS = r"[\s\u200b\u2060\ufeff]"
AT_SIGNS = "@＠"
AT_CLASS = "[@＠]"
_USER = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
_SERVER = r"[^\W_](?:[\w.-]*[^\W_])?"
# The regex source of one handle (without its ``@``); commands.py builds on it.
HANDLE_PATTERN = rf"{_USER}(?:@{_SERVER})?"
# What may not follow a handle for it to be a whole mention.
HANDLE_END = r"(?![\w@＠])"

_MENTION = re.compile(rf"(?<![\w/@＠]){AT_CLASS}({HANDLE_PATTERN}){HANDLE_END}")


def normalise_handle(handle: str) -> str:
    """``@Alice@Mastodon.Social`` → ``alice@mastodon.social``: one leading ``@`` dropped, lower
    case, surrounding spaces removed."""
    handle = handle.strip()
    if handle[:1] in ("@", "＠"):
        handle = handle[1:]
    return handle.lower()


def extract_mentions(text: str) -> list[str]:
    """Every mention of ``text``, normalised, in the order written (repeats kept)."""
    return [match.lower() for match in _MENTION.findall(text)]


def handle_matches(handle: str, account: str) -> bool:
    """Whether a written ``handle`` designates ``account`` (both in any case, with or without
    ``@``).

    A fediverse account ``payez@piaille.fr`` is also written ``@payez`` by people on its own
    server, so the bare user name matches it; ``@payez@other.server`` does not.
    """
    handle = normalise_handle(handle)
    account = normalise_handle(account)
    if handle == account:
        return True
    user, sep, _server = account.partition("@")
    return bool(sep) and handle == user
