"""Accounts, groups and followers: who leads, who follows, and each follower's copy settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from tradecopier.domain.enums import AccountRole, BrokerName, FollowerState, Rounding, Simulate
from tradecopier.domain.types import AccountId, GroupId, MaxQuantity, Multiplier, StrictModel


class Account(StrictModel):
    account_id: AccountId
    broker: BrokerName = BrokerName.PAPER


class FollowerSettings(StrictModel):
    multiplier: Multiplier = Decimal(1)
    max_qty: MaxQuantity | None = None
    rounding: Rounding = Rounding.HALF_UP
    simulate: Simulate | None = None


class Follower(FollowerSettings):
    account_id: AccountId
    broker: BrokerName = BrokerName.PAPER
    state: FollowerState = FollowerState.ACTIVE
    lock_reason: str | None = None
    locked_at: datetime | None = None

    @property
    def is_locked(self) -> bool:
        return self.state is FollowerState.LOCKED


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
