"""Use case: a user opts in to (or out of) a public page ``/@<handle>`` where anyone may pay
them any amount; the handle is one of their linked accounts' handles, one user's page each."""

from __future__ import annotations

from dataclasses import dataclass

from payez.adapters.db import payment_requests as requests_repo
from payez.domain.errors import InvalidInput
from payez.service.context import ServiceContext


class ProfileHandleInvalid(InvalidInput):
    code = "profile_handle_invalid"
    message_fr = "Choisissez l'un de vos comptes liés."
    message_en = "Choose one of your linked accounts."


class ProfileHandleTaken(InvalidInput):
    code = "profile_handle_taken"
    message_fr = "Cette adresse de page est déjà prise par un autre utilisateur."
    message_en = "This page address is already taken by another user."


@dataclass(frozen=True, slots=True)
class ProfileChoice:
    current: str | None  # the handle of the published page, if any
    handles: tuple[str, ...]  # the handles the user may publish it under


def _handles(linked: dict[str, str]) -> tuple[str, ...]:
    return tuple(sorted({handle.lstrip("@").lower() for handle in linked.values()}))


def public_profile_choice(ctx: ServiceContext, user_id: int) -> ProfileChoice:
    with ctx.engine.connect() as conn:
        current = requests_repo.profile_handle(conn, user_id)
        linked = requests_repo.linked_handles(conn, user_id)
    return ProfileChoice(current, _handles(linked))


def set_public_profile(ctx: ServiceContext, user_id: int, handle: str) -> str | None:
    """Publish the page under ``handle`` (one of the user's), or take it down (empty)."""
    wanted = handle.strip().lstrip("@").lower()
    with ctx.engine.begin() as conn:
        if not wanted:
            requests_repo.set_profile(conn, user_id, None, ctx.now())
            return None
        if wanted not in _handles(requests_repo.linked_handles(conn, user_id)):
            raise ProfileHandleInvalid(handle[:64])
        if not requests_repo.set_profile(conn, user_id, wanted, ctx.now()):
            raise ProfileHandleTaken(wanted)
    return wanted
