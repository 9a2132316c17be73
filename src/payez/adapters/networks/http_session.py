"""The HTTP clients the network adapters talk through: a ``requests`` session, and a direct
client for the calls on the hot path.

By default ``requests`` reads the environment again for every request it sends: ``~/.netrc``,
the proxy variables and the CA bundle. Two things are wrong with that here:

- a ``~/.netrc`` entry for the network's host *replaces* the ``Authorization`` header the
  adapter set, so the service's bearer token would never reach the network;
- the look-ups (files stat'ed, the environment scanned) cost a few per cent of the outbox
  senders' time at a couple of hundred replies a second.

So the environment is read once: the CA bundle when the session is made, the proxies once per
origin (``no_proxy`` can exempt one host and not another). ``~/.netrc`` is never read: every
adapter authenticates each request itself.

The direct client. For a small request, ``requests`` takes more of the sending thread's time
than urllib3 takes to send it and read the answer: it merges the session's settings, prepares
and adapts each request. Replies are sent at the rate posts arrive, so the Mastodon adapter
sends them through urllib3's pools directly (:class:`DirectClient`), under the same rules: the
CA bundle and proxies from the environment, read once, and no ``~/.netrc``. It follows no
redirect and retries nothing, as the session does for a reply.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.utils import (
    DEFAULT_CA_BUNDLE_PATH,
    get_auth_from_url,
    get_environ_proxies,
    prepend_scheme_if_needed,
    select_proxy,
)


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
        origin = _origin(url)
        found = self._environment_proxies.get(origin)
        if found is None:
            found = self._environment_proxies[origin] = dict(get_environ_proxies(origin))
        return found


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class RequestFailed(Exception):
    """No answer came: the server could not be reached, or the answer was cut off or late."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, read whole."""

    status_code: int
    headers: Mapping[str, str]
    """Looked up whatever the case of the name, as HTTP wants."""
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class DirectClient:
    """Requests sent through urllib3's connection pools, under :class:`ServiceSession`'s rules.

    Safe to share between threads: urllib3's pools are, and a route is only ever added.
    """

    def __init__(self, *, connections_per_host: int = 10) -> None:
        self.ca_certs = ca_bundle_from_environment() or DEFAULT_CA_BUNDLE_PATH
        self._pool_options: dict[str, Any] = {
            "maxsize": connections_per_host,
            "ca_certs": self.ca_certs,
        }
        self._direct = urllib3.PoolManager(**self._pool_options)
        self._proxies: dict[str, urllib3.ProxyManager] = {}
        self._routes: dict[str, urllib3.PoolManager] = {}  # origin → how it is reached
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None = None,
        timeout: float,
    ) -> Answer:
        """``method url``, waiting at most ``timeout`` seconds to connect and as long for each
        read; raises :class:`RequestFailed` when no whole answer came."""
        try:
            response = self._route(url).request(
                method,
                url,
                body=body,
                headers={**_DEFAULT_HEADERS, **headers},
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                retries=False,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise RequestFailed(str(exc) or type(exc).__name__) from exc
        return Answer(response.status, response.headers, response.data)

    def _route(self, url: str) -> urllib3.PoolManager:
        origin = _origin(url)
        found = self._routes.get(origin)
        if found is None:
            with self._lock:
                proxy = select_proxy(url, get_environ_proxies(origin))
                found = self._routes[origin] = self._through(proxy) if proxy else self._direct
        return found

    def _through(self, proxy: str) -> urllib3.ProxyManager:
        # Called with the lock held.
        proxy = prepend_scheme_if_needed(proxy, "http")
        found = self._proxies.get(proxy)
        if found is None:
            username, password = get_auth_from_url(proxy)
            headers = (
                urllib3.make_headers(proxy_basic_auth=f"{username}:{password}")
                if username
                else None
            )
            found = self._proxies[proxy] = urllib3.ProxyManager(
                proxy, proxy_headers=headers, **self._pool_options
            )
        return found


# What requests sends unasked, but its name.
_DEFAULT_HEADERS = {
    "User-Agent": "Payez",
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate",
}
