"""The AT Protocol OAuth client against a fake authorization server written from the
specification's formats: DPoP proofs signed and nonce-bound, PAR then authorize, the token's
``sub`` trusted only when its DID document points back to the same authorization server."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from payez.adapters.networks.bluesky_oauth import (
    BlueskyOAuthClient,
    client_id_for,
    client_metadata,
)
from payez.ports.network import AuthenticationFailed, NetworkUnavailable
from payez.ports.sign_in import SignedInElsewhere

PDS = "https://pds.example"
ISSUER = "https://auth.example"
PLC = "https://plc.example"
OTHER_PDS = "https://other-pds.example"
OTHER_ISSUER = "https://other-auth.example"
DID = "did:plc:abcdefghijklmnopqrstuvwx"


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verified_proof(proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a DPoP proof, once its ES256 signature checks out."""
    header_b64, claims_b64, signature_b64 = proof.split(".")
    header = json.loads(_b64decode(header_b64))
    claims = json.loads(_b64decode(claims_b64))
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    jwk = header["jwk"]
    key = ec.EllipticCurvePublicNumbers(
        int.from_bytes(_b64decode(jwk["x"]), "big"),
        int.from_bytes(_b64decode(jwk["y"]), "big"),
        ec.SECP256R1(),
    ).public_key()
    raw = _b64decode(signature_b64)
    signature = encode_dss_signature(
        int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    )
    key.verify(signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    return header, claims


class FakeAuthorizationServer:
    """PDS, authorization server and PLC directory in one handler."""

    def __init__(self) -> None:
        self.nonce = "nonce-1"
        self.user_pds = PDS  # where the DID document says the account lives
        self.aliases = ["at://alice.example"]
        self.resolves_to = DID
        self.token: dict[str, Any] = {
            "access_token": "at",
            "token_type": "DPoP",
            "sub": DID,
            "scope": "atproto",
        }
        self.proofs: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.forms: list[dict[str, list[str]]] = []
        self.fail_with: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url).split("?")[0]
        if self.fail_with is not None:
            return httpx.Response(self.fail_with)
        if url == f"{PDS}/.well-known/oauth-protected-resource":
            return httpx.Response(200, json={"authorization_servers": [ISSUER]})
        if url == f"{OTHER_PDS}/.well-known/oauth-protected-resource":
            return httpx.Response(200, json={"authorization_servers": [OTHER_ISSUER]})
        if url == f"{ISSUER}/.well-known/oauth-authorization-server":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "pushed_authorization_request_endpoint": f"{ISSUER}/oauth/par",
                    "authorization_endpoint": f"{ISSUER}/oauth/authorize",
                    "token_endpoint": f"{ISSUER}/oauth/token",
                },
            )
        if url in (f"{ISSUER}/oauth/par", f"{ISSUER}/oauth/token"):
            header, claims = verified_proof(request.headers["DPoP"])
            self.proofs.append(claims)
            self.keys.append(json.dumps(header["jwk"], sort_keys=True))
            assert claims["htm"] == "POST" and claims["htu"] == url
            if claims.get("nonce") != self.nonce:
                return httpx.Response(
                    400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": self.nonce}
                )
            self.forms.append(parse_qs(request.content.decode()))
            if url.endswith("/par"):
                return httpx.Response(201, json={"request_uri": "urn:req-1", "expires_in": 60})
            return httpx.Response(200, json=self.token)
        if url == f"{PLC}/{DID}":
            return httpx.Response(
                200,
                json={
                    "id": DID,
                    "alsoKnownAs": self.aliases,
                    "service": [
                        {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                         "serviceEndpoint": self.user_pds}
                    ],
                },
            )  # fmt: skip
        if url == f"{PDS}/xrpc/com.atproto.identity.resolveHandle":
            return httpx.Response(200, json={"did": self.resolves_to})
        return httpx.Response(404)


@pytest.fixture
def server() -> FakeAuthorizationServer:
    return FakeAuthorizationServer()


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> BlueskyOAuthClient:
    return BlueskyOAuthClient(
        network="bluesky",
        service_url=PDS,
        plc_url=PLC,
        base_url="https://payez.example",
        secret="server-secret",
        transport=httpx.MockTransport(handler),
    )


