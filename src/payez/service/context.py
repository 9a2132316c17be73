"""What every use case needs, gathered once: the database, settings, clock, networks, mailer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from payez.config import Settings
from payez.domain.policy import Limits
from payez.ports.cards import CardProcessor
from payez.ports.clock import Clock, SystemClock
from payez.ports.mailer import Mailer
from payez.ports.network import SocialNetwork


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
    )


@dataclass
class ServiceContext:
    engine: Engine
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    networks: Mapping[str, SocialNetwork] = field(default_factory=dict)
    cards: CardProcessor | None = None
    # Delivers the email outbox; None: this process leaves the emails to another worker.
    mailer: Mailer | None = None

    @property
    def limits(self) -> Limits:
        return limits_from(self.settings)

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
