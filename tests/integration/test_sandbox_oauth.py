"""The Mastodon OAuth authorization-code flow of the sandbox, driven as a browser would."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonIllegalArgumentError

from tests.integration.sandbox_server import Sandbox, running_sandbox

CALLBACK = "http://127.0.0.1/callback"


@pytest.fixture
def sandbox(sqlite_url: str) -> Any:
    with running_sandbox(sqlite_url) as running:
        yield running


def _hidden_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


def _authorize(sandbox: Sandbox, api: Mastodon, username: str, password: str) -> httpx.Response:
    url = api.auth_request_url(redirect_uris=CALLBACK, scopes=["read"], state="xyz-123")
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        form = browser.get(url)
        assert form.status_code == 200
        assert 'name="password"' in form.text and "payez-tests" in form.text
        fields = _hidden_fields(form.text)
        assert fields["redirect_uri"] == CALLBACK and fields["state"] == "xyz-123"
        return browser.post(
            f"{sandbox.api_base_url}/oauth/authorize",
            data={**fields, "username": username, "password": password},
        )


def test_authorization_code_flow_proves_account_ownership(sandbox: Sandbox) -> None:
    sandbox.user("bob", "bob-secret")
    client_id, secret = sandbox.app_credentials()
    api = Mastodon(client_id=client_id, client_secret=secret, api_base_url=sandbox.api_base_url)

    refused = _authorize(sandbox, api, "bob", "not-his-password")
    assert refused.status_code == 401
    assert "incorrect" in refused.text or "Wrong" in refused.text

    answer = _authorize(sandbox, api, "bob", "bob-secret")
    assert answer.status_code == 302
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
    query = parse_qs(target.query)
    assert query["state"] == ["xyz-123"]
    code = query["code"][0]

    token = api.log_in(code=code, redirect_uri=CALLBACK, scopes=["read"])
    assert token
    me = api.account_verify_credentials()
    assert me.acct == "bob"
    assert me.uri == sandbox.account_uri("bob")

    # A code is good once.
    other = Mastodon(client_id=client_id, client_secret=secret, api_base_url=sandbox.api_base_url)
    with pytest.raises(MastodonIllegalArgumentError):
        other.log_in(code=code, redirect_uri=CALLBACK, scopes=["read"])


def test_code_is_bound_to_its_redirect_uri_and_app(sandbox: Sandbox) -> None:
    sandbox.user("bob", "bob-secret")
    client_id, secret = sandbox.app_credentials()
    api = Mastodon(client_id=client_id, client_secret=secret, api_base_url=sandbox.api_base_url)
    code = parse_qs(
        urlsplit(_authorize(sandbox, api, "bob", "bob-secret").headers["location"]).query
    )["code"][0]
    other_id, other_secret = Mastodon.create_app(
        "another-app", api_base_url=sandbox.api_base_url, redirect_uris=CALLBACK
    )
    thief = Mastodon(
        client_id=other_id, client_secret=other_secret, api_base_url=sandbox.api_base_url
    )
    with pytest.raises(MastodonIllegalArgumentError):
        thief.log_in(code=code, redirect_uri=CALLBACK, scopes=["read"])
    with pytest.raises(MastodonIllegalArgumentError):
        api.log_in(code=code, redirect_uri="urn:ietf:wg:oauth:2.0:oob", scopes=["read"])
    # Still unused: the right app with the right redirect gets its token.
    assert api.log_in(code=code, redirect_uri=CALLBACK, scopes=["read"])


def test_unregistered_redirect_uri_is_refused(sandbox: Sandbox) -> None:
    client_id, _ = sandbox.app_credentials()
    answer = httpx.get(
        f"{sandbox.api_base_url}/oauth/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": "https://evil.example/steal",
            "response_type": "code",
        },
    )
    assert answer.status_code == 422
    assert "redirect_uri" in answer.json()["error"]


def test_out_of_band_code_is_shown(sandbox: Sandbox) -> None:
    sandbox.user("carol", "carol-secret")
    client_id, secret = sandbox.app_credentials()
    api = Mastodon(client_id=client_id, client_secret=secret, api_base_url=sandbox.api_base_url)
    url = api.auth_request_url(scopes=["read"])
    with httpx.Client(timeout=10) as browser:
        fields = _hidden_fields(browser.get(url, headers={"Accept-Language": "en"}).text)
        page = browser.post(
            f"{sandbox.api_base_url}/oauth/authorize",
            data={**fields, "username": "carol", "password": "carol-secret"},
        )
    assert page.status_code == 200
    match = re.search(r'<p class="code" id="code">([^<]+)</p>', page.text)
    assert match is not None
    api.log_in(code=match.group(1), scopes=["read"])
    assert api.me().acct == "carol"
