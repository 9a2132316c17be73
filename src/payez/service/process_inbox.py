"""Use case: process recorded posts into payments — the hot path of the service.

A batch of inbox rows is decided in one database transaction: each post gets exactly one
payment row (its outcome), the ledger moves the money for every accepted command through one
batch call, and the replies go into the outbox. Either all of it commits or none of it does,
so a crash at any point leaves the posts unprocessed, to be decided again, identically.

Several processors may run at once: on PostgreSQL each takes different rows
(``FOR UPDATE SKIP LOCKED``); the ledger locks accounts in a fixed order.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from payez.adapters.db import inbox as inbox_repo
from payez.adapters.db import listings as listings_repo
from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db import payment_requests as requests_repo
from payez.adapters.db import payments as payments_repo
from payez.adapters.db import users as users_repo
from payez.adapters.db.email_contacts import EmailContact
from payez.adapters.db.inbox import InboxRow
from payez.adapters.db.ledger import SqlLedger, is_retryable
from payez.adapters.db.listings import ListingRow
from payez.adapters.db.payments import COMMITTED_STATES, transfer_key
from payez.adapters.db.sender_history import sender_history
from payez.adapters.db.users import UserRow
from payez.domain.commands import (
    BuyCommand,
    Command,
    HelpCommand,
    LinkCommand,
    NoCommand,
    ParseError,
    SendCommand,
    parse,
)
from payez.domain.errors import Language
from payez.domain.ledger import InsufficientFunds, LedgerError, Transfer, TransferMode
from payez.domain.money import Money
from payez.domain.payment_requests import (
    RequestStanding,
    closed_to,
    references_in,
    with_one_more_payment,
)
from payez.domain.payments import PaymentKind, PaymentState
from payez.domain.policy import (
    Limits,
    RecipientKind,
    Refusal,
    SenderTotals,
    confirmation_reason,
    over_order_limit,
    refusal_for_amount,
)
from payez.domain.stored_commands import stored_command
from payez.ports.network import NetworkAccount
from payez.service import webhook_events
from payez.service.context import ServiceContext
from payez.service.decisions import Decision, payment_row, replies_for
from payez.service.link_by_code import link_by_code
from payez.service.notification_emails import (
    CONFIRMATION_WAITING,
    MONEY_RECEIVED,
    Notice,
    contact_of,
    notify_by_email,
)
from payez.service.velocity_flags import Committed, flag_batch_payments, velocity_rules_from

PUBLIC_VISIBILITIES = frozenset({"public", "unlisted"})
LINK_POST_EDITED = "link_post_edited"


RETRIES = 5


def process_inbox(ctx: ServiceContext, *, batch_size: int = 200) -> int:
    """Decide one batch of recorded posts; returns how many were processed (0: inbox empty).

    A batch that loses a race on PostgreSQL (a unique key taken by a concurrent transaction,
    a deadlock the server broke) was rolled back whole; it is simply decided again.
    """
    for attempt in range(RETRIES):
        try:
            with ctx.engine.begin() as conn:
                rows = inbox_repo.take_unprocessed(conn, batch_size)
                if not rows:
                    return 0
                _Batch(ctx, conn, rows).run()
                return len(rows)
        except DBAPIError as exc:
            if attempt + 1 == RETRIES or not is_retryable(exc):
                raise
    return 0


def process_until_empty(ctx: ServiceContext, *, batch_size: int = 200) -> int:
    total = 0
    while processed := process_inbox(ctx, batch_size=batch_size):
        total += processed
    return total


class _Batch:
    def __init__(self, ctx: ServiceContext, conn: Connection, rows: list[InboxRow]) -> None:
        self.ctx = ctx
        self.conn = conn
        self.rows = rows
        self.now = ctx.now()
        self.limits: Limits = ctx.limits
        self.ledger = SqlLedger(conn)

    def run(self) -> None:
        # Only the networks of this batch: a network that cannot be reached (its service
        # account not known yet) must not hold up the posts of the others.
        networks = {row.network for row in self.rows}
        handles = {network: self.ctx.service_handle(network) for network in networks}
        self.handles = handles
        commands = [(row, _command(row, handles[row.network])) for row in self.rows]
        self._load_context(commands)
        decisions = [self._decide(row, command) for row, command in commands]
        self._move_money(decisions)
        self._write(decisions)

    # -- gathering everything the decisions need, in a few queries ----------------------------

    def _load_context(self, commands: list[tuple[InboxRow, Command]]) -> None:
        by_network: dict[str, set[str]] = {}
        listing_posts: dict[str, set[str]] = {}
        for row, command in commands:
            if isinstance(command, (SendCommand, BuyCommand)):
                accounts = by_network.setdefault(row.network, set())
                accounts.add(row.author_id)
                if row.recipient_account_id:
                    accounts.add(row.recipient_account_id)
            if isinstance(command, BuyCommand) and row.in_reply_to_id:
                listing_posts.setdefault(row.network, set()).add(row.in_reply_to_id)
        authors: dict[str, dict[str, str]] = {}
        for row, _command in commands:
            authors.setdefault(row.network, {})[row.author_id] = row.author_handle
            by_network.setdefault(row.network, set()).add(row.author_id)
        self.users: dict[tuple[str, str], UserRow] = {}
        for network, account_ids in by_network.items():
            found = users_repo.users_by_network_account(self.conn, network, account_ids)
            self.users.update({(network, account): user for account, user in found.items()})
            # The id is what is linked; the handle shown is followed when the author renames.
            renamed = {
                account: handle
                for account, handle in authors.get(network, {}).items()
                if handle and account in found and found[account].linked_handle != handle
            }
            users_repo.store_handles(self.conn, network, renamed)
        self.listings: dict[tuple[str, str], ListingRow] = {}
        merchant_ids: set[int] = set()
        for network, post_ids in listing_posts.items():
            for post_id, listing in listings_repo.by_posts(self.conn, network, post_ids).items():
                self.listings[(network, post_id)] = listing
                merchant_ids.add(listing.merchant_user_id)
        self.merchants = users_repo.users_by_id(self.conn, merchant_ids)
        # Requests named by a send's memo (#r<code>): rare, so one query only when there are.
        # Their rows stay locked until the batch commits: two batches deciding on one paid-once
        # request (two workers, or a confirmation) take turns.
        codes = {
            code
            for _row, command in commands
            if isinstance(command, SendCommand)
            for code in references_in(command.memo)
        }
        self.requests: dict[str, RequestStanding] = requests_repo.standing_by_code(
            self.conn, codes, lock=True
        )
        senders = {
            sender.id: sender
            for row, _command in commands
            if (sender := self.users.get((row.network, row.author_id))) is not None
        }
        # The recipients each sender may pay in this batch: the senders' query returns only
        # those of their known recipients that the velocity rules will ask about.
        asked_accounts: set[tuple[int, str]] = set()
        asked_users: set[tuple[int, int]] = set()
        for row, command in commands:
            sender = self.users.get((row.network, row.author_id))
            if sender is None:
                continue
            if isinstance(command, SendCommand) and row.recipient_account_id:
                asked_accounts.add((sender.id, row.recipient_account_id))
                if user := self.users.get((row.network, row.recipient_account_id)):
                    asked_users.add((sender.id, user.id))
            elif isinstance(command, BuyCommand) and (
                bought := self.listings.get((row.network, row.in_reply_to_id or ""))
            ):
                asked_users.add((sender.id, bought.merchant_user_id))
        history = sender_history(
            self.conn,
            senders.keys(),
            self.now,
            velocity_rules_from(self.ctx.settings),
            self.ctx.settings.max_person_payment_cents,
            asked_accounts=asked_accounts,
            asked_users=asked_users,
        )
        self.totals: dict[int, SenderTotals] = {s: h.totals for s, h in history.items()}
        self.activity = {s: h.activity for s, h in history.items()}
        self.claims_held = self.ledger.account_id("claims_held")
        wallets = {u.wallet_account_id: u.id for u in senders.values()}
        available = self.ledger.available_cents(sorted(wallets))
        # What each sender can still spend, lowered as this batch accepts their payments.
        self.available = {wallets[w]: cents for w, cents in available.items()}
        self.shortfalls: dict[int, int] = {}

    # -- deciding each post ---------------------------------------------------------------------

    def _decide(self, row: InboxRow, command: Command) -> Decision:
        language: Language = getattr(command, "language", "fr")
        decision = Decision(row=row, language=language)
        if isinstance(command, NoCommand):
            return decision
        if row.is_repost or row.is_quote or row.visibility not in PUBLIC_VISIBILITIES:
            # Only the author's own public, original post counts.
            decision.reason = "not_an_original_public_post"
            return decision
        if isinstance(command, HelpCommand):
            decision.reason = "help"
            return decision
        if isinstance(command, ParseError):
            decision.refuse(command.code)
            return decision
        if isinstance(command, LinkCommand):
            self._decide_link(decision, command)
            return decision
        if isinstance(command, SendCommand):
            decision.amount, decision.memo = command.amount, command.memo
            decision.recipient_handle = command.recipient
            self._decide_send(decision)
        elif isinstance(command, BuyCommand):
            decision.kind = PaymentKind.PURCHASE
            self._decide_buy(decision, command)
        return decision

    def _decide_link(self, decision: Decision, command: LinkCommand) -> None:
        """Link the author's account to the code's owner; no money moves but the money held
        for the account, credited as any link does. A payment later in this same batch from
        the author is still decided as from the account found when the batch began."""
        row = decision.row
        if row.edited:
            # As an edited payment is never paid blind, an edit never links: the code could
            # have been pasted into a post someone else already answered.
            decision.refuse(LINK_POST_EDITED)
            return
        done = link_by_code(
            self.conn,
            self.ctx,
            code=command.code,
            network=row.network,
            account=NetworkAccount(id=row.author_id, handle=row.author_handle),
            now=self.now,
        )
        if not done.linked:
            decision.refuse(done.outcome)
            return
        decision.reason = done.outcome

    def _sender(self, decision: Decision) -> UserRow | None:
        row = decision.row
        sender = self.users.get((row.network, row.author_id))
        if sender is None:
            decision.refuse(Refusal.SENDER_UNKNOWN)
        elif sender.is_frozen:
            decision.refuse(Refusal.SENDER_FROZEN)
        else:
            self._count_order(decision, sender)
        decision.sender = sender
        return None if decision.state is PaymentState.REJECTED else sender

    def _count_order(self, decision: Decision, sender: UserRow) -> None:
        """Count this order against the sender's hourly limit; past it, refuse it. Only the
        first refused order of a flood is answered: answering each would flood back."""
        totals = self.totals.get(sender.id, SenderTotals())
        self.totals[sender.id] = replace(totals, orders_last_hour=totals.orders_last_hour + 1)
        if over_order_limit(self.limits, totals):
            decision.refuse(Refusal.TOO_MANY_ORDERS)
            decision.facts["quiet"] = totals.orders_last_hour > self.limits.orders_per_hour

    def _decide_send(self, decision: Decision) -> None:
        row = decision.row
        sender = self._sender(decision)
        if sender is None:
            return
        assert decision.amount is not None
        if row.recipient_account_id is None:
            decision.refuse(Refusal.RECIPIENT_UNKNOWN)
            return
        if row.recipient_account_id == row.author_id:
            decision.refuse(Refusal.SELF_PAYMENT)
            return
        recipient = self.users.get((row.network, row.recipient_account_id))
        decision.recipient = recipient
        if recipient is not None and recipient.id == sender.id:
            decision.refuse(Refusal.SELF_PAYMENT)
            return
        if recipient is not None and recipient.is_frozen:
            decision.refuse(Refusal.RECIPIENT_FROZEN)
            return
        named = self._requests_named(decision, recipient)
        recipient_id = recipient.id if recipient is not None else None
        if any(closed_to(standing, recipient_id, self.now) for _, standing in named):
            decision.refuse(Refusal.REQUEST_CLOSED)
            return
        kind = _recipient_kind(recipient)
        if kind is RecipientKind.ASSOCIATION:
            decision.kind = PaymentKind.DONATION
        self._accept(decision, sender, kind, credit=recipient)
        if decision.state in (PaymentState.SETTLED, PaymentState.CLAIMED):
            # A later post of this batch naming a paid-once request finds it paid.
            for code, standing in named:
                self.requests[code] = with_one_more_payment(standing)

    def _requests_named(
        self, decision: Decision, recipient: UserRow | None
    ) -> list[tuple[str, RequestStanding]]:
        """The requests of ``recipient`` this payment's memo names."""
        if recipient is None or not self.requests:
            return []
        return [
            (code, standing)
            for code in references_in(decision.memo)
            if (standing := self.requests.get(code)) is not None
            and standing.owner_user_id == recipient.id
        ]

    def _decide_buy(self, decision: Decision, command: BuyCommand) -> None:
        row = decision.row
        sender = self._sender(decision)
        if sender is None:
            return
        listing = self.listings.get((row.network, row.in_reply_to_id or ""))
        if listing is None:
            decision.refuse(Refusal.NOT_A_LISTING)
            return
        decision.listing = listing
        price = Money(listing.price_cents, listing.currency)
        decision.amount = price
        decision.facts["title"] = listing.title
        if command.amount is not None and command.amount != price:
            decision.refuse(Refusal.LISTING_PRICE_MISMATCH)
            return
        merchant = self.merchants.get(listing.merchant_user_id)
        if merchant is None or merchant.is_frozen or merchant.is_closed:
            decision.refuse(Refusal.RECIPIENT_FROZEN)
            return
        if merchant.id == sender.id:
            decision.refuse(Refusal.SELF_PAYMENT)
            return
        decision.recipient = merchant
        if not listings_repo.reserve_one(self.conn, listing.id):
            decision.refuse(Refusal.LISTING_SOLD_OUT)
            return
        self._accept(decision, sender, RecipientKind.MERCHANT, credit=merchant)
        if decision.state is PaymentState.REJECTED:
            listings_repo.release_one(self.conn, listing.id)

    def _accept(
        self, decision: Decision, sender: UserRow, kind: RecipientKind, credit: UserRow | None
    ) -> None:
        """Apply the limits, then plan the transfer: posted, held for a claim, or pending."""
        assert decision.amount is not None
        amount = decision.amount
        if not sender.identity_verified and decision.kind.value not in self.limits.unverified_may:
            decision.refuse(Refusal.SENDER_UNVERIFIED)
            return
        totals = self.totals.get(sender.id, SenderTotals())
        refusal = refusal_for_amount(self.limits, amount.cents, kind, totals)
        if refusal is not None:
            decision.refuse(refusal)
            decision.facts["limit"] = Money(self.limits.max_for(kind), amount.currency)
            decision.facts["minimum"] = Money(self.limits.min_cents, amount.currency)
            return
        row = decision.row
        available = self.available.get(sender.id, 0)
        if amount.cents > available and self._fund_from_card(
            decision, sender, amount.cents - available
        ):
            return
        reason = confirmation_reason(
            self.limits,
            amount.cents,
            totals,
            posted_at=row.posted_at,
            seen_at=row.seen_at,
            edited=row.edited,
        )
        credit_account = credit.wallet_account_id if credit else self.claims_held
        key = transfer_key(row.id)
        if reason is not None:
            decision.state = PaymentState.AWAITING_CONFIRMATION
            decision.confirm_reason = reason
            decision.confirm_token = secrets.token_urlsafe(24)
            ttl = timedelta(minutes=self.ctx.settings.confirmation_ttl_minutes)
            decision.confirm_expires_at = self.now + ttl
            mode = TransferMode.PENDING
        elif credit is None:
            decision.state = PaymentState.HELD_FOR_CLAIM
            mode = TransferMode.POSTED
        else:
            decision.state = PaymentState.SETTLED
            mode = TransferMode.POSTED
        if credit is None:
            decision.claim_token = secrets.token_urlsafe(24)
            window = timedelta(days=self.ctx.settings.claim_window_days)
            decision.claim_expires_at = self.now + window
        decision.transfer = Transfer(key, sender.wallet_account_id, credit_account, amount, mode)
        self.totals[sender.id] = _add_payment(totals, amount.cents, confirmed=reason is not None)
        self.available[sender.id] = available - amount.cents

    def _fund_from_card(self, decision: Decision, sender: UserRow, shortfall: int) -> bool:
        """Park the post while the sender's card is charged for the shortfall, once.

        The post is decided again, from scratch, when the charge has succeeded or failed; a
        post whose charge already ran is never parked twice (that would charge twice).
        """
        if decision.row.funding is not None or not sender.card_customer_id or not self.ctx.cards:
            return False
        self.shortfalls[decision.row.id] = shortfall
        if decision.listing is not None:
            listings_repo.release_one(self.conn, decision.listing.id)
        decision.state = PaymentState.IGNORED
        decision.reason = "awaiting_funding"
        return True

    # -- money and writes -----------------------------------------------------------------------

    def _move_money(self, decisions: list[Decision]) -> None:
        planned = [d for d in decisions if d.transfer is not None]
        results = self.ledger.apply([d.transfer for d in planned if d.transfer is not None])
        for decision, result in zip(planned, results, strict=True):
            if isinstance(result, LedgerError):
                # Short funds is the expected refusal; any other ledger refusal is reported the
                # same way to the sender and keeps its code in the payment's detail.
                decision.refuse(Refusal.FUNDING_FAILED)
                if not isinstance(result, InsufficientFunds):
                    decision.facts["ledger_error"] = result.code
                decision.claim_token = decision.confirm_token = None
                if decision.listing is not None:
                    listings_repo.release_one(self.conn, decision.listing.id)

    def _write(self, decisions: list[Decision]) -> None:
        inbox_repo.wait_for_funding(self.conn, self.shortfalls)
        decisions = [d for d in decisions if d.row.id not in self.shortfalls]
        payment_rows = [payment_row(d, self.now) for d in decisions]
        payments_repo.insert_many(self.conn, payment_rows)
        flag_batch_payments(
            self.conn,
            self.ctx.settings,
            self.activity,
            _committed(decisions, payment_rows),
            _money_moved(decisions),
            self.now,
        )
        purchases = [d for d in decisions if d.listing and d.state is PaymentState.SETTLED]
        # Donations to an association listening by webhook: their event needs the payment id.
        gifts = [d for d in decisions if _heard_donation(d)]
        events: list[dict[str, Any]] = []
        if purchases or gifts:
            ids = payments_repo.ids_by_inbox(self.conn, [d.row.id for d in purchases + gifts])
            for d in purchases:
                assert d.listing and d.sender and d.amount
                order_id = listings_repo.insert_order(
                    self.conn,
                    listing_id=d.listing.id,
                    payment_id=ids[d.row.id],
                    buyer_user_id=d.sender.id,
                    merchant_user_id=d.listing.merchant_user_id,
                    amount_cents=d.amount.cents,
                    now=self.now,
                )
                if d.recipient is not None and d.recipient.has_webhooks:
                    paid = webhook_events.order_event(
                        webhook_events.ORDER_PAID,
                        d.recipient.id,
                        order_id=order_id,
                        listing_id=d.listing.id,
                        payment_id=ids[d.row.id],
                        price=d.amount,
                        buyer=d.sender.display_name,
                        now=self.now,
                    )
                    events.append(paid)
            for d in gifts:
                assert d.recipient and d.sender and d.amount
                gift = webhook_events.donation_event(
                    d.recipient.id,
                    payment_id=ids[d.row.id],
                    gift=d.amount,
                    donor=d.sender.display_name,
                    network=d.row.network,
                    memo=d.memo,
                    now=self.now,
                )
                events.append(gift)
        # One INSERT for the batch's events, only when someone in it listens.
        webhook_events.record(self.conn, events)
        messages: list[dict[str, Any]] = []
        for d in decisions:
            messages.extend(replies_for(self.ctx, d, self.now))
        outbox_repo.enqueue(self.conn, messages)
        notices = _email_notices(decisions)
        if notices:
            notify_by_email(
                self.conn,
                notices,
                base_url=self.ctx.settings.base_url,
                now=self.now,
                contacts=_contacts(decisions),
            )
        inbox_repo.mark_processed(self.conn, [d.row.id for d in decisions])


