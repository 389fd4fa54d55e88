"""The one source of the current time: code that stamps a record takes a ``Clock`` instead of
reading the system clock, so a test (or the risk engine's calendar) can give it a fixed one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current moment, timezone-aware."""


def utc_now() -> datetime:
    """The real clock: the current moment in UTC."""
    return datetime.now(UTC)


__all__ = ["Clock", "utc_now"]
