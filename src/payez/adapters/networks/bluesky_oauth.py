"""Payez as an AT Protocol OAuth client: who a person is on Bluesky, proved by their own server.

The AT Protocol profile of OAuth 2.1: the authorization server is discovered from the PDS
(``/.well-known/oauth-protected-resource``, then ``/.well-known/oauth-authorization-server``);
the request is pushed first (PAR) and the browser goes to the authorize page with its
``request_uri`` only; PKCE (S256) and DPoP (an ES256 proof on every request to the server, with
the nonce it hands out) are mandatory. The token answer names the account's DID (``sub``); that
is trusted only once the DID's own document says its PDS is served by this same authorization
server. The handle shown is the one the DID document claims, kept only if it resolves back to
the DID.

Payez is a public client: its ``client_id`` is the URL of its client metadata
(``/oauth/bluesky/client-metadata.json``), or, for a Payez on a loopback address, the
``http://localhost`` form the specification gives development clients. Nothing is stored between
the two legs: the PKCE verifier and the DPoP key are both derived from the signed OAuth state
with a server secret. Only the identity is kept: the tokens are DPoP-bound to that key and
dropped, so a merchant cannot yet publish listings on Bluesky through this link.

Accounts whose PDS uses another authorization server than ``PAYEZ_BLUESKY_SERVICE``'s are told
so and can link by code instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from payez.ports.network import (
    AuthenticationFailed,
    NetworkAccount,
    NetworkError,
    NetworkUnavailable,
)
from payez.ports.sign_in import READ_SCOPES, SignedIn, SignedInElsewhere

SCOPE = "atproto"
METADATA_PATH = "/oauth/bluesky/client-metadata.json"
# The order of the P-256 group: a private scalar is in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "[::1]", "::1", "localhost")


def client_id_for(base_url: str) -> str:
    """Payez's ``client_id``: its metadata document's URL, or the development form on loopback."""
    base = base_url.rstrip("/")
    if is_loopback(base):
        # Loopback clients name their redirect URI on 127.0.0.1, never "localhost".
        redirect = callback_for(base).replace("//localhost", "//127.0.0.1", 1)
        return f"http://localhost?redirect_uri={quote(redirect, safe='')}&scope={quote(SCOPE)}"
    return f"{base}{METADATA_PATH}"


def callback_for(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/oauth/bluesky/callback"


def client_metadata(base_url: str) -> dict[str, Any]:
    """The document ``client_id`` points to (served by the web app)."""
    base = base_url.rstrip("/")
    return {
        "client_id": client_id_for(base),
        "client_name": "Payez",
        "client_uri": base,
        "redirect_uris": [callback_for(base)],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "scope": SCOPE,
        "token_endpoint_auth_method": "none",
        "application_type": "web",
        "dpop_bound_access_tokens": True,
    }


@dataclass(frozen=True, slots=True)
class _Server:
    issuer: str
    par_endpoint: str
    authorization_endpoint: str
    token_endpoint: str


@dataclass(frozen=True, slots=True)
class BlueskyOAuthClient:
    network: str
    service_url: str  # the PDS or entryway whose authorization server Payez signs people in at
    plc_url: str  # where did:plc documents are read
    base_url: str  # Payez's public address
    secret: str = field(repr=False)
    timeout: float = 15.0
    transport: httpx.BaseTransport | None = None

    @property
    def client_id(self) -> str:
        return client_id_for(self.base_url)

    def metadata(self) -> dict[str, Any]:
        return client_metadata(self.base_url)

    @property
    def redirect_uri(self) -> str:
        uri = callback_for(self.base_url)
        return uri.replace("//localhost", "//127.0.0.1", 1) if is_loopback(uri) else uri

    # -- the two legs ------------------------------------------------------------------------

    def authorize_url(self, state: str, scopes: tuple[str, ...] = READ_SCOPES) -> str:
        with self._http() as http, _outage():
            server = self._server(http, self.service_url)
            pushed = self._dpop_post(
                http,
                server.par_endpoint,
                state,
                {
                    "client_id": self.client_id,
                    "response_type": "code",
                    "redirect_uri": self.redirect_uri,
                    "scope": SCOPE,
                    "state": state,
                    "code_challenge": _b64url(hashlib.sha256(self._verifier(state)).digest()),
                    "code_challenge_method": "S256",
                },
            )
        request_uri = pushed.get("request_uri")
        if not isinstance(request_uri, str):
            raise NetworkError("the authorization server gave no request_uri")
        query = urlencode({"client_id": self.client_id, "request_uri": request_uri})
        return f"{server.authorization_endpoint}?{query}"

    def signed_in(
        self, code: str, scopes: tuple[str, ...] = READ_SCOPES, state: str = ""
    ) -> SignedIn:
        with self._http() as http, _outage():
            server = self._server(http, self.service_url)
            token = self._dpop_post(
                http,
                server.token_endpoint,
                state,
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.redirect_uri,
                    "code_verifier": self._verifier(state).decode("ascii"),
                    "client_id": self.client_id,
                },
            )
            did = token.get("sub")
            granted = str(token.get("scope", "")).split()
            if not isinstance(did, str) or not did.startswith("did:") or SCOPE not in granted:
                raise AuthenticationFailed("the token names no AT Protocol account")
            if str(token.get("token_type", "")).lower() != "dpop":
                raise AuthenticationFailed("the token is not DPoP-bound")
            document = self._did_document(http, did)
            pds = _pds_of(document)
            if pds is None or server.issuer not in self._authorization_servers(http, pds):
                raise SignedInElsewhere(did)
            handle = _claimed_handle(document)
            if handle is None or self._resolve(http, pds, handle) != did:
                handle = did
        # The tokens are bound to a key derived for this sign-in only: Payez keeps none.
        return SignedIn(account=NetworkAccount(id=did, handle=handle), access_token="")

    # -- discovery ---------------------------------------------------------------------------

    def _server(self, http: httpx.Client, resource: str) -> _Server:
        issuer = self._authorization_servers(http, resource)[0]
        meta = _json(http.get(f"{issuer.rstrip('/')}/.well-known/oauth-authorization-server"))
        if meta.get("issuer") != issuer:
            raise NetworkError("the authorization server's metadata names another issuer")
        try:
            return _Server(
                issuer=issuer,
                par_endpoint=str(meta["pushed_authorization_request_endpoint"]),
                authorization_endpoint=str(meta["authorization_endpoint"]),
                token_endpoint=str(meta["token_endpoint"]),
            )
        except KeyError as exc:
            raise NetworkError(f"the authorization server does not say its {exc}") from None

    def _authorization_servers(self, http: httpx.Client, resource: str) -> list[str]:
        meta = _json(http.get(f"{resource.rstrip('/')}/.well-known/oauth-protected-resource"))
        servers = meta.get("authorization_servers")
        if not isinstance(servers, list) or not servers:
            raise NetworkError(f"{resource} names no authorization server")
        return [str(s) for s in servers]

    def _did_document(self, http: httpx.Client, did: str) -> dict[str, Any]:
        if did.startswith("did:plc:"):
            return _json(http.get(f"{self.plc_url.rstrip('/')}/{did}"))
        if did.startswith("did:web:"):
            host = did.removeprefix("did:web:").replace("%3A", ":")
            return _json(http.get(f"https://{host}/.well-known/did.json"))
        raise AuthenticationFailed(f"unsupported DID method: {did[:32]}")

    def _resolve(self, http: httpx.Client, pds: str, handle: str) -> str | None:
        answer = http.get(
            f"{pds.rstrip('/')}/xrpc/com.atproto.identity.resolveHandle",
            params={"handle": handle},
        )
        if answer.status_code != 200:
            return None
        did = _json(answer).get("did")
        return did if isinstance(did, str) else None

    # -- DPoP --------------------------------------------------------------------------------

    def _dpop_post(
        self, http: httpx.Client, url: str, state: str, form: dict[str, str]
    ) -> dict[str, Any]:
        """POST ``form`` with a DPoP proof, once more with the server's nonce if it asks."""
        key = self._dpop_key(state)
        nonce: str | None = None
        for _ in range(2):
            answer = http.post(url, data=form, headers={"DPoP": _proof(key, "POST", url, nonce)})
            fresh = answer.headers.get("DPoP-Nonce")
            if answer.status_code in (400, 401) and fresh and _error(answer) == "use_dpop_nonce":
                nonce = fresh
                continue
            break
        if answer.status_code >= 500:
            raise NetworkUnavailable(f"authorization server: {answer.status_code}")
        if answer.status_code not in (200, 201):
            raise AuthenticationFailed(f"{answer.status_code} {_error(answer) or ''}".strip())
        return _json(answer)

    def _dpop_key(self, state: str) -> ec.EllipticCurvePrivateKey:
        mac = hmac.new(self.secret.encode(), b"bluesky-dpop:" + state.encode(), hashlib.sha512)
        scalar = int.from_bytes(mac.digest(), "big") % (_P256_ORDER - 1) + 1
        return ec.derive_private_key(scalar, ec.SECP256R1())

    def _verifier(self, state: str) -> bytes:
        mac = hmac.new(self.secret.encode(), b"bluesky-pkce:" + state.encode(), hashlib.sha256)
        return _b64url(mac.digest()).encode("ascii")  # 43 characters, as RFC 7636 asks

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout, transport=self.transport, follow_redirects=False)