def test_the_request_is_pushed_with_pkce_and_a_nonce_bound_proof(
    server: FakeAuthorizationServer,
) -> None:
    url = _client(server).authorize_url("signed-state")
    assert url == (
        f"{ISSUER}/oauth/authorize?client_id=https%3A%2F%2Fpayez.example%2Foauth%2Fbluesky"
        "%2Fclient-metadata.json&request_uri=urn%3Areq-1"
    )
    # Without the nonce first, as a client that has none yet; then with the one handed out.
    assert [p.get("nonce") for p in server.proofs] == [None, "nonce-1"]
    (form,) = server.forms
    assert form["code_challenge_method"] == ["S256"]
    assert form["state"] == ["signed-state"]
    assert form["redirect_uri"] == ["https://payez.example/oauth/bluesky/callback"]
    assert form["scope"] == ["atproto"]


def test_the_second_leg_proves_the_same_key_and_verifier_and_names_the_did(
    server: FakeAuthorizationServer,
) -> None:
    client = _client(server)
    client.authorize_url("signed-state")
    signed_in = client.signed_in("code-1", state="signed-state")
    assert signed_in.account.id == DID and signed_in.account.handle == "alice.example"
    assert signed_in.access_token == ""  # DPoP-bound to a key Payez does not keep
    assert len(set(server.keys)) == 1  # both legs, one key, derived from the state
    par, token = server.forms
    verifier = token["code_verifier"][0]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert par["code_challenge"] == [challenge.decode()]
    other = _client(server)
    other.authorize_url("another-state")
    assert len(set(server.keys)) == 2  # another sign-in, another key


def test_an_account_served_by_another_authorization_server_is_not_trusted(
    server: FakeAuthorizationServer,
) -> None:
    client = _client(server)
    client.authorize_url("s")
    server.user_pds = OTHER_PDS
    with pytest.raises(SignedInElsewhere):
        client.signed_in("code-1", state="s")


def test_a_handle_that_does_not_resolve_back_is_replaced_by_the_did(
    server: FakeAuthorizationServer,
) -> None:
    server.resolves_to = "did:plc:someoneelse"
    assert _client(server).signed_in("code-1", state="s").account.handle == DID


@pytest.mark.parametrize(
    "token",
    [
        {"token_type": "Bearer", "sub": DID, "scope": "atproto"},
        {"token_type": "DPoP", "sub": DID, "scope": "transition:generic"},
        {"token_type": "DPoP", "sub": "alice", "scope": "atproto"},
    ],
)
def test_a_token_answer_that_proves_nothing_is_refused(
    server: FakeAuthorizationServer, token: dict[str, Any]
) -> None:
    server.token = token
    with pytest.raises(AuthenticationFailed):
        _client(server).signed_in("code-1", state="s")


def test_an_outage_is_network_unavailable(server: FakeAuthorizationServer) -> None:
    server.fail_with = 503
    with pytest.raises(NetworkUnavailable):
        _client(server).authorize_url("s")

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(NetworkUnavailable):
        _client(unreachable).signed_in("code", state="s")


def test_the_client_id_is_the_metadata_url_or_the_loopback_form() -> None:
    assert client_id_for("https://payez.example/") == (
        "https://payez.example/oauth/bluesky/client-metadata.json"
    )
    loopback = client_id_for("http://localhost:8000")
    assert urlsplit(loopback).netloc == "localhost"
    query = parse_qs(urlsplit(loopback).query)
    assert query == {
        "redirect_uri": ["http://127.0.0.1:8000/oauth/bluesky/callback"],
        "scope": ["atproto"],
    }
    meta = client_metadata("https://payez.example")
    assert meta["client_id"] == "https://payez.example/oauth/bluesky/client-metadata.json"
    assert meta["dpop_bound_access_tokens"] is True
    assert meta["token_endpoint_auth_method"] == "none"
    assert meta["redirect_uris"] == ["https://payez.example/oauth/bluesky/callback"]
