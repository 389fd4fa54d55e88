"""The listener's settings, read once at start like every function's (``tradecopier.settings``)."""

from __future__ import annotations

from pydantic import Field

from tradecopier.settings import AlertSettings, BrokerSettings


class ListenerSettings(BrokerSettings, AlertSettings):
    """The copier table (groups, last-seen state), the broker secrets' prefix, and its timings; where
    a leader-stream-down alert goes."""

    listener_poll_seconds: float = Field(default=5.0, gt=0, le=10)  # groups picked up/dropped within 10 s
    listener_silence_seconds: float = Field(default=10.0, ge=3, le=300)
