"""Payez as an OAuth 2.0 client of X: Authorization Code with PKCE (S256), public client.

The browser goes to X's authorize page with a code challenge; X sends it back with a code,
exchanged at ``{api}/2/oauth2/token`` with the code verifier; ``GET /2/users/me`` then says who
signed in: the immutable numeric id, and the current username.

The verifier is never stored nor sent through the browser: it is derived from the signed OAuth
state with a server secret, so whoever sees the return link (code and state) still cannot
redeem the code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests

from payez.adapters.networks.http_session import ServiceSession
from payez.adapters.networks.x_wire import Body, account_of, tweepy_client, x_errors
from payez.ports.network import AuthenticationFailed, NetworkError, NetworkUnavailable
from payez.ports.sign_in import READ_SCOPES, SignedIn

DEFAULT_AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
# Reading who signed in needs users.read and tweet.read; publishing as them, tweet.write.
_READ = ("tweet.read", "users.read")
_WRITE = ("tweet.write",)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class XOAuthClient:
    network: str
    api_url: str
    client_id: str
    redirect_uri: str
    pkce_secret: str = field(repr=False)
    authorize_page: str = DEFAULT_AUTHORIZE_URL
    timeout: float = 15.0

    def _verifier(self, state: str) -> str:
        # 43 characters of base64url: within RFC 7636's 43 to 128.
        mac = hmac.new(self.pkce_secret.encode(), b"x-pkce:" + state.encode(), hashlib.sha256)
        return _b64url(mac.digest())

    @staticmethod
    def _scopes(scopes: tuple[str, ...]) -> str:
        wanted = list(_READ) + (list(_WRITE) if "write:statuses" in scopes else [])
        return " ".join(wanted)

    def authorize_url(self, state: str, scopes: tuple[str, ...] = READ_SCOPES) -> str:
        challenge = _b64url(hashlib.sha256(self._verifier(state).encode()).digest())
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self._scopes(scopes),
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.authorize_page}?{query}"

    def signed_in(
        self, code: str, scopes: tuple[str, ...] = READ_SCOPES, state: str = ""
    ) -> SignedIn:
        try:
            answer = ServiceSession().post(
                f"{self.api_url.rstrip('/')}/2/oauth2/token",
                data={
                    "code": code,
                    "grant_type": "authorization_code",
                    "client_id": self.client_id,
                    "redirect_uri": self.redirect_uri,
                    "code_verifier": self._verifier(state),
                },
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise NetworkUnavailable(str(exc)) from exc
        if answer.status_code >= 500:
            raise NetworkUnavailable(f"X token endpoint: {answer.status_code}")
        token = _access_token(answer)
        api = tweepy_client(self.api_url, self.timeout, bearer_token=token)
        with x_errors():
            me = Body.of(api.get_me(user_fields=["username"], user_auth=False)).first
        if me is None:
            raise AuthenticationFailed("X did not say who signed in")
        return SignedIn(account=account_of(me), access_token=token)


def _access_token(answer: requests.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise AuthenticationFailed(f"X refused the code: {answer.status_code} {error or ''}")
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise NetworkError("X granted no access token")
    return token
