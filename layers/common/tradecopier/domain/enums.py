"""The domain's closed vocabularies: sides, order types, time in force, states and statuses."""

from __future__ import annotations

from enum import StrEnum


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

    @property
    def needs_limit_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)

    @property
    def needs_stop_price(self) -> bool:
        return self in (OrderType.STOP, OrderType.STOP_LIMIT)


class Leg(StrEnum):
    """Which leg of a bracket an order is: the OCO exits placed with an entry."""

    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"


class TimeInForce(StrEnum):
    """How long a working order lives. Copies are day orders: futures brokers cancel them at the
    session end, as they would the leader's own."""

    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"


class Rounding(StrEnum):
    HALF_UP = "half_up"
    FLOOR = "floor"
    CEIL = "ceil"


class BrokerName(StrEnum):
    """Brokers an account can be on. Real brokers need stored credentials (API.md v2)."""

    PAPER = "paper"
    TRADOVATE = "tradovate"
    PROJECTX = "projectx"

    @property
    def is_real(self) -> bool:
        return self is not BrokerName.PAPER


class Simulate(StrEnum):
    """Paper-broker rehearsal of a failing follower."""

    REJECT = "reject"
    DISCONNECT = "disconnect"


class FollowerState(StrEnum):
    """ACTIVE copies everything; LIQUIDATE_ONLY (a risk breach being flattened) and LOCKED copy
    only what reduces a position: exits are never blocked."""

    ACTIVE = "active"
    LIQUIDATE_ONLY = "liquidate_only"
    LOCKED = "locked"


class CopyMode(StrEnum):
    """ORDERS copies the leader's orders as placed, modified and cancelled; FILLS copies only what
    the leader actually filled, each fill as a market order."""

    ORDERS = "orders"
    FILLS = "fills"


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
    ORDER_FILLED = "order.filled"
    POSITION_FLATTENED = "position.flattened"
