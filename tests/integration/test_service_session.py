"""The network adapters' HTTP clients (``adapters/networks/http_session.py``), the session and
the direct client alike: the environment's proxies and CA bundle still apply, its ``~/.netrc``
never does."""

from __future__ import annotations

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


@pytest.mark.usefixtures("netrc_for_localhost")
def test_the_authorization_header_is_sent_despite_a_netrc_entry() -> None:
    seen: list[dict[str, str]] = []
    with serve(_recorder(seen)) as server:
        answer = ServiceSession().get(server.url + "/x", headers={"Authorization": "Bearer t"})
        plain = requests.Session().get(server.url + "/x", headers={"Authorization": "Bearer t"})
    assert answer.status_code == plain.status_code == 200
    assert seen[0]["authorization"] == "Bearer t"
    # What a default session does with the same file: the reason for ServiceSession.
    assert seen[1]["authorization"].startswith("Basic ")


def test_requests_go_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, str]] = []
    with serve(_recorder(seen)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        session = ServiceSession()
        assert session.get("http://social.invalid/api/v1/instance", timeout=5).json() == {
            "ok": True
        }
        assert session.get("http://social.invalid/api/v1/instance", timeout=5).ok
    assert [request["host"] for request in seen] == ["social.invalid", "social.invalid"]


def test_a_host_the_environment_exempts_is_reached_directly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen_by_proxy: list[dict[str, str]] = []
    seen_directly: list[dict[str, str]] = []
    with serve(_recorder(seen_by_proxy)) as proxy, serve(_recorder(seen_directly)) as server:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert ServiceSession().get(server.url + "/direct", timeout=5).ok
    assert seen_by_proxy == []
    assert len(seen_directly) == 1


def test_the_ca_bundle_the_environment_names_is_the_one_trusted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/payez/ca.pem")
    assert ServiceSession().verify == "/etc/payez/ca.pem"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/payez/curl.pem")
    assert ServiceSession().verify == "/etc/payez/curl.pem"
    monkeypatch.delenv("CURL_CA_BUNDLE")
    assert ServiceSession().verify is True


def _get(client: DirectClient, url: str, **headers: str) -> int:
    return client.request("GET", url, headers=headers, timeout=5).status_code


@pytest.mark.usefixtures("netrc_for_localhost")
def test_the_direct_client_sends_its_own_authorization_and_reads_the_answer_whole() -> None:
    seen: list[dict[str, str]] = []
    with serve(_recorder(seen)) as server:
        answer = DirectClient().request(
            "GET", server.url + "/x", headers={"Authorization": "Bearer t"}, timeout=5
        )
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}
    assert answer.headers["CONTENT-TYPE"] == answer.headers["content-type"] == "application/json"
    assert seen[0]["authorization"] == "Bearer t"


def test_the_direct_client_goes_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, str]] = []
    with serve(_recorder(seen)) as proxy:
        host_and_port = proxy.url.removeprefix("http://")
        monkeypatch.setenv("HTTP_PROXY", f"http://payez:s%40cret@{host_and_port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = DirectClient()
        assert _get(client, "http://social.invalid/api/v1/instance") == 200
        assert _get(client, "http://social.invalid/api/v1/instance") == 200
    assert [request["host"] for request in seen] == ["social.invalid", "social.invalid"]
    # The proxy's credentials, from its URL, as requests sends them.
    assert seen[0]["proxy-authorization"] == requests.auth._basic_auth_str("payez", "s@cret")


def test_the_direct_client_reaches_a_host_the_environment_exempts_directly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen_by_proxy: list[dict[str, str]] = []
    seen_directly: list[dict[str, str]] = []
    with serve(_recorder(seen_by_proxy)) as proxy, serve(_recorder(seen_directly)) as server:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert _get(DirectClient(), server.url + "/direct") == 200
    assert seen_by_proxy == []
    assert len(seen_directly) == 1


def test_the_direct_client_trusts_the_ca_bundle_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/payez/ca.pem")
    assert DirectClient().ca_certs == "/etc/payez/ca.pem"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    assert DirectClient().ca_certs == requests.utils.DEFAULT_CA_BUNDLE_PATH


def test_the_direct_client_tells_a_server_it_cannot_reach() -> None:
    with serve(Starlette()) as server:
        url = server.url
    with pytest.raises(RequestFailed):
        _get(DirectClient(), url + "/gone")