@contextmanager
def _outage() -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError as exc:
        raise NetworkUnavailable(f"{type(exc).__name__}: {exc}") from exc


def _proof(key: ec.EllipticCurvePrivateKey, method: str, url: str, nonce: str | None) -> str:
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method,
        "htu": url.split("?", 1)[0],
        "iat": int(time.time()),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _json(answer: httpx.Response) -> dict[str, Any]:
    if answer.status_code >= 500:
        raise NetworkUnavailable(f"{answer.request.url.host}: {answer.status_code}")
    if answer.status_code not in (200, 201):
        raise NetworkError(f"{answer.request.url}: {answer.status_code}")
    try:
        body = answer.json()
    except ValueError:
        raise NetworkError(f"{answer.request.url}: not JSON") from None
    if not isinstance(body, dict):
        raise NetworkError(f"{answer.request.url}: not a JSON object")
    return body


def _error(answer: httpx.Response) -> str | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _pds_of(document: dict[str, Any]) -> str | None:
    for service in document.get("service") or []:
        if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
            endpoint = service.get("serviceEndpoint")
            return endpoint if isinstance(endpoint, str) else None
    return None


def _claimed_handle(document: dict[str, Any]) -> str | None:
    for alias in document.get("alsoKnownAs") or []:
        if isinstance(alias, str) and alias.startswith("at://"):
            return alias.removeprefix("at://")
    return None
