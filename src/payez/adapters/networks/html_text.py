"""Mastodon status HTML to the plain text the command parser reads.

Mention links become ``@handle`` with the full handle of remote accounts (Mastodon shows only
``@alice`` for ``alice@example.org``: the link's address tells them apart); ``<br>`` becomes a
newline and paragraphs a blank line; entities are decoded; the "RE: <link>" line Mastodon adds
under quotes is dropped, so only the author's own words are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}
_SKIPPED = {"script", "style"}


class _TextBuilder(HTMLParser):
    def __init__(self, mentions: Mapping[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.mentions = mentions
        self.parts: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, replaced or skipped)
        self._muted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        if tag == "br":
            if not self._muted:
                self.parts.append("\n")
            return
        mute = tag in _SKIPPED or "quote-inline" in classes
        if not mute and tag == "a" and "mention" in classes and "hashtag" not in classes:
            handle = self.mentions.get(attributes.get("href") or "")
            if handle is not None and not self._muted:
                self.parts.append(f"@{handle}")
                mute = True
        if tag in _BLOCKS and not self._muted:
            self.parts.append("\n\n")
        self._stack.append((tag, mute))
        if mute:
            self._muted += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and not self._muted:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        # Pop up to the matching tag; browsers forgive unclosed tags and so must we.
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                for _, muted in self._stack[index:]:
                    if muted:
                        self._muted -= 1
                del self._stack[index:]
                break
        if tag in _BLOCKS and not self._muted:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._muted:
            self.parts.append(data)


def html_to_text(content: str, mentions: Mapping[str, str] | None = None) -> str:
    """Plain text of status HTML. ``mentions`` maps a mentioned account's profile URL to its
    normalised handle (``alice`` or ``alice@example.org``)."""
    builder = _TextBuilder(mentions or {})
    builder.feed(content)
    builder.close()
    text = "".join(builder.parts).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
