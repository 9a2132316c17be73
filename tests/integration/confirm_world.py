"""What the confirmation tests share: members who pay through the web app, a payment that waits
for confirmation, TOTP enrolment through the pages, and a software WebAuthn authenticator.

The authenticator follows the WebAuthn Level 2 formats: a P-256 key (``cryptography``), the
attestation statement "none", authenticator data ``rpIdHash | flags | signCount [| attested
credential data]``, a COSE_Key in CBOR, and assertions signed over
``authenticatorData | SHA-256(clientDataJSON)``. The little CBOR encoder below covers what
those structures use (unsigned and negative integers, byte and text strings, maps).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import pyotp
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from payez.adapters.db import web_accounts
from payez.adapters.db.tables.payments import payments
from payez.domain.money import Money
from payez.ports.network import Post
from payez.service.link_social_account import link_social_account
from payez.service.load_wallet import load_wallet
from payez.service.second_factor import relying_party
from tests.integration.web_world import Browser, WebWorld

_SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
_OUTCOME = re.compile(r'id="outcome" data-outcome="([a-z_]+)"')
_OPTIONS = re.compile(
    r'<script type="application/json" id="(passkey-create|passkey-get)">(.*?)</script>'
)


def member(web: WebWorld, email: str, handle: str, cents: int) -> Browser:
    """A user who signed up on the web, linked their network account and passed the checks."""
    browser = web.browser()
    assert browser.sign_up(email, name=handle.title()).status_code == 303
    user_id = browser.user_id()
    world = web.world
    account = world.network.add_account(handle)
    link_social_account(world.ctx, user_id, "memory", account)
    with world.ctx.engine.begin() as conn:
        if cents:
            load_wallet(conn, user_id, Money.eur(cents), f"load:{handle}")
        web_accounts.update_user(conn, user_id, identity_verified=True)
    world.users[handle] = user_id
    world.accounts[handle] = account
    return browser


@dataclass
class Waiting:
    post: Post
    token: str
    payment_id: int

    @property
    def path(self) -> str:
        return f"/confirm/{self.token}"


def waiting_payment(web: WebWorld, sender: str, text: str) -> Waiting:
    post = web.world.post(sender, text)
    web.world.run()
    row = web.world.payment_for(post)
    assert row["state"] == "awaiting_confirmation", row
    return Waiting(post, str(row["confirm_token"]), int(row["id"]))


def payment_state(web: WebWorld, payment_id: int) -> tuple[str, str | None]:
    with web.world.ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(payments.c.state, payments.c.reason).where(payments.c.id == payment_id)
        ).one()
    return str(row.state), row.reason


def outcome_of(page: str) -> str:
    found = _OUTCOME.search(page)
    assert found, page
    return found.group(1)


def code_now(web: WebWorld, secret: str) -> str:
    return str(pyotp.TOTP(secret).at(web.world.clock.now()))


def enrol_totp(web: WebWorld, browser: Browser, next_path: str = "") -> str:
    """Enrol a TOTP secret through the settings pages; returns the secret the page showed."""
    started = browser.submit(
        "/settings/security/totp", {"next": next_path}, form_page="/settings/security"
    )
    assert started.status_code == 303, started.text
    page = browser.get("/settings/security").text
    found = _SECRET.search(page)
    assert found, page
    secret = found.group(1)
    assert f"secret={secret}" in page  # the otpauth:// URI carries the same secret
    enabled = browser.submit(
        "/settings/security/totp/verify",
        {"code": code_now(web, secret), "next": next_path},
        form_page="/settings/security",
    )
    assert enabled.status_code == 303, enabled.text
    # The enrolment code is spent: the next code comes from the next 30-second step.
    web.world.later(seconds=30)
    return secret


def passkey_options(page: str, kind: str) -> dict[str, Any]:
    found = dict(_OPTIONS.findall(page))
    assert kind in found, page
    options = json.loads(found[kind])
    assert isinstance(options, dict)
    return options


# -- a software authenticator ----------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | extra]) + value.to_bytes(size, "big")
    raise ValueError(value)


def cbor(value: Any) -> bytes:
    if isinstance(value, int):
        return _cbor_head(0, value) if value >= 0 else _cbor_head(1, -1 - value)
    if isinstance(value, bytes):
        return _cbor_head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _cbor_head(3, len(raw)) + raw
    if isinstance(value, dict):
        return _cbor_head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


FLAG_UP, FLAG_UV, FLAG_AT = 0x01, 0x04, 0x40


@dataclass
class SoftAuthenticator:
    rp_id: str
    origin: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    sign_count: int = 0

    @classmethod
    def for_site(cls, web: WebWorld) -> SoftAuthenticator:
        rp = relying_party(web.world.ctx.settings)
        return cls(rp.id, rp.origin)

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        # kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y
        return cbor(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin},
            separators=(",", ":"),
        ).encode()

    def create(self, options: dict[str, Any], *, origin: str | None = None) -> str:
        """The JSON a browser posts after ``navigator.credentials.create(options)``."""
        assert options["rp"]["id"] == self.rp_id
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = (
            bytes(16)  # AAGUID: none
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self.cose_key()
        )
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([FLAG_UP | FLAG_UV | FLAG_AT])
            + self.sign_count.to_bytes(4, "big")
            + attested
        )
        attestation = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
            }
        )

    def get(
        self,
        options: dict[str, Any],
        *,
        challenge: str | None = None,
        sign_count: int | None = None,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        """The JSON a browser posts after ``navigator.credentials.get(options)``; the keyword
        arguments forge what a broken or cloned authenticator would send."""
        allowed = [c["id"] for c in options.get("allowCredentials", [])]
        assert b64url(self.credential_id) in allowed
        if sign_count is None:
            self.sign_count += 1
            sign_count = self.sign_count
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], None)
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([FLAG_UP | FLAG_UV])
            + sign_count.to_bytes(4, "big")
        )
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = (key or self.key).sign(signed, ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                },
                "clientExtensionResults": {},
            }
        )