def _command(row: InboxRow, service_handle: str) -> Command:
    """What the post reads as: as the listener read it when it recorded the post, else parsed
    now (a row recorded before the parse was stored, by another path, or by another grammar:
    the stored parse is taken only when made by the grammar in force, so either way the
    decision is the same)."""
    stored = stored_command(row.parsed_command, row.parsed_grammar, service_handle)
    return parse(row.text, service_handle) if stored is None else stored


def _heard_donation(d: Decision) -> bool:
    return (
        d.kind is PaymentKind.DONATION
        and d.state is PaymentState.SETTLED
        and d.recipient is not None
        and d.recipient.has_webhooks
        and d.sender is not None
        and d.amount is not None
    )


def _contacts(decisions: list[Decision]) -> dict[int, EmailContact]:
    """What the batch already read of its users' email choices: no query more to notify."""
    found = (user for d in decisions for user in (d.sender, d.recipient) if user is not None)
    return {user.id: contact for user in found if (contact := contact_of(user)) is not None}


def _email_notices(decisions: list[Decision]) -> list[Notice]:
    """Money received by a user, and payments waiting for their sender's confirmation."""
    notices: list[Notice] = []
    for d in decisions:
        if d.amount is None:
            continue
        ref = f"inbox:{d.row.id}"
        if d.state is PaymentState.SETTLED and d.recipient is not None:
            author = f"@{d.row.author_handle.lstrip('@')}"
            notices.append(Notice(MONEY_RECEIVED, d.recipient.id, ref, d.amount, author))
        elif d.state is PaymentState.AWAITING_CONFIRMATION and d.sender and d.confirm_token:
            to = f"@{d.recipient_handle.lstrip('@')}" if d.recipient_handle else ""
            link = f"/confirm/{d.confirm_token}"
            notices.append(Notice(CONFIRMATION_WAITING, d.sender.id, ref, d.amount, to, link))
    return notices


