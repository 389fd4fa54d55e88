"""The paper broker's position arithmetic: pure, no I/O.

Positions are signed. The average price is the standard futures one: the weighted average when
adding in the same direction, unchanged when reducing, the fill price of the remainder after a
flip, and none once flat. It is kept as the exact cost of the open quantity, and shown rounded to
8 decimals when it does not divide exactly. A fill at an unknown price (``None``) still moves the
quantity; only the average becomes unknown.

A fill that reduces (or closes, or flips) a position realizes P&L on the closed quantity against
the exact cost of that quantity (``realized_pnl``), in USD by the symbol's point value, rounded to
the cent once per fill, as brokers report it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal

from tradecopier.domain.enums import Side
from tradecopier.domain.instruments import spec_for

_AVERAGE_QUANTUM = Decimal("0.00000001")
_CENT = Decimal("0.01")
_COST_QUANTUM = Decimal("0.000000000001")


@dataclass(frozen=True, slots=True)
class PaperPosition:
    """One symbol's position. ``cost`` is what the open quantity cost (the exact basis of
    ``avg_price``); ``version`` is the store's optimistic-concurrency counter (0: never written),
    which a fill carries over unchanged."""

    symbol: str
    qty: int = 0
    avg_price: Decimal | None = None
    cost: Decimal | None = None
    last_fill_price: Decimal | None = None
    version: int = 0


def apply_fill(position: PaperPosition, side: Side, qty: int, price: Decimal | None) -> PaperPosition:
    """The position after a fill of ``qty`` on ``side`` at ``price`` (``None``: price unknown).

    The position keeps ``cost``, what its open quantity cost, and derives the average from it, so
    a run of adds gives the exact weighted average rounded once, not a rounding per fill.
    """
    before = position.qty
    change = side.sign * qty
    after = before + change
    cost: Decimal | None
    if after == 0:
        cost = None
    elif before == 0 or (before > 0) == (change > 0):
        if price is None or (before != 0 and position.cost is None):
            cost = None  # opening or adding at an unknown price: the average is unknown
        else:
            cost = (position.cost or Decimal(0)) + price * qty
    elif (after > 0) == (before > 0):
        # Reducing: what is left keeps its average, so it keeps its share of the cost.
        cost = None if position.cost is None else _share(position.cost, abs(after), abs(before))
        return replace(position, qty=after, cost=cost, last_fill_price=_last(price, position))
    else:
        cost = None if price is None else price * abs(after)  # flipped: this fill opened the rest
    average = None if cost is None else _average(cost, abs(after))
    return replace(position, qty=after, avg_price=average, cost=cost, last_fill_price=_last(price, position))


def realized_pnl(position: PaperPosition, side: Side, qty: int, price: Decimal | None) -> Decimal:
    """The USD P&L a fill of ``qty`` on ``side`` at ``price`` realizes on ``position``: 0 unless it
    reduces it. The closed quantity's cost is its share of the position's exact cost, so a partial
    close realizes against the exact average. Unknown price or cost: nothing can be realized (0)."""
    before = position.qty
    change = side.sign * qty
    if before == 0 or (before > 0) == (change > 0):
        return Decimal("0.00")  # opening or adding
    if price is None or position.cost is None:
        return Decimal("0.00")
    closed = min(qty, abs(before))
    closed_cost = position.cost if closed == abs(before) else _share(position.cost, closed, abs(before))
    per_point = price * closed - closed_cost if before > 0 else closed_cost - price * closed
    return (per_point * spec_for(position.symbol).point_value).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _last(price: Decimal | None, position: PaperPosition) -> Decimal | None:
    return price if price is not None else position.last_fill_price


def _share(cost: Decimal, part: int, whole: int) -> Decimal:
    share = cost * part / whole
    if share * whole != cost * part:  # a repeating decimal: 12 places keep the 8 shown exact
        share = share.quantize(_COST_QUANTUM, rounding=ROUND_HALF_EVEN)
    return share


def _average(cost: Decimal, qty: int) -> Decimal:
    # At most 8 decimals, like any price (a flatten may fill at it); exact averages keep their form.
    average = cost / qty
    rounded = average.quantize(_AVERAGE_QUANTUM, rounding=ROUND_HALF_EVEN)
    return average if average == rounded else rounded
