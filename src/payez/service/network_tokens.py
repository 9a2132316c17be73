"""The access tokens people grant Payez to publish as them, sealed at rest.

A merchant who lets Payez publish their listings grants an access token on their network; it
is kept only for that (never for reading), on their linked account, sealed with AES-GCM under a
key derived from ``PAYEZ_SECRET_KEY`` (HKDF, its own label) and bound to the network and the
account's immutable id: a sealed token copied onto another account does not open. A token that
does not open (the secret key changed) counts as none: the merchant links the account again.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from payez.config import Settings

_NONCE_BYTES = 12


def _key(settings: Settings) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"payez network token v1"
    ).derive(settings.secret_key.encode("utf-8"))
    return AESGCM(derived)


def _bound_to(network: str, account_id: str) -> bytes:
    return f"{network}\n{account_id}".encode()


def seal_token(settings: Settings, network: str, account_id: str, token: str) -> str:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = _key(settings).encrypt(nonce, token.encode("utf-8"), _bound_to(network, account_id))
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_token(settings: Settings, network: str, account_id: str, sealed: str) -> str | None:
    """The token, or None when it does not open under this key for this account."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        plain = _key(settings).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _bound_to(network, account_id)
        )
    except (InvalidTag, binascii.Error, ValueError):
        return None
    return plain.decode("utf-8")
