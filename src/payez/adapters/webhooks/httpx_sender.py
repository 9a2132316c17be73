"""The webhook sender over HTTP, with httpx; tests give it their own transport.

In production (``public_only``) an address whose host resolves to a loopback, private,
link-local or otherwise non-public address is not called: a webhook URL must not be a way into
the service's own network. The check is made on the names resolved just before the request, so
a name that resolves differently a moment later (DNS rebinding) is not covered by it.

Only the answer's status counts, so its body is never read: a receiver that answers with an
endless or huge body cannot hold the worker or fill its memory.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from payez.ports.webhooks import WebhookAnswer

USER_AGENT = "Payez-Webhooks/1"


class HttpxWebhookSender:
    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        public_only: bool = False,
    ) -> None:
        self._public_only = public_only
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,  # a redirect is an answer, not a delivery
            headers={"User-Agent": USER_AGENT},
        )

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookAnswer:
        if self._public_only and not resolves_to_public(url):
            return WebhookAnswer(None, "address_not_public")
        try:
            with self._client.stream(
                "POST", url, content=body, headers={"Content-Type": "application/json", **headers}
            ) as response:
                return WebhookAnswer(response.status_code)
        except httpx.HTTPError as exc:
            return WebhookAnswer(None, (type(exc).__name__ + ": " + str(exc))[:200])

    def close(self) -> None:
        self._client.close()


def resolves_to_public(url: str) -> bool:
    """Every address the URL's host resolves to is a public one."""
    host = urlsplit(url).hostname or ""
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {str(info[4][0]).split("%", 1)[0] for info in found}
    try:
        return bool(addresses) and all(ipaddress.ip_address(a).is_global for a in addresses)
    except ValueError:
        return False
