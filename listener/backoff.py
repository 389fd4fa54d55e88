"""Reconnect delays: exponential with jitter ("equal jitter": half fixed, half random), capped."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base_s: float = 1.0
    cap_s: float = 60.0
    rand: Callable[[], float] = random.random
    attempt: int = field(default=0, init=False)

    def next(self) -> float:
        ceiling = float(min(self.cap_s, self.base_s * 2.0**self.attempt))
        self.attempt += 1
        return ceiling / 2 + self.rand() * ceiling / 2

    def reset(self) -> None:
        self.attempt = 0
