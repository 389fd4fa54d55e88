"""The paper broker's market rules: pure, no I/O (API.md "Fills and prices").

A mark is the market price of one symbol. A working order that the price crosses fills at its own
price, never at the mark: paper fills carry no slippage.

- limit: a buy fills when the price is at or below its limit, a sell at or above; at the limit.
- stop: a buy triggers at or above its stop, a sell at or below; it fills at its stop price.
- stop-limit: triggers as a stop does, then rests as a limit at its limit price. When the price
  that triggers it also crosses its limit (a buy stop 100 limit 101 marked at 100.50), it fills at
  once, at its limit: one price both triggers it and is within its limit, so the limit it rests
  as is crossed at that same moment.
- market orders never rest: they fill when placed (``broker.py``).

The account's figures (``account_figures``): balance = starting balance + realized P&L − fees (paper
charges none); unrealized P&L = Σ pnl(symbol, qty, avg, price) at each symbol's latest mark, or,
for a symbol never marked, at its last fill price (the latest price the account has seen there).
A position whose average is unknown (filled with no price known at all) counts 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from tradecopier.brokers.paper.fills import PaperPosition
from tradecopier.domain.enums import OrderType, Side
from tradecopier.domain.instruments import pnl


@dataclass(frozen=True, slots=True)
class Crossing:
    """What one price does to one working order: fill it at ``fill_price``, or only trigger it
    (a stop-limit that now rests as a limit), or nothing (``NOTHING``)."""

    fill_price: Decimal | None = None
    triggers: bool = False

    @property
    def fills(self) -> bool:
        return self.fill_price is not None


NOTHING = Crossing()


def limit_crossed(side: Side, limit_price: Decimal, price: Decimal) -> bool:
    return price <= limit_price if side is Side.BUY else price >= limit_price


def stop_crossed(side: Side, stop_price: Decimal, price: Decimal) -> bool:
    return price >= stop_price if side is Side.BUY else price <= stop_price


def cross(
    side: Side,
    order_type: OrderType,
    price: Decimal,
    *,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
    triggered: bool = False,
) -> Crossing:
    """What the market price ``price`` does to a working order with these terms. ``triggered``: a
    stop-limit whose stop an earlier price crossed (it rests as a limit)."""
    match order_type:
        case OrderType.LIMIT if limit_price is not None:
            return Crossing(fill_price=limit_price) if limit_crossed(side, limit_price, price) else NOTHING
        case OrderType.STOP if stop_price is not None:
            return Crossing(fill_price=stop_price) if stop_crossed(side, stop_price, price) else NOTHING
        case OrderType.STOP_LIMIT if limit_price is not None and stop_price is not None:
            if not (triggered or stop_crossed(side, stop_price, price)):
                return NOTHING
            if limit_crossed(side, limit_price, price):
                return Crossing(fill_price=limit_price, triggers=not triggered)
            return NOTHING if triggered else Crossing(triggers=True)
        case _:  # market orders do not rest; an order missing its price never fills
            return NOTHING


@dataclass(frozen=True, slots=True)
class AccountFigures:
    balance: Decimal
    unrealized_pnl: Decimal
    positions: Mapping[str, int]


def account_figures(
    starting_balance: Decimal,
    realized_pnl: Decimal,
    positions: Iterable[PaperPosition],
    marks: Mapping[str, Decimal],
    fees: Decimal = Decimal(0),
) -> AccountFigures:
    """Balance, unrealized P&L and the open positions (see the module docstring)."""
    unrealized = Decimal(0)
    open_positions: dict[str, int] = {}
    for position in positions:
        if position.qty == 0:
            continue
        open_positions[position.symbol] = position.qty
        price = marks.get(position.symbol, position.last_fill_price)
        if price is not None and position.avg_price is not None:
            unrealized += pnl(position.symbol, position.qty, position.avg_price, price)
    return AccountFigures(
        balance=starting_balance + realized_pnl - fees,
        unrealized_pnl=unrealized,
        positions=open_positions,
    )
