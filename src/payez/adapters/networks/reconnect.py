"""Jittered exponential backoff for stream listeners that reconnect after a drop."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


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
