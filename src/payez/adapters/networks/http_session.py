"""The ``requests`` session the network adapters talk through.

By default ``requests`` reads the environment again for every request it sends: ``~/.netrc``,
the proxy variables and the CA bundle. Two things are wrong with that here:

- a ``~/.netrc`` entry for the network's host *replaces* the ``Authorization`` header the
  adapter set, so the service's bearer token would never reach the network;
- the look-ups (files stat'ed, the environment scanned) cost a few per cent of the outbox
  senders' time at a couple of hundred replies a second.

So the environment is read once: the CA bundle when the session is made, the proxies once per
origin (``no_proxy`` can exempt one host and not another). ``~/.netrc`` is never read: every
adapter authenticates each request itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.utils import get_environ_proxies


def ca_bundle_from_environment() -> str | None:
    # The same variables, in the same order, as requests reads them.
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


class ServiceSession(requests.Session):
    """A session that settles the environment once and never takes credentials from it."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self.verify = ca_bundle_from_environment() or True
        self._environment_proxies: dict[str, dict[str, str]] = {}

    def merge_environment_settings(
        self,
        url: Any,
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> dict[str, Any]:
        settings: dict[str, Any] = super().merge_environment_settings(
            url, proxies, stream, verify, cert
        )
        explicit: Mapping[str, str] = settings["proxies"] or {}
        settings["proxies"] = {**self._proxies_for(str(url)), **explicit}
        return settings

    def _proxies_for(self, url: str) -> dict[str, str]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._environment_proxies.get(origin)
        if found is None:
            found = self._environment_proxies[origin] = dict(get_environ_proxies(origin))
        return found