def _money_moved(decisions: list[Decision]) -> list[tuple[int, int]]:
    """(inbox id, sender id) of the payments whose money left the sender's wallet."""
    moved = (PaymentState.SETTLED, PaymentState.HELD_FOR_CLAIM)
    return [(d.row.id, d.sender.id) for d in decisions if d.sender and d.state in moved]


def _committed(decisions: list[Decision], rows: list[dict[str, Any]]) -> list[Committed]:
    """The payments of the batch that count for the velocity rules, as their rows record them."""
    return [
        (
            d.row.id,
            d.sender.id,
            (row["recipient_user_id"], row["recipient_account_id"]),
            row["amount_cents"],
        )
        for d, row in zip(decisions, rows, strict=True)
        if d.sender and d.state in COMMITTED_STATES
    ]


def _recipient_kind(recipient: UserRow | None) -> RecipientKind:
    if recipient is None:
        return RecipientKind.NEWCOMER
    if recipient.kind == "association" and recipient.organisation_verified:
        return RecipientKind.ASSOCIATION
    if recipient.kind == "merchant":
        return RecipientKind.MERCHANT
    return RecipientKind.PERSON


def _add_payment(totals: SenderTotals, cents: int, *, confirmed: bool) -> SenderTotals:
    """The sender's totals once this payment counts, so one batch cannot slip past a cap."""
    return replace(
        totals,
        last_24h_cents=totals.last_24h_cents + cents,
        last_30d_cents=totals.last_30d_cents + cents,
        since_confirmation_cents=totals.since_confirmation_cents + (0 if confirmed else cents),
        since_confirmation_count=totals.since_confirmation_count + (0 if confirmed else 1),
        has_paid_before=True,
    )
