"""Helpers for the merchants' API and webhook tests: keys and webhook secrets as the
Integrations page shows them (once), and API calls with a key."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.integration.web_world import Browser, WebWorld

_NEW_KEY = re.compile(r'<code id="new-api-key">([^<]+)</code>')
_NEW_SECRET = re.compile(r'<code id="new-webhook-secret">([^<]+)</code>')


def new_api_key(browser: Browser, scope: str, label: str = "shop") -> str:
    page = browser.submit(
        "/integrations/keys", {"label": label, "scope": scope}, form_page="/integrations"
    )
    assert page.status_code == 200, page.text
    found = _NEW_KEY.search(page.text)
    assert found, page.text
    return found[1]


def new_webhook(browser: Browser, url: str) -> str:
    page = browser.submit("/integrations/webhooks", {"url": url}, form_page="/integrations")
    assert page.status_code == 200, page.text
    found = _NEW_SECRET.search(page.text)
    assert found, page.text
    return found[1]


class ApiClient:
    """A program using the merchants' API with a key: no cookie of a logged-in browser."""

    def __init__(self, web: WebWorld, key: str) -> None:
        self.client = web.browser().client
        self.key = key

    def headers(self, idempotency_key: str | None) -> dict[str, str]:
        found = {"Authorization": f"Bearer {self.key}"}
        if idempotency_key is not None:
            found["Idempotency-Key"] = idempotency_key
        return found

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers=self.headers(None))

    def post(
        self, path: str, body: dict[str, Any] | None = None, *, key: str | None = "new"
    ) -> httpx.Response:
        idempotency_key = str(uuid.uuid4()) if key == "new" else key
        return self.client.post(path, json=body, headers=self.headers(idempotency_key))
