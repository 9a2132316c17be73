"""The adapter's HTTP transport in the Bluesky tests: every request goes to the real server,
except two things no package here can give.

- Bluesky's chat service (``chat.bsky.convo``): the two chat calls Payez makes are answered in
  the shapes their lexicons define.
- A rate limit on demand: the reference server runs without its limits, so the next requests to
  a method can be answered 429 with the ``ratelimit-*`` headers Bluesky's servers send.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx

_CHAT = "/xrpc/chat.bsky.convo."


class BlueskyTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self._real = httpx.HTTPTransport()
        self._lock = threading.Lock()
        self.messages: list[tuple[str, str, str]] = []
        """(sender DID, recipient DID, text), in the order they were sent."""
        self.proxied_to: set[str] = set()
        self._limits: dict[str, tuple[int, int]] = {}

    def rate_limit(self, method: str, *, times: int = 1, reset_in: float = 60.0) -> datetime:
        """The next ``times`` calls of the XRPC ``method`` answer 429; returns the reset time
        (whole seconds, as the ``ratelimit-reset`` header carries it)."""
        reset = int(time.time() + reset_in)
        with self._lock:
            self._limits[method] = (times, reset)
        return datetime.fromtimestamp(reset, UTC)

    def _limited(self, request: httpx.Request) -> httpx.Response | None:
        method = request.url.path.removeprefix("/xrpc/")
        with self._lock:
            times, reset = self._limits.get(method, (0, 0))
            if times <= 0:
                return None
            self._limits[method] = (times - 1, reset)
        headers = {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(reset),
            "ratelimit-policy": "3000;w=300",
        }
        body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        return httpx.Response(429, json=body, headers=headers)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limited = self._limited(request)
        if limited is not None:
            return limited
        if not request.url.path.startswith(_CHAT):
            return self._real.handle_request(request)
        self.proxied_to.add(request.headers.get("atproto-proxy", ""))
        sender = _subject(request.headers.get("authorization", ""))
        if sender is None:
            return _json(401, {"error": "AuthenticationRequired", "message": "no session"})
        method = request.url.path.removeprefix(_CHAT)
        if method == "getConvoForMembers" and request.method == "GET":
            member = request.url.params.get("members", "")
            return _json(200, {"convo": _convo(sender, member)})
        if method == "sendMessage" and request.method == "POST":
            body = json.loads(request.read())
            member = str(body["convoId"]).removeprefix("convo:")
            text = str(body["message"]["text"])
            with self._lock:
                self.messages.append((sender, member, text))
                number = len(self.messages)
            return _json(
                200,
                {
                    "id": f"msg-{number}",
                    "rev": str(number),
                    "text": text,
                    "sender": {"did": sender},
                    "sentAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                },
            )
        return _json(400, {"error": "MethodNotImplemented", "message": method})

    def close(self) -> None:
        self._real.close()


def _convo(sender: str, member: str) -> dict[str, Any]:
    return {
        "id": f"convo:{member}",
        "rev": "0",
        "members": [
            {"did": sender, "handle": "handle.invalid"},
            {"did": member, "handle": "handle.invalid"},
        ],
        "muted": False,
        "unreadCount": 0,
    }


def _subject(authorization: str) -> str | None:
    token = authorization.removeprefix("Bearer ").strip()
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None


def _json(status: int, body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(status, json=body)
