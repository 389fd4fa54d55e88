"""Domain models: accounts, groups, followers, leader events, follower orders, copies.

Money fields are ``Decimal``; every model refuses unknown fields, so a typo such as ``multipler``
is an error, never a silently ignored setting.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StringConstraints,
    model_validator,
)


class StrictModel(BaseModel):
    """Base of every domain and API model: unknown fields are refused, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class Rounding(StrEnum):
    HALF_UP = "half_up"
    FLOOR = "floor"
    CEIL = "ceil"


class BrokerName(StrEnum):
    """Brokers an account can be on. Real adapters are added here as they land."""

    PAPER = "paper"


class Simulate(StrEnum):
    """Paper-broker rehearsal of a failing follower."""

    REJECT = "reject"
    DISCONNECT = "disconnect"


class FollowerState(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"


class AccountRole(StrEnum):
    LEADER = "leader"
    FOLLOWER = "follower"


class CopyStatus(StrEnum):
    PENDING = "pending"
    PLACED = "placed"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self is not CopyStatus.PENDING


class OrderStatus(StrEnum):
    WORKING = "working"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class EventType(StrEnum):
    ORDER_PLACED = "order.placed"
    ORDER_MODIFIED = "order.modified"
    ORDER_CANCELLED = "order.cancelled"
    POSITION_FLATTENED = "position.flattened"


def _as_number(value: Decimal) -> float | int:
    """JSON shows Decimals as numbers (API.md), integers without a trailing ``.0``."""
    return int(value) if value == value.to_integral_value() else float(value)


AccountId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
GroupId = Annotated[str, StringConstraints(pattern=r"^g-[a-z0-9]{12}$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:!/ -]{1,32}$")]
Price = Annotated[
    Decimal,
    Field(gt=0, max_digits=20, decimal_places=8, allow_inf_nan=False),
    PlainSerializer(_as_number, when_used="json"),
]
Multiplier = Annotated[
    Decimal,
    Field(gt=0, le=1000, max_digits=12, decimal_places=6, allow_inf_nan=False),
    PlainSerializer(_as_number, when_used="json"),
]
Quantity = Annotated[StrictInt, Field(ge=1, le=100_000)]
MaxQuantity = Annotated[StrictInt, Field(ge=1, le=100_000)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


# --- accounts, groups, followers ---------------------------------------------------------------


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


# --- leader events -----------------------------------------------------------------------------


class _LeaderEventBase(StrictModel):
    event_id: Identifier
    occurred_at: datetime | None = None
    price: Price | None = None


class OrderPlaced(_LeaderEventBase):
    type: Literal["order.placed"]
    order_id: Identifier
    symbol: Symbol
    side: Side
    qty: Quantity
    order_type: OrderType
    limit_price: Price | None = None
    stop_price: Price | None = None

    @model_validator(mode="after")
    def _prices_fit_order_type(self) -> Self:
        needs_limit = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_limit != (self.limit_price is not None):
            raise ValueError(
                f"a {self.order_type} order {'needs' if needs_limit else 'takes no'} limit_price"
            )
        if needs_stop != (self.stop_price is not None):
            raise ValueError(f"a {self.order_type} order {'needs' if needs_stop else 'takes no'} stop_price")
        return self


class OrderModified(_LeaderEventBase):
    type: Literal["order.modified"]
    order_id: Identifier
    symbol: Symbol | None = None
    qty: Quantity | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if self.qty is None and self.limit_price is None and self.stop_price is None:
            raise ValueError("order.modified needs at least one of qty, limit_price, stop_price")
        return self


class OrderCancelled(_LeaderEventBase):
    type: Literal["order.cancelled"]
    order_id: Identifier
    symbol: Symbol | None = None


class PositionFlattened(_LeaderEventBase):
    type: Literal["position.flattened"]
    symbol: Symbol


LeaderEvent = Annotated[
    OrderPlaced | OrderModified | OrderCancelled | PositionFlattened, Field(discriminator="type")
]


class AcceptedEvent(StrictModel):
    """What ingest publishes to the group's topic: the leader event and when it was accepted."""

    group_id: GroupId
    received_at: datetime
    event: LeaderEvent


# --- orders, positions and copies --------------------------------------------------------------


class FollowerOrder(StrictModel):
    """An order the copier sends to one follower's broker."""

    client_order_id: str
    account_id: AccountId
    symbol: Symbol
    side: Side
    qty: Quantity
    order_type: OrderType
    limit_price: Price | None = None
    stop_price: Price | None = None
    reference_price: Price | None = None


class OrderLink(StrictModel):
    """The follower order that copied one leader order."""

    group_id: GroupId
    leader_order_id: Identifier
    account_id: AccountId
    broker_order_id: str
    client_order_id: str
    symbol: Symbol


class CopyRecord(StrictModel):
    """One follower's result for one leader event (an entry of ``copies`` in API.md)."""

    account_id: AccountId
    status: CopyStatus = CopyStatus.PENDING
    qty: int | None = None
    reason: str | None = None
    broker_order_id: str | None = None
    client_order_id: str | None = None
    detail: str | None = None
    latency_ms: int | None = None
    attempts: int | None = None
    updated_at: datetime | None = None
