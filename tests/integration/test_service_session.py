"""The network adapters' HTTP clients (``adapters/networks/http_session.py``), the session and
the direct client alike: the environment's proxies and CA bundle still apply, its ``~/.netrc``
never does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from payez.adapters.networks.http_session import DirectClient, RequestFailed, ServiceSession
from tests.integration.network_server import serve


def _recorder(seen: list[dict[str, str]]) -> Starlette:
    """A server that answers every request with what it was sent: as a proxy, it sees the host
    the request was meant for."""

    def record(request: Request) -> JSONResponse:
        seen.append(
            {
                "host": request.headers.get("host", ""),
                "authorization": request.headers.get("authorization", ""),
                "proxy-authorization": request.headers.get("proxy-authorization", ""),
            }
        )
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/{path:path}", record)])


Fetch = Callable[..., int]
"""``fetch(url, **headers)``: a GET through one client made for the test; the status code."""


def _session() -> Fetch:
    session = ServiceSession()
    return lambda url, **headers: session.get(url, headers=headers, timeout=5).status_code


def _direct_client() -> Fetch:
    client = DirectClient()
    return lambda url, **headers: client.request("GET", url, headers=headers, timeout=5).status_code


# Each client is made once the test has set the environment, as a process makes its own.
EITHER_CLIENT = pytest.mark.parametrize("client", [_session, _direct_client])


@EITHER_CLIENT
@pytest.mark.usefixtures("netrc_for_localhost")
def test_the_authorization_header_is_sent_despite_a_netrc_entry(
    client: Callable[[], Fetch],
) -> None:
    seen: list[dict[str, str]] = []
    with serve(_recorder(seen)) as server:
        assert client()(server.url + "/x", Authorization="Bearer t") == 200
    assert seen[0]["authorization"] == "Bearer t"


@pytest.mark.usefixtures("netrc_for_localhost")
def test_a_default_session_would_send_the_netrc_credentials_instead() -> None:
    # The reason for ServiceSession.
    seen: list[dict[str, str]] = []
    with serve(_recorder(seen)) as server:
        requests.Session().get(server.url + "/x", headers={"Authorization": "Bearer t"})
    assert seen[0]["authorization"].startswith("Basic ")


@EITHER_CLIENT
def test_requests_go_through_the_proxy_the_environment_names(
    client: Callable[[], Fetch], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, str]] = []
    with serve(_recorder(seen)) as proxy:
        host_and_port = proxy.url.removeprefix("http://")
        monkeypatch.setenv("HTTP_PROXY", f"http://payez:s%40cret@{host_and_port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        fetch = client()
        assert fetch("http://social.invalid/api/v1/instance") == 200
        assert fetch("http://social.invalid/api/v1/instance") == 200
    assert [request["host"] for request in seen] == ["social.invalid", "social.invalid"]
    # The proxy's credentials, from its URL.
    assert seen[0]["proxy-authorization"] == requests.auth._basic_auth_str("payez", "s@cret")


@EITHER_CLIENT
def test_a_host_the_environment_exempts_is_reached_directly(
    client: Callable[[], Fetch], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_by_proxy: list[dict[str, str]] = []
    seen_directly: list[dict[str, str]] = []
    with serve(_recorder(seen_by_proxy)) as proxy, serve(_recorder(seen_directly)) as server:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert client()(server.url + "/direct") == 200
    assert seen_by_proxy == []
    assert len(seen_directly) == 1


@pytest.mark.parametrize(
    ("trusted", "by_default"),
    [
        (lambda: ServiceSession().verify, True),
        (lambda: DirectClient().ca_certs, requests.utils.DEFAULT_CA_BUNDLE_PATH),
    ],
    ids=["session", "direct_client"],
)
def test_the_ca_bundle_the_environment_names_is_the_one_trusted(
    trusted: Callable[[], object], by_default: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/payez/ca.pem")
    assert trusted() == "/etc/payez/ca.pem"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/payez/curl.pem")
    assert trusted() == "/etc/payez/curl.pem"
    monkeypatch.delenv("CURL_CA_BUNDLE")
    assert trusted() == by_default


def test_the_direct_client_reads_the_answer_whole() -> None:
    with serve(_recorder([])) as server:
        answer = DirectClient().request("GET", server.url + "/x", headers={}, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}
    assert answer.headers["CONTENT-TYPE"] == answer.headers["content-type"] == "application/json"


def test_the_direct_client_tells_a_server_it_cannot_reach() -> None:
    with serve(Starlette()) as server:
        url = server.url
    with pytest.raises(RequestFailed):
        DirectClient().request("GET", url + "/gone", headers={}, timeout=5)
