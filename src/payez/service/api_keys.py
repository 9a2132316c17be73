"""Use case: merchants' API keys — made, listed, revoked, and checked on each API request.

A key reads ``pzk_<id>_<secret>``: the id finds its row, the secret (32 random bytes) makes it
unguessable. Only the SHA-256 of the whole key is kept; the key is shown once, when made. A key
is ``read`` (listings, orders) or ``write`` (also creates and edits listings, refunds orders).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from payez.adapters.db.tables.merchant_api import api_keys
from payez.domain.errors import Forbidden, InvalidInput, NotFound, PayezError
from payez.service.context import ServiceContext
from payez.service.create_listing import require_merchant

KEY_PREFIX = "pzk_"
SCOPES = ("read", "write")
LABEL_MAX_LENGTH = 80
MAX_ACTIVE_KEYS = 10
# The last use is written at most this often: a busy key does not write on every request.
LAST_USED_PRECISION = timedelta(minutes=1)
_KEY = re.compile(r"^pzk_([0-9]{1,18})_([A-Za-z0-9_-]{20,100})$")


class ApiKeyRefused(PayezError):
    """The request's key does not let it in (answered 401)."""

    code = "api_key_refused"
    message_fr = "Clé d'API refusée."
    message_en = "API key refused."


class ApiKeyInvalid(ApiKeyRefused):
    code = "api_key_invalid"
    message_fr = "Clé d'API inconnue ou mal formée : donnez « Authorization: Bearer pzk_... »."
    message_en = "Unknown or malformed API key: send “Authorization: Bearer pzk_...”."


class ApiKeyRevoked(ApiKeyRefused):
    code = "api_key_revoked"
    message_fr = "Cette clé d'API a été révoquée."
    message_en = "This API key has been revoked."


class ApiScopeInsufficient(Forbidden):
    code = "api_scope_insufficient"
    message_fr = "Cette clé d'API ne peut que lire : il faut une clé « écriture »."
    message_en = "This API key can only read: a “write” key is needed."


class ApiKeyLabelInvalid(InvalidInput):
    code = "api_key_label_invalid"
    message_fr = "Donnez un nom de 1 à 80 caractères et une portée, lecture ou écriture."
    message_en = "Give a name of 1 to 80 characters and a scope, read or write."


class TooManyApiKeys(InvalidInput):
    code = "api_keys_too_many"
    message_fr = "Dix clés d'API actives au plus : révoquez-en une d'abord."
    message_en = "Ten active API keys at most: revoke one first."


class ApiKeyUnknown(NotFound):
    code = "api_key_unknown"
    message_fr = "Clé d'API inconnue."
    message_en = "Unknown API key."


@dataclass(frozen=True, slots=True)
class NewApiKey:
    id: int
    label: str
    scope: str
    key: str
    """Shown once: only its hash is kept."""


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    id: int
    label: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def prefix(self) -> str:
        return f"{KEY_PREFIX}{self.id}_…"


@dataclass(frozen=True, slots=True)
class ApiCaller:
    user_id: int
    key_id: int
    scope: str

    def require_write(self) -> None:
        if self.scope != "write":
            raise ApiScopeInsufficient()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def create_api_key(ctx: ServiceContext, user_id: int, label: str, scope: str) -> NewApiKey:
    clean = " ".join(label.split())
    if not clean or len(clean) > LABEL_MAX_LENGTH or scope not in SCOPES:
        raise ApiKeyLabelInvalid()
    secret = secrets.token_urlsafe(32)
    with ctx.engine.begin() as conn:
        require_merchant(conn, user_id)
        active = conn.execute(
            sa.select(sa.func.count())
            .select_from(api_keys)
            .where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
        ).scalar_one()
        if active >= MAX_ACTIVE_KEYS:
            raise TooManyApiKeys()
        key_id = int(
            conn.execute(
                api_keys.insert()
                .values(
                    user_id=user_id,
                    label=clean,
                    scope=scope,
                    secret_hash="",
                    created_at=ctx.now(),
                )
                .returning(api_keys.c.id)
            ).scalar_one()
        )
        key = f"{KEY_PREFIX}{key_id}_{secret}"
        conn.execute(
            api_keys.update().where(api_keys.c.id == key_id).values(secret_hash=key_hash(key))
        )
    return NewApiKey(key_id, clean, scope, key)


def api_keys_of(ctx: ServiceContext, user_id: int) -> list[ApiKeyView]:
    with ctx.engine.connect() as conn:
        require_merchant(conn, user_id)
        rows = conn.execute(
            sa.select(api_keys).where(api_keys.c.user_id == user_id).order_by(api_keys.c.id.desc())
        )
        return [
            ApiKeyView(
                int(r.id), str(r.label), str(r.scope), r.created_at, r.last_used_at, r.revoked_at
            )
            for r in rows
        ]


def revoke_api_key(ctx: ServiceContext, user_id: int, key_id: int) -> None:
    with ctx.engine.begin() as conn:
        require_merchant(conn, user_id)
        done = conn.execute(
            api_keys.update()
            .where(
                api_keys.c.id == key_id,
                api_keys.c.user_id == user_id,
                api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=ctx.now())
        )
        if done.rowcount != 1:
            raise ApiKeyUnknown(str(key_id))


def authenticate(ctx: ServiceContext, presented: str) -> ApiCaller:
    """The caller a key stands for; notes when it was last used."""
    found = _KEY.match(presented.strip())
    if found is None:
        raise ApiKeyInvalid()
    key_id = int(found[1])
    now = ctx.now()
    with ctx.engine.connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None or not hmac.compare_digest(str(row.secret_hash), key_hash(presented.strip())):
        raise ApiKeyInvalid()
    if row.revoked_at is not None:
        raise ApiKeyRevoked()
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_PRECISION:
        # A write only once a minute a key: reads do not queue for SQLite's one writer.
        with ctx.engine.begin() as conn:
            conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=now))
    return ApiCaller(int(row.user_id), key_id, str(row.scope))
