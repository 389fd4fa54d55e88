"""Accounts, groups and followers: who leads, who follows, and each follower's copy settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator

from tradecopier.domain.enums import AccountRole, BrokerName, CopyMode, FollowerState, Rounding, Simulate
from tradecopier.domain.risk.settings import RiskSettings
from tradecopier.domain.risk.state import RiskState, RiskStatus
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


ConnectionStatus = Literal["connected", "auth_failed", "account_not_found", "unreachable"]


class ConnectionState(StrictModel):
    """A real-broker account's last known connection status: from the latest
    ``GET /accounts/{id}/connection`` or the executor's latest broker call that changed it."""

    status: ConnectionStatus
    checked_at: datetime
    detail: str | None = None


LeaderStreamStatus = Literal["connected", "reconnecting", "down", "not_running"]


class LeaderStream(StrictModel):
    """The listener's stream of a real-broker leader's orders, as the listener last reported it:
    ``connected``, ``reconnecting`` (with why), ``down`` (the listener stopped, or could not open
    the stream: why), or ``not_running`` (no listener has reported for this leader yet)."""

    status: LeaderStreamStatus
    since: datetime | None = Field(default=None, description="when it entered this status; null: not_running")
    detail: str | None = None


NOT_RUNNING = LeaderStream(status="not_running")


class Leader(Account):
    """A group's leader as shown: the account, its last known connection and its listener stream
    (both null for paper: a webhook-only leader has no stream). The stream is not stored on the
    group: the group view reads it from the listener's state (``dal/copier/listener``)."""

    connection: ConnectionState | None = None
    leader_stream: LeaderStream | None = Field(
        default=None,
        description="the listener's stream of this leader's orders; null for paper (webhook only)",
    )


class FollowerSettings(StrictModel):
    multiplier: Multiplier = Decimal(1)
    max_qty: MaxQuantity | None = None
    rounding: Rounding = Rounding.HALF_UP
    simulate: Simulate | None = None
    symbol_map: SymbolMap = Field(default_factory=dict)
    inverse: StrictBool = False
    copy_mode: CopyMode = CopyMode.ORDERS
    max_delay_ms: MaxDelayMs | None = DEFAULT_MAX_DELAY_MS
    # As stored: the preset already applied (the request models resolve it, see api/schemas).
    risk: RiskSettings | None = None
    sync_policy: SyncPolicy = SyncPolicy.ALERT
    max_catchup_ticks: MaxCatchupTicks = DEFAULT_MAX_CATCHUP_TICKS


class Follower(FollowerSettings):
    account_id: AccountId
    broker: BrokerName = BrokerName.PAPER
    state: FollowerState = FollowerState.ACTIVE
    lock_reason: str | None = None
    locked_at: datetime | None = None
    locked_until: datetime | None = Field(
        default=None, description="when a risk lock lifts by itself (the next session start); null: never"
    )
    risk_status: RiskStatus | None = Field(default=None, description="null when the follower has no rules")
    # The risk engine's memory, stored on the follower item; not part of the API view.
    risk_state: RiskState | None = Field(default=None, exclude=True)
    connection: ConnectionState | None = Field(
        default=None, description="last known status at a real broker; null for paper"
    )
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
    leader: Leader
    followers: list[Follower] = Field(default_factory=list)
    created_at: datetime

    @field_validator("leader", mode="before")
    @classmethod
    def _leader_from_account(cls, value: Any) -> Any:
        """A plain ``Account`` (a request's leader) becomes a ``Leader`` with no known connection."""
        if isinstance(value, Account) and not isinstance(value, Leader):
            return Leader(account_id=value.account_id, broker=value.broker)
        return value


class AccountClaim(StrictModel):
    """Which group an account belongs to and in which role; at most one claim per account."""

    account_id: AccountId
    group_id: GroupId
    role: AccountRole
