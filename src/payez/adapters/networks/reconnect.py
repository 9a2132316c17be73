"""Jittered exponential backoff for stream listeners that reconnect after a drop."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class Backoff:
    """Delays of ``initial * 2**n`` capped at ``maximum``, each drawn in [delay/2, delay].

    The jitter keeps many listeners that lost the same server from reconnecting in lockstep.
    """

    initial: float = 0.5
    maximum: float = 60.0
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * (2 ** min(self.attempts, 32)))
        self.attempts += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0

    def wait(self, stop: threading.Event) -> bool:
        """Sleep for the next delay; True when ``stop`` was set meanwhile."""
        return stop.wait(self.next_delay())


def wait_out(stop: threading.Event, backoff: Backoff, reset_at: datetime | None) -> bool:
    """After a rate limit: sleep until ``reset_at`` (plus up to a second of jitter, so many
    listeners do not return in the same instant), or the next back-off delay when the network
    gave no reset time. True when ``stop`` was set meanwhile."""
    if reset_at is None:
        return backoff.wait(stop)
    ahead = (reset_at - datetime.now(UTC)).total_seconds()
    return stop.wait(max(0.0, ahead) + backoff.rng.uniform(0.0, 1.0))
