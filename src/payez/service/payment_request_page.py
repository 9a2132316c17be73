"""Use case: the public page of a payment request (``/r/<code>``) and of a public profile
(``/@<handle>``): who asks, why, how much, and one button per network the payer may use, each
opening that network's compose page with the command prefilled.

A network is offered when the requester has an account linked on it and Payez listens to it.
A request that is no longer open (paid once, expired, cancelled) offers none. For "any amount",
the payer types the amount first; the buttons then carry it.
"""

from __future__ import annotations

from dataclasses import dataclass

from payez.adapters.db import payment_requests as requests_repo
from payez.domain.errors import InvalidInput, Language
from payez.domain.money import Money
from payez.domain.payment_requests import (
    RequestFacts,
    RequestState,
    command_text,
    compose_url,
    is_code,
    networks_offered,
    parse_request_amount,
    state_of,
)
from payez.ports.network import NetworkError
from payez.service.context import ServiceContext
from payez.service.my_payment_requests import PaymentRequestUnknown


class ProfileUnknown(PaymentRequestUnknown):
    code = "public_profile_unknown"
    message_fr = "Cette page n'existe pas."
    message_en = "This page does not exist."


@dataclass(frozen=True, slots=True)
class ComposeLink:
    network: str
    handle: str  # the requester's, on that network
    text: str  # the command prefilled
    url: str


@dataclass(frozen=True, slots=True)
class PayPage:
    requester: str
    reason: str | None  # None on a profile page
    amount: Money | None  # the amount asked; None: any amount
    chosen: Money | None  # the amount to pay (asked or typed by the payer)
    state: RequestState
    links: tuple[ComposeLink, ...]
    amount_error: InvalidInput | None = None
    typed: str = ""

    @property
    def open(self) -> bool:
        return self.state is RequestState.OPEN


def _service_handle(ctx: ServiceContext, network: str) -> str:
    try:
        return ctx.service_handle(network)
    except NetworkError:
        return ctx.settings.service_handle


def _links(
    ctx: ServiceContext,
    handles: dict[str, str],
    *,
    amount: Money,
    code: str | None,
    reason: str,
    language: Language,
    sandbox_url: str,
) -> tuple[ComposeLink, ...]:
    links = []
    for network in networks_offered(handles, ctx.networks):
        text = command_text(
            service_handle=_service_handle(ctx, network),
            recipient_handle=handles[network],
            amount=amount,
            code=code,
            reason=reason,
            language=language,
        )
        url = compose_url(
            network, text, sandbox_url=sandbox_url, mastodon_url=ctx.settings.mastodon_base_url
        )
        if url is not None:
            links.append(ComposeLink(network, handles[network].lstrip("@"), text, url))
    return tuple(links)


def _chosen(
    ctx: ServiceContext, asked: Money | None, typed: str
) -> tuple[Money | None, InvalidInput | None]:
    if asked is not None or not typed.strip():
        return asked, None
    limits = ctx.limits
    try:
        amount = parse_request_amount(
            typed, min_cents=limits.min_cents, max_cents=limits.max_person_cents
        )
    except InvalidInput as error:
        return None, error
    return amount, None


def payment_request_page(
    ctx: ServiceContext, code: str, *, language: Language, typed: str = "", sandbox_url: str
) -> PayPage:
    if not is_code(code):
        raise PaymentRequestUnknown(code[:16])
    with ctx.engine.connect() as conn:
        request = requests_repo.request_by_code(conn, code)
        # A frozen or closed account asks nobody for money: its requests are not shown.
        requester = requests_repo.active_name(conn, request.owner_user_id) if request else None
        if request is None or requester is None:
            raise PaymentRequestUnknown(code)
        paid = requests_repo.linked_payments(conn, request.owner_user_id, [request])[request.id]
        handles = requests_repo.linked_handles(conn, request.owner_user_id)
    state = state_of(
        RequestFacts(request.once, request.expires_at, request.cancelled_at, len(paid)), ctx.now()
    )
    chosen, error = _chosen(ctx, request.amount, typed)
    links: tuple[ComposeLink, ...] = ()
    if state is RequestState.OPEN and chosen is not None:
        links = _links(
            ctx,
            handles,
            amount=chosen,
            code=request.code,
            reason=request.reason,
            language=language,
            sandbox_url=sandbox_url,
        )
    return PayPage(
        requester=requester,
        reason=request.reason,
        amount=request.amount,
        chosen=chosen,
        state=state,
        links=links,
        amount_error=error,
        typed=typed[:40],
    )


def profile_page(
    ctx: ServiceContext, handle: str, *, language: Language, typed: str = "", sandbox_url: str
) -> PayPage:
    """The opt-in public page of a user: pay them any amount."""
    with ctx.engine.connect() as conn:
        owner = requests_repo.profile_owner(conn, handle.lower()[:320])
        if owner is None:
            raise ProfileUnknown(handle[:64])
        handles = requests_repo.linked_handles(conn, owner)
        requester = requests_repo.active_name(conn, owner) or ""
    chosen, error = _chosen(ctx, None, typed)
    links: tuple[ComposeLink, ...] = ()
    if chosen is not None:
        links = _links(
            ctx,
            handles,
            amount=chosen,
            code=None,
            reason="",
            language=language,
            sandbox_url=sandbox_url,
        )
    return PayPage(
        requester=requester,
        reason=None,
        amount=None,
        chosen=chosen,
        state=RequestState.OPEN,
        links=links,
        amount_error=error,
        typed=typed[:40],
    )
