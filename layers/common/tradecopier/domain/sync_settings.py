"""A follower's sync settings and status (API.md v2 "Sync"): the vocabulary ``accounts`` and
``sync`` share, kept apart so the follower model imports nothing more than these."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StrictInt

from tradecopier.domain.types import StrictModel

DEFAULT_MAX_CATCHUP_TICKS = 8
MaxCatchupTicks = Annotated[StrictInt, Field(ge=0, le=100_000)]


class SyncPolicy(StrEnum):
    ALERT = "alert"  # report only
    CLOSE_ONLY = "close_only"  # also close what the leader does not hold
    MIRROR = "mirror"  # also trim an excess and open what is missing, within max_catchup_ticks


class SyncStatus(StrEnum):
    IN_SYNC = "in_sync"
    OUT_OF_SYNC = "out_of_sync"
    UNKNOWN = "unknown"


class FollowerSync(StrictModel):
    """The Follower view's ``sync`` field: the latest check's result."""

    status: SyncStatus
    checked_at: datetime
    symbols_out_of_sync: list[str] = Field(default_factory=list)
