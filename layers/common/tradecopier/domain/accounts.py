"""Accounts, groups and followers: who leads, who follows, and each follower's copy settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt

from tradecopier.domain.enums import AccountRole, BrokerName, CopyMode, FollowerState, Rounding, Simulate
from tradecopier.domain.symbols import SymbolMap
from tradecopier.domain.sync_settings import (
    DEFAULT_MAX_CATCHUP_TICKS,
    FollowerSync,
    MaxCatchupTicks,
    SyncPolicy,
)
from tradecopier.domain.types import AccountId, GroupId, MaxQuantity, Multiplier, StrictModel

# A day at most: a copy held back longer than that is never what the trader wants.
MaxDelayMs = Annotated[StrictInt, Field(ge=0, le=86_400_000)]
DEFAULT_MAX_DELAY_MS = 10_000


class Account(StrictModel):
    account_id: AccountId
    broker: BrokerName = BrokerName.PAPER


class FollowerSettings(StrictModel):
    multiplier: Multiplier = Decimal(1)
    max_qty: MaxQuantity | None = None
    rounding: Rounding = Rounding.HALF_UP
    simulate: Simulate | None = None
    symbol_map: SymbolMap = Field(default_factory=dict)
    inverse: StrictBool = False
    copy_mode: CopyMode = CopyMode.ORDERS
    max_delay_ms: MaxDelayMs | None = DEFAULT_MAX_DELAY_MS
    sync_policy: SyncPolicy = SyncPolicy.ALERT
    max_catchup_ticks: MaxCatchupTicks = DEFAULT_MAX_CATCHUP_TICKS


class Follower(FollowerSettings):
    account_id: AccountId
    broker: BrokerName = BrokerName.PAPER
    state: FollowerState = FollowerState.ACTIVE
    lock_reason: str | None = None
    locked_at: datetime | None = None
    sync: FollowerSync | None = None

    @property
    def is_locked(self) -> bool:
        return self.state is FollowerState.LOCKED

    @property
    def may_only_reduce(self) -> bool:
        """Locked or liquidating: copies that open or add are skipped, exits still go through."""
        return self.state is not FollowerState.ACTIVE


class Group(StrictModel):
    group_id: GroupId
    name: str
    leader: Account
    followers: list[Follower] = Field(default_factory=list)
    created_at: datetime


class AccountClaim(StrictModel):
    """Which group an account belongs to and in which role; at most one claim per account."""

    account_id: AccountId
    group_id: GroupId
    role: AccountRole
