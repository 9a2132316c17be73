"""Forms carrying a NUL or a bidirectional override are refused before any handler sees them.

No user types a NUL, PostgreSQL cannot store one in text, and some tools cut a string at it.
Embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069) make a name or a memo
read otherwise than it is written, on every page that shows it. Either is an attack or a broken
client: refused with a clear error, once, here, rather than in every field of every form.
Uploaded files (multipart) may hold any byte."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import unquote_to_bytes

from fastapi import Request, Response

from payez.domain.errors import InvalidInput, PayezError

FORM = "application/x-www-form-urlencoded"
# The refused characters, as UTF-8 bytes once the form is percent-decoded.
_REFUSED = re.compile(b"\x00|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")


def holds_refused_character(form_body: bytes) -> bool:
    """Whether a url-encoded form, once percent-decoded, holds a NUL or a bidi override."""
    return _REFUSED.search(unquote_to_bytes(form_body)) is not None


class ControlCharacterRefused(InvalidInput):
    code = "input_control_character"
    message_fr = "Le formulaire contient un caractère invisible interdit. Retapez le texte."
    message_en = "The form holds a forbidden invisible character. Please type the text again."


def input_guard_middleware(
    respond: Callable[[Request, PayezError, int], Response],
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.method != "GET" and request.headers.get("content-type", "").startswith(FORM):
            body = await request.body()
            if holds_refused_character(body):
                return respond(request, ControlCharacterRefused(), 400)
        return await call_next(request)

    return middleware
