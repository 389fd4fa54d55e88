"""Orders the copier sends to a follower's broker, the rule every order's prices obey, and the
link from a leader order to the follower order that copied it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydantic import Field

from tradecopier.domain.enums import Leg, OrderType, Side
from tradecopier.domain.types import AccountId, GroupId, Identifier, Price, Quantity, StrictModel, Symbol


def price_rule_violation(
    order_type: OrderType, limit_price: Decimal | None, stop_price: Decimal | None
) -> str | None:
    """Why these prices do not fit ``order_type`` (a limit needs a limit price, a market order takes
    none, ...), or None. The one statement of the rule: leader events, the paper broker and every
    adapter ask it."""
    needs_limit = order_type.needs_limit_price
    needs_stop = order_type.needs_stop_price
    if needs_limit != (limit_price is not None):
        return f"a {order_type} order {'needs' if needs_limit else 'takes no'} limit_price"
    if needs_stop != (stop_price is not None):
        return f"a {order_type} order {'needs' if needs_stop else 'takes no'} stop_price"
    return None


class Bracket(StrictModel):
    """The OCO legs placed with an entry: a take-profit ``limit`` and a stop-loss ``stop``, on the
    side opposite the entry, each for ``qty``, working once the entry fills; one filling cancels
    the other."""

    qty: Quantity
    take_profit: Price | None = None
    stop_loss: Price | None = None


class FollowerOrder(StrictModel):
    """An order the copier sends to one follower's broker; ``bracket``: its OCO exit legs."""

    client_order_id: str
    account_id: AccountId
    symbol: Symbol
    side: Side
    qty: Quantity
    order_type: OrderType
    limit_price: Price | None = None
    stop_price: Price | None = None
    reference_price: Price | None = None
    bracket: Bracket | None = None


class OrderLink(StrictModel):
    """The follower order that copied one leader order: an entry (with the broker ids of its
    bracket legs) or a leg (the leader leg's ``order_id`` → the follower leg that plays its part;
    for an inverse follower that is the swapped leg)."""

    group_id: GroupId
    leader_order_id: Identifier
    account_id: AccountId
    broker_order_id: str
    client_order_id: str
    symbol: Symbol
    leg: Leg | None = None
    parent_broker_order_id: str | None = None
    leg_order_ids: dict[Leg, str] = Field(default_factory=dict)


# --- commands an adapter carries out on an existing order or position ---------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ModifyOrder:
    """Change a working order to these absolute values (``None``: leave that field as it is).
    ``client_order_id`` is the modify's own deterministic id (brokers that tag commands keep it)."""

    broker_order_id: str
    client_order_id: str
    qty: int | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    broker_order_id: str


@dataclass(frozen=True, slots=True)
class FlattenPosition:
    """Cancel every working order in ``symbol`` and close its position with one market order
    carrying ``client_order_id``."""

    symbol: Symbol
    client_order_id: str
