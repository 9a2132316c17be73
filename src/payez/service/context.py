"""What every use case needs, gathered once: the database, settings, clock, networks, mailer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from payez.config import POST_COST, Settings
from payez.domain.policy import Limits
from payez.domain.reply_budget import PrivateMessages, ReplyBudget, parse_windows
from payez.ports.cards import CardProcessor
from payez.ports.clock import Clock, SystemClock
from payez.ports.mailer import Mailer
from payez.ports.network import SocialNetwork
from payez.ports.webhooks import WebhookSender


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_person_cents=settings.max_person_payment_cents,
        max_association_cents=settings.max_association_payment_cents,
        min_cents=settings.min_payment_cents,
        daily_cap_cents=settings.daily_cap_cents,
        monthly_cap_cents=settings.monthly_cap_cents,
        confirm=settings.confirm,
        psd2_single_cents=settings.psd2_single_cents,
        psd2_cumulative_cents=settings.psd2_cumulative_cents,
        psd2_cumulative_count=settings.psd2_cumulative_count,
        stale_after=timedelta(minutes=settings.stale_post_minutes),
        unverified_may=settings.unverified_kinds,
        orders_per_hour=settings.sender_orders_per_hour,
    )


def reply_budget_from(settings: Settings, network: str) -> ReplyBudget:
    """``network``'s reply budget as configured; networks without a setting have no limit."""
    text = getattr(settings, f"{network}_reply_budget", "")
    cost = POST_COST.get(network, 1)
    # A Mastodon direct message is a status like any other; X's and Bluesky's private
    # messages have limits of their own (Bluesky's only with a chat service).
    private: PrivateMessages = "spend"
    if network == "x":
        private = "separate"
    elif network == "bluesky":
        private = "separate" if settings.bluesky_chat_service else "none"
    return ReplyBudget(parse_windows(text, cost=cost), cost, private)


@dataclass
class ServiceContext:
    engine: Engine
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    networks: Mapping[str, SocialNetwork] = field(default_factory=dict)
    cards: CardProcessor | None = None
    # Delivers the email outbox; None: this process leaves the emails to another worker.
    mailer: Mailer | None = None
    # Delivers the webhooks; None: this process leaves them to another worker.
    webhooks: WebhookSender | None = None
    # Reply budgets by network, when not the configured ones (tests give their own).
    reply_budgets: Mapping[str, ReplyBudget] | None = None

    @property
    def limits(self) -> Limits:
        return limits_from(self.settings)

    def reply_budget(self, network: str) -> ReplyBudget:
        if self.reply_budgets is not None and network in self.reply_budgets:
            return self.reply_budgets[network]
        return reply_budget_from(self.settings, network)

    def now(self) -> datetime:
        return self.clock.now()

    def service_handle(self, network: str) -> str:
        """The service account's handle on ``network`` (replies show it in their examples)."""
        adapter = self.networks.get(network)
        if adapter is not None:
            return adapter.service_account.handle
        return self.settings.service_handle

    def link(self, path: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/{path.lstrip('/')}"
