"""Use case: API writes made safe to retry with an ``Idempotency-Key``.

The first request with a key reserves it (a row with status 0) before doing anything, so two
copies racing cannot both act; once it succeeds, its status and JSON answer are kept under
the key, and a replay of the same request gets them back without acting again. The same key
with another request (method, path or body) is refused. A request that failed changes nothing
and releases its key: it may be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from payez.adapters.db.tables.merchant_api import api_idempotency
from payez.domain.errors import InvalidInput, PayezError
from payez.service.context import ServiceContext

KEY_MAX_LENGTH = 200
IN_PROGRESS = 0


class IdempotencyKeyMissing(InvalidInput):
    code = "idempotency_key_missing"
    message_fr = (
        "Chaque écriture demande un en-tête Idempotency-Key (1 à 200 caractères ASCII visibles)."
    )
    message_en = "Every write needs an Idempotency-Key header (1 to 200 visible ASCII characters)."


class IdempotencyKeyReused(InvalidInput):
    """Answered 422: the key was used for another request."""

    code = "idempotency_key_other_request"
    message_fr = (
        "Cette clé d'idempotence a déjà servi pour une autre requête : prenez-en une neuve."
    )
    message_en = "This idempotency key was already used for another request: use a new one."


class IdempotencyKeyInProgress(PayezError):
    """Answered 409: the first request with this key has not finished yet."""

    code = "idempotency_key_in_progress"
    message_fr = "Une requête avec cette clé d'idempotence est en cours : réessayez dans un moment."
    message_en = "A request with this idempotency key is in progress: try again in a moment."


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status_code: int
    body: dict[str, Any]


def request_hash(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method.upper()} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def check_key(key: str | None) -> str:
    if not key or len(key) > KEY_MAX_LENGTH or not all(33 <= ord(c) < 127 for c in key):
        raise IdempotencyKeyMissing()
    return key


def reserve(ctx: ServiceContext, user_id: int, key: str, fingerprint: str) -> StoredAnswer | None:
    """Reserve ``key`` for this request (None: go ahead), or the answer kept for it."""
    try:
        with ctx.engine.begin() as conn:
            conn.execute(
                api_idempotency.insert().values(
                    user_id=user_id,
                    idempotency_key=key,
                    request_hash=fingerprint,
                    status_code=IN_PROGRESS,
                    created_at=ctx.now(),
                )
            )
        return None
    except IntegrityError:
        pass
    with ctx.engine.connect() as conn:
        row = conn.execute(
            sa.select(api_idempotency).where(
                api_idempotency.c.user_id == user_id, api_idempotency.c.idempotency_key == key
            )
        ).first()
    if row is None:  # released meanwhile by a request that failed: the caller may retry
        raise IdempotencyKeyInProgress(key)
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused(key)
    if row.status_code == IN_PROGRESS or row.response is None:
        raise IdempotencyKeyInProgress(key)
    return StoredAnswer(int(row.status_code), json.loads(row.response))


def keep(ctx: ServiceContext, user_id: int, key: str, answer: StoredAnswer) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(
            api_idempotency.update()
            .where(api_idempotency.c.user_id == user_id, api_idempotency.c.idempotency_key == key)
            .values(status_code=answer.status_code, response=json.dumps(answer.body))
        )


def release(ctx: ServiceContext, user_id: int, key: str) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(
            api_idempotency.delete().where(
                api_idempotency.c.user_id == user_id,
                api_idempotency.c.idempotency_key == key,
                api_idempotency.c.status_code == IN_PROGRESS,
            )
        )
