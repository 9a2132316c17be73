"""Forms carrying a NUL character are refused before any handler sees them.

No user types one, PostgreSQL cannot store one in text, and some tools cut a string at it:
a NUL in a form is an attack or a broken client. It is refused with a clear error, once, here,
rather than in every field of every form. Uploaded files (multipart) may hold any byte."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from payez.domain.errors import InvalidInput, PayezError

FORM = "application/x-www-form-urlencoded"


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
            if b"%00" in body or b"\x00" in body:
                return respond(request, ControlCharacterRefused(), 400)
        return await call_next(request)

    return middleware
