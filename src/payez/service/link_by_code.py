"""Use case: link a social account by posting a one-time code from it, on any network.

A logged-in user asks for a code on the web; the post ``@payez lier CODE`` (``link CODE``)
links its author's account, by its immutable id, to that user, exactly as proving the account
by OAuth does: money held for the account is credited, an account linked to someone else is
refused, and the audit log records it. Whoever posts the code is linked to its owner, so the
code is a secret its owner types only on their own account: it is random, lives
:data:`CODE_TTL`, serves once, and only its SHA-256 is kept.

A code links once even when two workers read two posts carrying it at the same time: spending
it is a conditional update, and the second one finds it spent.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from payez.adapters.db import link_codes as link_codes_repo
from payez.domain.commands import LINK_CODE_ALPHABET, LINK_CODE_LENGTH
from payez.domain.money import Money
from payez.ports.network import NetworkAccount
from payez.service.audit_log import record
from payez.service.context import ServiceContext
from payez.service.create_listing import service_handle_on
from payez.service.email_outbox import Letter
from payez.service.email_verification import EmailUnverified, require_verified_email
from payez.service.errors import AccountAlreadyLinked
from payez.service.link_social_account import link_proven_account
from payez.service.recovery_codes import notify

CODE_TTL: Final = timedelta(minutes=30)
# Outcomes, as the replies name them (``payez.domain.replies``).
ACCOUNT_LINKED: Final = "account_linked"
CODE_UNKNOWN: Final = "link_code_unknown"
CODE_EXPIRED: Final = "link_code_expired"
CODE_USED: Final = "link_code_used"
ACCOUNT_TAKEN: Final = "link_account_taken"
OWNER_UNVERIFIED: Final = "link_email_unverified"
# A new code colliding with a stored one is a one-in-a-trillion event; a few draws settle it.
_DRAWS: Final = 5
_NOTHING: Final = Money.zero()
LINKED_NOTICE: Final = "account_linked"


@dataclass(frozen=True, slots=True)
class LinkCode:
    code: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PostToWrite:
    """The post that links an account on one network, in both languages."""

    network: str
    service: str
    text_fr: str
    text_en: str


@dataclass(frozen=True, slots=True)
class CodeLink:
    outcome: str
    user_id: int | None = None
    credited: Money = _NOTHING

    @property
    def linked(self) -> bool:
        return self.outcome == ACCOUNT_LINKED


def hash_code(code: str) -> str:
    """The stored form of a code; the code is read in any case."""
    return hashlib.sha256(code.strip().upper().encode("ascii", "replace")).hexdigest()


def _draw() -> str:
    return "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))


def create_link_code(ctx: ServiceContext, user_id: int) -> LinkCode:
    """A new code for the user; their previous unused one stops working.

    Refused while the user's email address is unverified (``EmailUnverified``), as OAuth
    linking is: the link would be refused anyway.
    """
    now = ctx.now()
    expires_at = now + CODE_TTL
    draws = 0
    while True:
        code = _draw()
        try:
            with ctx.engine.begin() as conn:
                require_verified_email(conn, user_id)
                link_codes_repo.replace_code(
                    conn,
                    user_id=user_id,
                    code_hash=hash_code(code),
                    now=now,
                    expires_at=expires_at,
                )
            return LinkCode(code, expires_at)
        except IntegrityError:
            draws += 1
            if draws == _DRAWS:
                raise


def live_code_expiry(ctx: ServiceContext, user_id: int) -> datetime | None:
    """When the user's unused code stops working; None when they have none live."""
    with ctx.engine.connect() as conn:
        return link_codes_repo.live_code_expiry(conn, user_id, ctx.now())


def posts_to_write(ctx: ServiceContext, code: str) -> list[PostToWrite]:
    """The exact post to write on each network Payez reads, with its service handle there."""
    networks = sorted(ctx.networks) or [""]
    posts = []
    for network in networks:
        service = service_handle_on(ctx, network) if network else ctx.settings.service_handle
        mention = "@" + service.lstrip("@")
        posts.append(
            PostToWrite(network, service, f"{mention} lier {code}", f"{mention} link {code}")
        )
    return posts


def _linked_letter(ctx: ServiceContext, network: str, account: NetworkAccount) -> Letter:
    where = ctx.link("/settings/privacy#links")
    who = f"@{account.handle.lstrip('@')} ({network})"
    return Letter(
        subject_fr="Payez : un compte a été relié au vôtre",
        subject_en="Payez: an account was linked to yours",
        text_fr=(
            f"Bonjour,\n\nLe compte {who} vient d'être relié à votre compte Payez : il a publié "
            "votre code de liaison. Ses paiements par message sont désormais payés par votre "
            f"compte.\n\nSi ce n'est pas vous, déliez-le tout de suite : {where}\n"
        ),
        text_en=(
            f"Hello,\n\nThe account {who} was just linked to your Payez account: it posted "
            "your link code. Its payments by post are now paid from your account.\n\nIf this "
            f"was not you, unlink it at once: {where}\n"
        ),
    )


def link_by_code(
    conn: Connection,
    ctx: ServiceContext,
    *,
    code: str,
    network: str,
    account: NetworkAccount,
    now: datetime,
) -> CodeLink:
    """Inside the caller's transaction (the inbox batch's): spend ``code`` and link ``account``
    to its owner. A refusal changes nothing, the code included."""
    code_hash = hash_code(code)
    found = link_codes_repo.by_hash(conn, code_hash)
    if found is None:
        return CodeLink(CODE_UNKNOWN)
    if found.used_at is not None:
        return CodeLink(CODE_USED)
    if found.expires_at <= now:
        return CodeLink(CODE_EXPIRED)
    try:
        # A savepoint: a refused link takes back the spent code, and nothing else of the
        # batch is lost with it.
        with conn.begin_nested():
            if not link_codes_repo.spend(conn, found.id, now):
                # Spent by a concurrent post after the read above, or expired meanwhile.
                again = link_codes_repo.by_hash(conn, code_hash)
                spent = again is None or again.used_at is not None
                return CodeLink(CODE_USED if spent else CODE_EXPIRED)
            credited = link_proven_account(conn, ctx, found.user_id, network, account)
            record(
                conn,
                operator_user_id=None,
                action="account.link",
                target=f"user:{found.user_id}",
                details={
                    "network": network,
                    "account_id": account.id,
                    "handle": account.handle,
                    "credited_cents": credited.cents,
                    "method": "code",
                },
                now=now,
            )
            # The code is a bearer secret: its owner hears of every account it linked.
            notify(
                conn,
                found.user_id,
                kind=LINKED_NOTICE,
                key=f"account-linked:code:{found.id}",
                letter=_linked_letter(ctx, network, account),
                now=now,
            )
    except AccountAlreadyLinked:
        return CodeLink(ACCOUNT_TAKEN)
    except EmailUnverified:
        return CodeLink(OWNER_UNVERIFIED)
    return CodeLink(ACCOUNT_LINKED, found.user_id, credited)
