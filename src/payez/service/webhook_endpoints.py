"""Use case: merchants and associations register the URLs Payez sends their events to.

Each endpoint has its own signing secret, shown once when it is made and kept sealed at rest
(AES-GCM under a key derived from ``PAYEZ_SECRET_KEY``, its own HKDF label, bound to the
owner): Payez must sign with it, so it cannot be kept as a hash. Only https URLs are taken,
except ``http://localhost`` and loopback addresses outside production, for development.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from payez.adapters.db import users as users_repo
from payez.adapters.db import webhooks as webhooks_repo
from payez.adapters.db.webhooks import DeliveryRow
from payez.config import Settings
from payez.domain.errors import InvalidInput, NotFound
from payez.service.context import ServiceContext

MAX_ENDPOINTS = 5
URL_MAX_LENGTH = 500
_NONCE_BYTES = 12
_LOOPBACK_NAMES = ("localhost",)


class WorkAreaOnly(NotFound):
    code = "work_area_only"
    message_fr = "Cette page est réservée aux commerçants et aux associations."
    message_en = "This page is for merchants and associations only."


class WebhookUrlInvalid(InvalidInput):
    code = "webhook_url_invalid"
    message_fr = (
        "Donnez une adresse https complète (http seulement pour localhost en développement)."
    )
    message_en = "Give a full https address (http only for localhost in development)."


class TooManyWebhookEndpoints(InvalidInput):
    code = "webhook_endpoints_too_many"
    message_fr = "Cinq adresses de webhooks au plus : supprimez-en une d'abord."
    message_en = "Five webhook addresses at most: remove one first."


class WebhookEndpointUnknown(NotFound):
    code = "webhook_endpoint_unknown"
    message_fr = "Adresse de webhook inconnue."
    message_en = "Unknown webhook address."


class WebhookDeliveryUnknown(NotFound):
    code = "webhook_delivery_unknown"
    message_fr = "Envoi de webhook inconnu."
    message_en = "Unknown webhook delivery."


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    id: int
    url: str
    secret: str
    """Shown once: only its sealed form is kept."""


@dataclass(frozen=True, slots=True)
class EndpointView:
    id: int
    url: str
    created_at: datetime
    active: bool


def _key(settings: Settings) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"payez webhook secret v1"
    ).derive(settings.secret_key.encode("utf-8"))
    return AESGCM(derived)


def seal_secret(settings: Settings, user_id: int, secret: str) -> str:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = _key(settings).encrypt(nonce, secret.encode("utf-8"), str(user_id).encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_secret(settings: Settings, user_id: int, sealed: str) -> str | None:
    """The secret, or None when it does not open (the secret key changed)."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        plain = _key(settings).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], str(user_id).encode()
        )
    except (InvalidTag, binascii.Error, ValueError):
        return None
    return plain.decode("utf-8")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(settings: Settings, url: str) -> str:
    cleaned = url.strip()
    if not cleaned or len(cleaned) > URL_MAX_LENGTH or not cleaned.isascii():
        raise WebhookUrlInvalid(cleaned[:80])
    try:
        parts = urlsplit(cleaned)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise WebhookUrlInvalid(cleaned[:80]) from None
    if not host or parts.username or parts.password or any(c.isspace() for c in cleaned):
        raise WebhookUrlInvalid(cleaned[:80])
    if parts.scheme == "https":
        return cleaned
    development = settings.environment != "production"
    if parts.scheme == "http" and development and _is_loopback(host):
        return cleaned
    raise WebhookUrlInvalid(cleaned[:80])


def require_work_area(ctx: ServiceContext, user_id: int) -> str:
    """The user's kind, merchant or association; anyone else is told the page does not exist."""
    with ctx.engine.connect() as conn:
        user = users_repo.get_user(conn, user_id)
    if user is None or user.kind not in ("merchant", "association"):
        raise WorkAreaOnly()
    return user.kind


def add_endpoint(ctx: ServiceContext, user_id: int, url: str) -> NewEndpoint:
    require_work_area(ctx, user_id)
    cleaned = check_url(ctx.settings, url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with ctx.engine.begin() as conn:
        active = [e for e in webhooks_repo.endpoints_of(conn, user_id) if e.disabled_at is None]
        if len(active) >= MAX_ENDPOINTS:
            raise TooManyWebhookEndpoints()
        endpoint_id = webhooks_repo.add_endpoint(
            conn, user_id, cleaned, seal_secret(ctx.settings, user_id, secret), ctx.now()
        )
    return NewEndpoint(endpoint_id, cleaned, secret)


def remove_endpoint(ctx: ServiceContext, user_id: int, endpoint_id: int) -> None:
    """No more events go to it; its deliveries still pending are not sent."""
    require_work_area(ctx, user_id)
    with ctx.engine.begin() as conn:
        if not webhooks_repo.disable_endpoint(conn, user_id, endpoint_id, ctx.now()):
            raise WebhookEndpointUnknown(str(endpoint_id))


def endpoints(ctx: ServiceContext, user_id: int) -> list[EndpointView]:
    require_work_area(ctx, user_id)
    with ctx.engine.connect() as conn:
        rows = webhooks_repo.endpoints_of(conn, user_id)
    return [EndpointView(e.id, e.url, e.created_at, e.disabled_at is None) for e in rows]


def deliveries(ctx: ServiceContext, user_id: int) -> list[DeliveryRow]:
    """The latest deliveries with every attempt: time, answer code, duration."""
    require_work_area(ctx, user_id)
    with ctx.engine.connect() as conn:
        return webhooks_repo.deliveries_of(conn, user_id)


def send_again(ctx: ServiceContext, user_id: int, delivery_id: int) -> None:
    """Deliver the same event (same id, same body) again, now."""
    require_work_area(ctx, user_id)
    with ctx.engine.begin() as conn:
        if not webhooks_repo.send_again(conn, user_id, delivery_id, ctx.now()):
            raise WebhookDeliveryUnknown(str(delivery_id))
