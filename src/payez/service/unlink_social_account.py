"""Use case: a user unlinks one of their network accounts (it can be linked again later).

The link goes, with the sealed publishing token it may carry. Money already received stays in
the wallet; a later payment to that account is held for a claim like any unlinked account's.
"""

from __future__ import annotations

from payez.adapters.db import users as users_repo
from payez.domain.errors import NotFound
from payez.service.context import ServiceContext


class LinkUnknown(NotFound):
    code = "link_unknown"
    message_fr = "Ce compte de réseau social n'est pas relié à votre compte Payez."
    message_en = "This social account is not linked to your Payez account."


def unlink_social_account(ctx: ServiceContext, user_id: int, network: str, account_id: str) -> None:
    """Remove the user's own link; another user's link is "unknown", never touched."""
    with ctx.engine.begin() as conn:
        if not users_repo.unlink_account(
            conn, user_id=user_id, network=network[:16], account_id=account_id[:512]
        ):
            raise LinkUnknown()


def my_links(ctx: ServiceContext, user_id: int) -> list[tuple[str, str, str]]:
    """(network, account id, handle) of the user's linked accounts, oldest first."""
    with ctx.engine.connect() as conn:
        return users_repo.linked_accounts(conn, user_id)
