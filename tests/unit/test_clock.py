"""The real clock: timezone-aware UTC, the default of every ``clock`` parameter."""

from __future__ import annotations

from datetime import UTC, datetime

from tradecopier.clock import utc_now


def test_the_real_clock_is_utc_now() -> None:
    before = datetime.now(UTC)
    now = utc_now()
    assert now.tzinfo is UTC and before <= now <= datetime.now(UTC)
