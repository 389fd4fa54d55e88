"""The leader's position per symbol as a webhook leader reveals it (API.md v2 Sync: "from the latest
``position_after``"), and its average entry price. Pure; imported by ingest, so kept small.

Which events tell the position:
- ``order.placed`` of a **market** order and ``order.filled``, when they carry ``position_after``
  (a working limit/stop order's ``position_after`` is what the leader will hold once it fills, not
  what it holds now, so it is not taken);
- ``position.flattened``: the leader is flat in that symbol.

Average entry price (the mirror policy's price guard): the average-cost method futures brokers use.
An event that opens or adds at a ``price`` adds a lot (qty, price); a reduction keeps the average;
flat or a reversal starts over (a reversal's new lot is ``|position_after|`` at its price). A lot
without a price makes the average unknown until the position starts over. The store keeps the lots
since the position last started over, so ingest writes them with one blind UpdateItem (no read).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradecopier.domain.enums import OrderType
from tradecopier.domain.events import LeaderEvent, OrderFilled, OrderPlaced, PositionFlattened


@dataclass(frozen=True, slots=True)
class LeaderPosition:
    """What the copier knows of the leader in one (leader) symbol.

    ``as_of`` names the leader state (the event id that set it, or ``broker@<time>``): catch-up
    client order ids derive from it. ``avg_price`` None: no price known for the open position.
    ``last_price``: the latest price seen for the symbol with a position (the price guard's)."""

    symbol: str
    qty: int
    avg_price: Decimal | None
    last_price: Decimal | None
    as_of: str


class LotChange(StrEnum):
    RESTART = "restart"  # flat or reversed: the lots start over (with ``lot`` if any)
    ADD = "add"  # opened or added: ``lot`` is appended
    KEEP = "keep"  # reduced: the average is unchanged


@dataclass(frozen=True, slots=True)
class LeaderUpdate:
    symbol: str
    qty: int
    change: LotChange
    lot_qty: int  # 0: no lot
    price: Decimal | None


def leader_update(event: LeaderEvent) -> LeaderUpdate | None:
    """How ``event`` changes the leader's known position; None when it tells nothing about it."""
    if isinstance(event, PositionFlattened):
        return LeaderUpdate(event.symbol, 0, LotChange.RESTART, 0, event.price)
    if not isinstance(event, OrderPlaced | OrderFilled) or event.position_after is None:
        return None
    if isinstance(event, OrderPlaced) and event.order_type is not OrderType.MARKET:
        return None
    after = event.position_after
    before = after - event.side.sign * event.qty
    if after == 0:
        return LeaderUpdate(event.symbol, 0, LotChange.RESTART, 0, event.price)
    if before == 0 or (before > 0) != (after > 0):
        return LeaderUpdate(event.symbol, after, LotChange.RESTART, abs(after), event.price)
    if abs(after) > abs(before):
        return LeaderUpdate(event.symbol, after, LotChange.ADD, abs(after) - abs(before), event.price)
    return LeaderUpdate(event.symbol, after, LotChange.KEEP, 0, event.price)


def average_price(lots: list[tuple[int, Decimal | None]]) -> Decimal | None:
    """The qty-weighted average of the lots; None without lots or when one has no price."""
    if not lots or any(price is None for _, price in lots):
        return None
    total = sum(qty for qty, _ in lots)
    cost = sum((qty * price for qty, price in lots if price is not None), Decimal(0))
    return cost / total if total else None
