"""Use case: spend each network's reply budget on the outbox's messages, most needed first.

Runs inside the transaction that claims a batch for sending, one network at a time under that
network's lock, so that two senders never spend the same points. What the budget cannot
afford is either deferred (a reply that needs the user: it waits for room) or downgraded (an
acknowledgement: the user is told in the app, and by private message where the network's
private messages have a budget of their own). A message that is then not posted gives its
points back (:func:`give_back`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from payez.adapters.db import notifications as notifications_repo
from payez.adapters.db import outbox as outbox_repo
from payez.adapters.db import reply_budgets as spends_repo
from payez.adapters.db.outbox import OutboxMessage
from payez.domain.reply_budget import (
    Defer,
    Downgrade,
    Priority,
    ReplyBudget,
    Send,
    plan,
    priority_of,
    remaining,
)
from payez.service.context import ServiceContext
from payez.service.outbox_messages import LISTING

# Why a message waits or was not posted: kept in its ``last_error``, counted by /metrics.
BUDGET_SPENT = "reply budget spent: waits for room"
TOLD_IN_APP = "reply budget short: told in the app"


def _draws_on(budget: ReplyBudget, message: OutboxMessage) -> bool:
    """Listing posts are the merchant's (their own limits); private messages count only where
    the network counts them as posts."""
    if budget.unlimited or message.kind == LISTING:
        return False
    return message.kind == "reply" or budget.private_messages == "spend"


def _priority(message: OutboxMessage) -> Priority:
    # An acknowledgement nobody can be told in the app about is sent like a needed reply.
    if message.user_id is None:
        return Priority.NEEDS_USER
    return priority_of(message.outcome)


def allot(
    conn: Connection, ctx: ServiceContext, messages: Sequence[OutboxMessage], now: datetime
) -> list[OutboxMessage]:
    """The claimed ``messages`` the budgets afford, in their order; the others are deferred or
    downgraded here, in ``conn``'s transaction."""
    budgets = {network: ctx.reply_budget(network) for network in {m.network for m in messages}}
    drawing: dict[str, list[OutboxMessage]] = defaultdict(list)
    for message in messages:
        if _draws_on(budgets[message.network], message):
            drawing[message.network].append(message)
    if not drawing:
        return list(messages)
    refused: set[int] = set()
    for network, group in drawing.items():
        budget = budgets[network]
        spends_repo.lock(conn, network)
        since = now - budget.longest
        spends_repo.forget_before(conn, network, since)
        verdicts = plan(
            budget,
            spends_repo.recent(conn, network, since),
            now,
            [_priority(m) for m in group],
            reserve_percent=ctx.settings.reply_budget_reserve_percent,
        )
        sent: list[int] = []
        deferred: dict[datetime, list[int]] = defaultdict(list)
        downgraded: list[OutboxMessage] = []
        for message, verdict in zip(group, verdicts, strict=True):
            match verdict:
                case Send():
                    sent.append(message.id)
                case Defer(until):
                    deferred[until].append(message.id)
                case Downgrade():
                    downgraded.append(message)
        spends_repo.record(conn, network, sent, budget.cost, now)
        for until, ids in deferred.items():
            outbox_repo.defer(conn, ids, until, BUDGET_SPENT)
        _tell_in_app(conn, budget, downgraded, now)
        affordable = set(sent)
        refused.update(m.id for m in group if m.id not in affordable)
    return [m for m in messages if m.id not in refused]


def _tell_in_app(
    conn: Connection, budget: ReplyBudget, messages: Sequence[OutboxMessage], now: datetime
) -> None:
    if not messages:
        return
    notifications_repo.add(
        conn,
        [
            {
                "user_id": m.user_id,
                "network": m.network,
                "text": m.text,
                "source_key": m.idempotency_key,
                "created_at": now,
            }
            for m in messages
        ],
    )
    if budget.private_messages == "separate":
        copies = [_private_copy(m, now) for m in messages if m.kind == "reply"]
        outbox_repo.enqueue(conn, [c for c in copies if c["recipient_account_id"]])
    outbox_repo.mark_downgraded(conn, [m.id for m in messages], TOLD_IN_APP)


def _private_copy(message: OutboxMessage, now: datetime) -> dict[str, Any]:
    return {
        "network": message.network,
        "kind": "private",
        "in_reply_to": None,
        "recipient_account_id": message.recipient_account_id,
        "recipient_handle": message.recipient_handle,
        "text": message.text,
        "outcome": message.outcome,
        "user_id": message.user_id,
        "idempotency_key": f"{message.idempotency_key}:private",
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def give_back(conn: Connection, message: OutboxMessage) -> None:
    spends_repo.give_back(conn, message.id)


@dataclass(frozen=True, slots=True)
class BudgetFigure:
    network: str
    window: str
    limit: int
    remaining: int


def budget_figures(ctx: ServiceContext, networks: Sequence[str]) -> list[BudgetFigure]:
    """What is left of each window of each of ``networks``' budgets, now."""
    now = ctx.now()
    figures: list[BudgetFigure] = []
    with ctx.engine.connect() as conn:
        for network in networks:
            budget = ctx.reply_budget(network)
            if budget.unlimited:
                continue
            spends = spends_repo.recent(conn, network, now - budget.longest)
            for window, left in remaining(budget, spends, now).items():
                figures.append(BudgetFigure(network, window.label, window.limit, left))
    return figures


def replies_held_back(ctx: ServiceContext) -> tuple[dict[str, int], dict[str, int]]:
    """By network: the replies waiting for room in the budget, and the acknowledgements told
    in the app instead of posted."""
    with ctx.engine.connect() as conn:
        waiting = outbox_repo.counts_by_network(conn, "pending", BUDGET_SPENT)
        told = outbox_repo.counts_by_network(conn, "downgraded")
    return waiting, told
