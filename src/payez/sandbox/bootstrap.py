"""Wire the service to its own sandbox network: the @payez account, its token, an OAuth client."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Engine

from payez.config import Settings
from payez.sandbox.network import tables
from payez.sandbox.network.accounts import create_sandbox_user, issue_token, register_app
from payez.sandbox.network.app import MOUNT_PATH
from payez.sandbox.network.statuses import lock_writes

SANDBOX_NETWORK = "sandbox"


@dataclass(frozen=True, slots=True)
class SandboxWiring:
    api_base_url: str
    service_token: str
    client_id: str
    client_secret: str
    redirect_uri: str


def sandbox_base_url(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + MOUNT_PATH


def wire_sandbox(engine: Engine, settings: Settings) -> SandboxWiring:
    """Make sure the service account exists and give this process a token and an OAuth client."""
    redirect_uri = f"{settings.base_url.rstrip('/')}/oauth/{SANDBOX_NETWORK}/callback"
    with engine.begin() as conn:
        # `payez serve` and its workers may start together on a new database: one of them
        # creates the service account, the others wait for it and find it.
        lock_writes(conn)
        account_id = _service_account(conn, settings)
        token = issue_token(conn, None, account_id, "read write")
        # write:statuses: a merchant linking an account lets Payez publish their listings.
        client = register_app(conn, "Payez", redirect_uri, "read write:statuses", settings.base_url)
    return SandboxWiring(
        api_base_url=sandbox_base_url(settings),
        service_token=token,
        client_id=client.client_id,
        client_secret=client.client_secret,
        redirect_uri=redirect_uri,
    )


def _service_account(conn: sa.Connection, settings: Settings) -> int:
    existing = conn.execute(
        sa.select(tables.accounts.c.id).where(tables.accounts.c.username == settings.service_handle)
    ).scalar_one_or_none()
    if existing is not None:
        return int(existing)
    # Nobody logs in as the service: its password is random and thrown away.
    return create_sandbox_user(conn, settings.service_handle, secrets.token_urlsafe(24), "Payez")
