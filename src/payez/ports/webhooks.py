"""The webhook sender port: POST a signed event to a merchant's or an association's URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """What the endpoint answered: a status code, or None and why there was no answer."""

    status_code: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookAnswer:
        """Send once; never raises for a network failure (it is the answer's ``error``)."""
        ...
