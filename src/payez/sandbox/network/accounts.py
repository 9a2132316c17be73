"""Sandbox accounts, OAuth applications and access tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from payez.sandbox.network import tables
from payez.sandbox.network.errors import SandboxInvalid, SandboxUnauthorized

USERNAME = re.compile(r"^[a-z0-9_]{1,30}$")

# OWASP's minimum argon2id profile (19 MiB, 2 passes): sandbox passwords guard test money only,
# and tests log users in often enough that the default 64 MiB profile would slow them down.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def hash_secret(value: str) -> str:
    """Tokens and codes are random and long: a plain SHA-256 is enough to store them."""
    return hashlib.sha256(value.encode()).hexdigest()


def now_utc() -> datetime:
    return datetime.now(UTC)


def create_sandbox_user(
    conn: sa.Connection, username: str, password: str, display_name: str
) -> int:
    """Create the sandbox user ``username`` (or bring it to this password and display name).

    Idempotent: calling it again with the same arguments changes nothing and returns the same
    account id. Usernames are lower-cased; they are 1–30 of ``a-z 0-9 _``.
    """
    username = username.strip().lstrip("@").lower()
    if not USERNAME.match(username):
        raise SandboxInvalid(f"username {username!r}: 1-30 of a-z, 0-9, _")
    if not password:
        raise SandboxInvalid("password is empty")
    row = conn.execute(
        sa.select(tables.accounts.c.id, tables.accounts.c.password_hash).where(
            tables.accounts.c.username == username
        )
    ).first()
    if row is None:
        return int(
            conn.execute(
                tables.accounts.insert()
                .values(
                    username=username,
                    display_name=display_name or username,
                    password_hash=_hasher.hash(password),
                    created_at=now_utc(),
                )
                .returning(tables.accounts.c.id)
            ).scalar_one()
        )
    changes: dict[str, str] = {"display_name": display_name or username}
    if not verify_password(row.password_hash, password):
        changes["password_hash"] = _hasher.hash(password)
    conn.execute(tables.accounts.update().where(tables.accounts.c.id == row.id).values(**changes))
    return int(row.id)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(conn: sa.Connection, username: str, password: str) -> int | None:
    """The account id for these credentials, or None. ``alice``, ``@alice`` and ``alice@host``
    all name the local user alice (Mastodon logs in by e-mail; the sandbox has none)."""
    name = username.strip().lstrip("@").split("@", 1)[0].lower()
    row = conn.execute(
        sa.select(tables.accounts.c.id, tables.accounts.c.password_hash).where(
            tables.accounts.c.username == name
        )
    ).first()
    if row is None or not verify_password(row.password_hash, password):
        return None
    return int(row.id)


@dataclass(frozen=True, slots=True)
class App:
    id: int
    client_id: str
    client_secret: str
    name: str
    redirect_uris: tuple[str, ...]
    scopes: str
    website: str | None


def register_app(
    conn: sa.Connection, name: str, redirect_uris: str, scopes: str, website: str | None
) -> App:
    client_id = secrets.token_urlsafe(32)
    client_secret = secrets.token_urlsafe(32)
    uris = tuple(u.strip() for u in redirect_uris.split() if u.strip()) or (
        "urn:ietf:wg:oauth:2.0:oob",
    )
    app_id = conn.execute(
        tables.apps.insert()
        .values(
            client_id=client_id,
            client_secret=client_secret,
            name=name,
            redirect_uris="\n".join(uris),
            scopes=scopes or "read",
            website=website,
            created_at=now_utc(),
        )
        .returning(tables.apps.c.id)
    ).scalar_one()
    return App(int(app_id), client_id, client_secret, name, uris, scopes or "read", website)


def find_app(conn: sa.Connection, client_id: str) -> App | None:
    row = conn.execute(sa.select(tables.apps).where(tables.apps.c.client_id == client_id)).first()
    if row is None:
        return None
    return App(
        int(row.id),
        row.client_id,
        row.client_secret,
        row.name,
        tuple(row.redirect_uris.split("\n")),
        row.scopes,
        row.website,
    )


def issue_token(
    conn: sa.Connection, app_id: int | None, account_id: int | None, scopes: str
) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(
        tables.tokens.insert().values(
            token_hash=hash_secret(token),
            app_id=app_id,
            account_id=account_id,
            scopes=scopes,
            created_at=now_utc(),
        )
    )
    return token


@dataclass(frozen=True, slots=True)
class TokenOwner:
    account_id: int | None
    """None for an application token (client_credentials grant)."""
    app_id: int | None
    scopes: str


# Built once: it runs for every request a client signs, and building a statement (and its
# cache key) costs more Python than running it.
_TOKEN_OWNER = sa.select(
    tables.tokens.c.account_id, tables.tokens.c.app_id, tables.tokens.c.scopes
).where(tables.tokens.c.token_hash == sa.bindparam("token_hash"))


def token_owner(conn: sa.Connection, token: str) -> TokenOwner | None:
    row = conn.execute(_TOKEN_OWNER, {"token_hash": hash_secret(token)}).first()
    if row is None:
        return None
    return TokenOwner(row.account_id, row.app_id, row.scopes)


def signed_in_account(owner: TokenOwner | None) -> int:
    """The account a token signs in; an unknown token, or an application's, signs in none."""
    if owner is None:
        raise SandboxUnauthorized()
    if owner.account_id is None:
        raise SandboxUnauthorized("this method requires an authenticated user")
    return owner.account_id


def revoke_token(conn: sa.Connection, token: str) -> None:
    conn.execute(tables.tokens.delete().where(tables.tokens.c.token_hash == hash_secret(token)))


def issue_code(
    conn: sa.Connection, app_id: int, account_id: int, redirect_uri: str, scopes: str
) -> str:
    code = secrets.token_urlsafe(32)
    conn.execute(
        tables.authorization_codes.insert().values(
            code_hash=hash_secret(code),
            app_id=app_id,
            account_id=account_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            created_at=now_utc(),
        )
    )
    return code


CODE_LIFETIME_SECONDS = 600


def redeem_code(
    conn: sa.Connection, code: str, app_id: int, redirect_uri: str
) -> tuple[int, str] | None:
    """(account id, scopes) for a fresh, unused code issued to this app and redirect URI."""
    table = tables.authorization_codes
    row = conn.execute(sa.select(table).where(table.c.code_hash == hash_secret(code))).first()
    if row is None or row.used_at is not None or row.app_id != app_id:
        return None
    if row.redirect_uri != redirect_uri:
        return None
    if (now_utc() - row.created_at).total_seconds() > CODE_LIFETIME_SECONDS:
        return None
    # The guard on used_at makes a code good for one token even when redeemed concurrently.
    used = conn.execute(
        table.update()
        .where(table.c.id == row.id, table.c.used_at.is_(None))
        .values(used_at=now_utc())
    ).rowcount
    if used != 1:
        return None
    return int(row.account_id), row.scopes
