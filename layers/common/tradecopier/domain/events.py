"""Leader events: what happened in the leader account, as ingest accepts and publishes it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import Field, StrictInt, model_validator

from tradecopier.domain.enums import OrderType, Side
from tradecopier.domain.orders import price_rule_violation
from tradecopier.domain.types import GroupId, Identifier, Price, Quantity, StrictModel, Symbol

# The leader's signed position in the symbol once the order has filled completely (long > 0).
PositionAfter = Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)]


class BracketLeg(StrictModel):
    """One leg of a leader bracket: the leader's own order id for it, and its price."""

    order_id: Identifier
    price: Price


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
    take_profit: BracketLeg | None = None
    stop_loss: BracketLeg | None = None
    position_after: PositionAfter | None = None

    @model_validator(mode="after")
    def _prices_fit_order_type(self) -> Self:
        if violation := price_rule_violation(self.order_type, self.limit_price, self.stop_price):
            raise ValueError(violation)
        ids = [self.order_id, *(leg.order_id for leg in (self.take_profit, self.stop_loss) if leg)]
        if len(set(ids)) != len(ids):
            raise ValueError("order_id, take_profit.order_id and stop_loss.order_id must all differ")
        return self

    @property
    def has_bracket(self) -> bool:
        return self.take_profit is not None or self.stop_loss is not None


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


class OrderFilled(_LeaderEventBase):
    """The leader's order filled (in part or in full): ``qty`` is this fill's quantity."""

    type: Literal["order.filled"]
    order_id: Identifier
    symbol: Symbol
    side: Side
    qty: Quantity
    price: Price
    position_after: PositionAfter | None = None


class PositionFlattened(_LeaderEventBase):
    type: Literal["position.flattened"]
    symbol: Symbol


LeaderEvent = Annotated[
    OrderPlaced | OrderModified | OrderCancelled | OrderFilled | PositionFlattened,
    Field(discriminator="type"),
]


class AcceptedEvent(StrictModel):
    """What ingest publishes to the group's topic: the leader event and when it was accepted."""

    group_id: GroupId
    received_at: datetime
    event: LeaderEvent
