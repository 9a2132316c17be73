"""What a decision about a post writes: its payment row and the replies it sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from payez.adapters.db.inbox import InboxRow
from payez.adapters.db.listings import ListingRow
from payez.adapters.db.users import UserRow
from payez.domain.errors import Language
from payez.domain.ledger import Transfer
from payez.domain.money import Money
from payez.domain.payments import PaymentKind, PaymentState
from payez.domain.policy import ConfirmReason
from payez.domain.replies import LINK_REFUSALS
from payez.service.context import ServiceContext
from payez.service.outbox_messages import private_notice, public_reply

# Decisions that record no payment but still answer the post.
_ANSWERED_WITHOUT_PAYMENT = frozenset({"help", "account_linked"})
LINK_PAGE = "/onboarding#link"


def settled_outcome(kind: PaymentKind | str) -> str:
    """The reply outcome of a payment whose money reached its recipient."""
    if kind == PaymentKind.PURCHASE:
        return "purchase_settled"
    if kind == PaymentKind.DONATION:
        return "donation_settled"
    return "settled"


@dataclass
class Decision:
    """What one post comes to; filled in as the batch is decided."""

    row: InboxRow
    language: Language
    kind: PaymentKind = PaymentKind.SEND
    state: PaymentState = PaymentState.IGNORED
    reason: str | None = None
    sender: UserRow | None = None
    recipient: UserRow | None = None
    recipient_handle: str | None = None
    amount: Money | None = None
    memo: str | None = None
    listing: ListingRow | None = None
    transfer: Transfer | None = None
    claim_token: str | None = None
    claim_expires_at: datetime | None = None
    confirm_token: str | None = None
    confirm_expires_at: datetime | None = None
    confirm_reason: ConfirmReason | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.state = PaymentState.REJECTED
        self.reason = reason
        self.transfer = None


def payment_row(d: Decision, now: datetime) -> dict[str, Any]:
    """The payments row that records a decision."""
    return {
        "inbox_id": d.row.id,
        "network": d.row.network,
        "post_id": d.row.post_id,
        "kind": d.kind.value,
        "state": d.state.value,
        "reason": str(d.reason) if d.reason else None,
        "language": d.language,
        "sender_user_id": d.sender.id if d.sender else None,
        "recipient_user_id": d.recipient.id if d.recipient else None,
        "recipient_account_id": d.row.recipient_account_id if d.kind != "purchase" else None,
        "recipient_handle": d.recipient_handle,
        "amount_cents": d.amount.cents if d.amount else None,
        "currency": d.amount.currency if d.amount else None,
        "memo": d.memo,
        "listing_id": d.listing.id if d.listing else None,
        "claim_token": d.claim_token,
        "claim_expires_at": d.claim_expires_at,
        "reminder_sent_at": None,
        "confirm_token": d.confirm_token,
        "confirm_expires_at": d.confirm_expires_at,
        "confirm_reason": d.confirm_reason.value if d.confirm_reason else None,
        "created_at": now,
        "updated_at": now,
    }


def replies_for(ctx: ServiceContext, d: Decision, now: datetime) -> list[dict[str, Any]]:
    """The replies a decision sends: none for posts that were not commands."""
    if d.state is PaymentState.IGNORED and d.reason not in _ANSWERED_WITHOUT_PAYMENT:
        return []
    if d.facts.get("quiet"):
        return []  # a flood's later orders: its first refusal said it all
    row, language = d.row, d.language
    hide = bool(d.sender and d.sender.hide_amount)
    facts: dict[str, Any] = dict(d.facts)
    facts.update(
        amount=d.amount,
        recipient=d.recipient_handle,
        show_amount=not hide,
        service=ctx.service_handle(row.network),
    )
    if d.reason == "help":
        outcome = "help"
        facts["link"] = ctx.link("/")
    elif d.reason == "account_linked":
        outcome = "account_linked"
    elif d.state is PaymentState.REJECTED:
        outcome = str(d.reason)
        # A refused link points to the page that makes codes.
        facts["link"] = ctx.link(LINK_PAGE if outcome in LINK_REFUSALS else "/")
    elif d.state is PaymentState.AWAITING_CONFIRMATION:
        outcome = "confirmation_required"
        facts["link"] = ctx.link(f"/confirm/{d.confirm_token}")
        facts["minutes"] = ctx.settings.confirmation_ttl_minutes
    elif d.state is PaymentState.HELD_FOR_CLAIM:
        outcome = "claim_pending"
        facts["link"] = ctx.link(f"/claim/{d.claim_token}")
        facts["days"] = ctx.settings.claim_window_days
    else:
        outcome = settled_outcome(d.kind)
    messages = [
        public_reply(
            row.network,
            row.post_id,
            row.author_handle,
            outcome,
            language,
            key=f"reply:{row.id}",
            facts=facts,
            now=now,
            author_id=row.author_id,
            user_id=d.sender.id if d.sender else None,
        )
    ]
    if d.state is PaymentState.AWAITING_CONFIRMATION or (hide and d.amount is not None):
        messages.append(
            private_notice(
                row.network,
                row.author_id,
                row.author_handle,
                outcome,
                language,
                key=f"notice:{row.id}",
                facts={**facts, "show_amount": True},
                now=now,
                user_id=d.sender.id if d.sender else None,
            )
        )
    recipient = d.recipient
    if (
        d.state is PaymentState.SETTLED
        and recipient is not None
        and recipient.notify_received
        and row.recipient_account_id
    ):
        recipient_language: Language = "en" if recipient.language == "en" else "fr"
        messages.append(
            private_notice(
                row.network,
                row.recipient_account_id,
                d.recipient_handle or "",
                "received",
                recipient_language,
                key=f"received:{row.id}",
                facts={"amount": d.amount, "payer": row.author_handle},
                now=now,
                user_id=recipient.id,
            )
        )
    return messages
