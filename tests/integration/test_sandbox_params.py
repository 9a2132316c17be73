"""Request parameters as the sandbox reads them (``sandbox/network/context.py``): form bodies
as Mastodon clients send them, through a real ASGI request."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from payez.sandbox.network.context import MAX_FORM_FIELDS, read_params, url_encoded_fields
from payez.sandbox.network.errors import SandboxInvalid


async def _echo(request: Request) -> JSONResponse:
    try:
        params = await read_params(request)
    except SandboxInvalid as error:
        return JSONResponse({"error": error.code}, status_code=422)
    return JSONResponse(
        {
            "status": params.get("status"),
            "spoiler_text": params.get("spoiler_text"),
            "media_ids": params.get_list("media_ids"),
            "in_reply_to_id": params.get_id("in_reply_to_id"),
        }
    )


def _post(**request: Any) -> httpx.Response:
    app = Starlette(routes=[Route("/echo", _echo, methods=["POST"])])

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.post("/echo?in_reply_to_id=12", **request)

    return asyncio.run(send())


EXPECTED = {
    "status": "@payez envoie 10 € à @bob + merci & à+",
    "spoiler_text": "",
    "media_ids": ["1", "2"],
    "in_reply_to_id": 12,
}
FIELDS = [
    ("status", "@payez envoie 10 € à @bob + merci & à+"),
    ("spoiler_text", ""),
    ("media_ids[]", "1"),
    ("media_ids[]", "2"),
]


def test_a_url_encoded_form_is_read_as_sent() -> None:
    answer = _post(
        content=urlencode(FIELDS).encode(),
        headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert answer.json() == EXPECTED


def test_a_multipart_form_is_read_as_sent() -> None:
    answer = _post(files={"unused": ("a.txt", b"x")}, data=dict(FIELDS[:2]))
    assert answer.json() == {**EXPECTED, "media_ids": []}


def test_a_json_body_is_read_as_sent() -> None:
    answer = _post(json={"status": EXPECTED["status"], "spoiler_text": "", "media_ids": ["1", "2"]})
    assert answer.json() == EXPECTED


def test_a_form_with_too_many_fields_is_refused() -> None:
    body = urlencode([("f", "1")] * (MAX_FORM_FIELDS + 1)).encode()
    answer = _post(content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 422
    assert answer.json() == {"error": "sandbox_validation_failed"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"a=1&b=&c", [("a", "1"), ("b", ""), ("c", "")]),
        (b"t=caf%C3%A9+cr%C3%A8me", [("t", "café crème")]),
        (b"k%5B%5D=1&k%5B%5D=2", [("k[]", "1"), ("k[]", "2")]),
        (b"", []),
    ],
)
def test_url_encoded_fields(body: bytes, fields: list[tuple[str, str]]) -> None:
    assert url_encoded_fields(body) == fields
