"""The webhook sender over HTTP, with httpx; tests give it their own transport."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from payez.ports.webhooks import WebhookAnswer

USER_AGENT = "Payez-Webhooks/1"


class HttpxWebhookSender:
    def __init__(
        self, *, transport: httpx.BaseTransport | None = None, timeout: float = 10.0
    ) -> None:
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,  # a redirect is an answer, not a delivery
            headers={"User-Agent": USER_AGENT},
        )

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookAnswer:
        try:
            response = self._client.post(
                url, content=body, headers={"Content-Type": "application/json", **headers}
            )
        except httpx.HTTPError as exc:
            return WebhookAnswer(None, (type(exc).__name__ + ": " + str(exc))[:200])
        return WebhookAnswer(response.status_code)

    def close(self) -> None:
        self._client.close()
