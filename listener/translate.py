"""Pure: what a leader account looks like now (``LeaderView``) and the leader events that turn one
view into the next (``diff``). No I/O, no clock.

Every stream — a live frame or the REST snapshot taken on (re)connect — is first turned into a
``LeaderView`` by its broker's own parser (``streams/<broker>.py``); ``diff(last_seen, now)`` then
says what happened. One function for both paths is what makes "on reconnect emit what was missed"
the same code as "emit what just happened", and the persisted ``last_seen`` view is what makes a
restart miss nothing and repeat nothing.

Events are ordered by broker ids — or, where a broker's order, version and fill ids are separate
sequences (ProjectX), by the ``seq`` its parser sets from the broker's timestamps. Event ids come
from the broker's own ids (``{prefix}-{order id}-placed``, ``…-m{version id}``,
``…-f{fill id}``, ``…-cancelled``, ``{prefix}-flat-{symbol}-{last fill id}``): the same broker fact
always yields the same id, so a replay or an overlap of stream and snapshot is a ``duplicate`` at
ingest, never a second copy.

Rules (where the brief and the broker notes leave a choice):
- An order the copier placed itself (``ours``: its tag is one of our client order ids) is never an
  event — a follower never feeds a leader.
- ``order.placed`` is emitted once the broker has taken the order (working, suspended or filled),
  never while it is only pending: a risk-rejected order is never copied.
- A bracket leg is not an order of its own: it rides on its entry's ``order.placed`` as
  ``take_profit`` / ``stop_loss`` (leg prices as the broker shows them). A leg first seen after its
  entry was emitted is reported in ``DiffResult.late_legs`` and not copied (a standalone exit order
  at a follower without the entry would open a position).
- A leg cancelled by the broker because its entry was cancelled or its OCO sibling filled is not an
  event: the follower's own broker does the same to its copy.
- ``position_after`` walks the broker's position: the last seen ``net`` position plus each fill, in
  broker-id order; an ``order.placed`` carries the position once it would be completely filled.
- ``position.flattened``: a position that was open and is now flat, with no order of the leader's
  still working in that symbol.
- With no last-seen view (the first start for a leader), the current view is the baseline: what
  predates the listener is not copied (broker notes §5.6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tradecopier.domain.enums import Leg, OrderType, Side
from tradecopier.domain.events import (
    BracketLeg,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderPlaced,
    PositionFlattened,
)

ListenerEvent = OrderPlaced | OrderModified | OrderCancelled | OrderFilled | PositionFlattened


class Phase(StrEnum):
    PENDING = "pending"  # sent, not yet taken by the broker (Unknown, PendingNew)
    LIVE = "live"  # working or suspended (a bracket leg waiting for its entry)
    FILLED = "filled"
    CANCELLED = "cancelled"  # cancelled or expired
    REJECTED = "rejected"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FillState(_Model):
    fill_id: int
    qty: int
    price: Decimal
    at: datetime | None = None
    seq: int | None = None  # its place in the broker's timeline when ids of kinds differ (else fill_id)

    @property
    def key(self) -> int:
        return self.fill_id if self.seq is None else self.seq


class OrderState(_Model):
    order_id: int
    symbol: str
    side: Side
    qty: int
    order_type: OrderType
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    version_id: int
    phase: Phase
    ours: bool = False
    parent_id: int | None = None  # a bracket leg: its entry's order id
    leg: Leg | None = None
    at: datetime | None = None
    fills: tuple[FillState, ...] = ()
    seq: int | None = None  # see FillState.seq (ProjectX: creation time; else order_id)

    @property
    def key(self) -> int:
        return self.order_id if self.seq is None else self.seq

    @property
    def terms(self) -> tuple[int, Decimal | None, Decimal | None]:
        return self.qty, self.limit_price, self.stop_price


class LeaderView(_Model):
    """One leader account as the broker reports it: its orders and its net position per symbol."""

    orders: dict[int, OrderState] = Field(default_factory=dict)
    positions: dict[str, int] = Field(default_factory=dict)


@dataclass
class DiffResult:
    events: list[ListenerEvent] = field(default_factory=list)
    late_legs: list[int] = field(default_factory=list)
    ours_skipped: int = 0


TAKEN = (Phase.LIVE, Phase.FILLED)
ENDED = (Phase.CANCELLED, Phase.REJECTED)


def _signed(side: Side, qty: int) -> int:
    return qty if side is Side.BUY else -qty


@dataclass
class _Step:
    """One event before it is built: its broker-id sort key and what it needs."""

    key: tuple[int, int]
    kind: Literal["placed", "modified", "filled", "cancelled"]
    order: OrderState
    fill: FillState | None = None


def diff(old: LeaderView | None, new: LeaderView, prefix: str) -> DiffResult:
    """The leader events that happened between ``old`` (the last seen view) and ``new``."""
    result = DiffResult()
    if old is None:
        return result  # the baseline: nothing before the listener is copied
    steps: list[_Step] = []
    for order in new.orders.values():
        if order.ours:
            if order.order_id not in old.orders:
                result.ours_skipped += 1
            continue
        steps.extend(_order_steps(old, new, order, result))
    steps.sort(key=lambda step: step.key)
    running = dict(old.positions)
    for step in steps:
        result.events.append(_build(step, new, running, prefix))
    result.events.extend(_flattened(old, new, prefix))
    return result


def _order_steps(old: LeaderView, new: LeaderView, order: OrderState, result: DiffResult) -> list[_Step]:
    before = old.orders.get(order.order_id)
    # taken once the broker showed it working or filled — or a fill of it came first (out of order)
    was_taken = before is not None and (before.phase is not Phase.PENDING or bool(before.fills))
    is_taken = order.phase in TAKEN or bool(order.fills)
    steps: list[_Step] = []
    if order.parent_id is not None:
        entry_before = old.orders.get(order.parent_id)
        if before is None and entry_before is not None and entry_before.phase is not Phase.PENDING:
            result.late_legs.append(order.order_id)
            return []
        placed = was_taken or (is_taken and order.parent_id in new.orders)
    else:
        placed = was_taken
        if not was_taken and is_taken:
            steps.append(_Step((order.key, 0), "placed", order))
            placed = True
    if not placed:
        return steps
    if (
        was_taken
        and before is not None
        and before.version_id != order.version_id
        and before.terms != order.terms
    ):
        steps.append(_Step((order.version_id, 1), "modified", order))
    seen = {fill.fill_id for fill in before.fills} if before is not None else set()
    steps.extend(_Step((f.key, 2), "filled", order, f) for f in order.fills if f.fill_id not in seen)
    ended_now = order.phase in ENDED and (before is None or before.phase not in ENDED)
    if ended_now and (was_taken or is_taken) and not _cancelled_by_broker(new, order):
        steps.append(_Step((max(order.version_id, order.key), 3), "cancelled", order))
    return steps


def _cancelled_by_broker(view: LeaderView, order: OrderState) -> bool:
    """A leg the broker cancelled itself: its entry was cancelled, or its OCO sibling filled."""
    if order.parent_id is None:
        return False
    entry = view.orders.get(order.parent_id)
    if entry is not None and entry.phase in ENDED:
        return True
    return any(
        other.parent_id == order.parent_id
        and other.order_id != order.order_id
        and other.phase is Phase.FILLED
        for other in view.orders.values()
    )


def _legs(view: LeaderView, entry: OrderState) -> dict[Leg, BracketLeg]:
    legs: dict[Leg, BracketLeg] = {}
    for leg in sorted(view.orders.values(), key=lambda o: o.order_id):
        if leg.parent_id != entry.order_id or leg.leg is None:
            continue
        price = leg.limit_price if leg.leg is Leg.TAKE_PROFIT else leg.stop_price
        if price is not None and leg.leg not in legs:
            legs[leg.leg] = BracketLeg(order_id=str(leg.order_id), price=price)
    return legs


def _build(step: _Step, view: LeaderView, running: dict[str, int], prefix: str) -> ListenerEvent:
    order = step.order
    oid = f"{prefix}-{order.order_id}"
    if step.kind == "placed":
        legs = _legs(view, order)
        held = running.get(order.symbol, 0)
        return OrderPlaced(
            type="order.placed",
            event_id=f"{oid}-placed",
            occurred_at=order.at,
            order_id=str(order.order_id),
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            order_type=order.order_type,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            price=order.limit_price or order.stop_price or (order.fills[0].price if order.fills else None),
            take_profit=legs.get(Leg.TAKE_PROFIT),
            stop_loss=legs.get(Leg.STOP_LOSS),
            position_after=held + _signed(order.side, order.qty),
        )
    if step.kind == "modified":
        return OrderModified(
            type="order.modified",
            event_id=f"{oid}-m{order.version_id}",
            order_id=str(order.order_id),
            symbol=order.symbol,
            qty=order.qty,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
        )
    if step.kind == "filled":
        fill = step.fill
        assert fill is not None
        running[order.symbol] = running.get(order.symbol, 0) + _signed(order.side, fill.qty)
        return OrderFilled(
            type="order.filled",
            event_id=f"{oid}-f{fill.fill_id}",
            occurred_at=fill.at,
            order_id=str(order.order_id),
            symbol=order.symbol,
            side=order.side,
            qty=fill.qty,
            price=fill.price,
            position_after=running[order.symbol],
        )
    return OrderCancelled(
        type="order.cancelled", event_id=f"{oid}-cancelled", order_id=str(order.order_id), symbol=order.symbol
    )


def _flattened(old: LeaderView, new: LeaderView, prefix: str) -> list[ListenerEvent]:
    out: list[ListenerEvent] = []
    for symbol, before in sorted(old.positions.items()):
        if before == 0 or new.positions.get(symbol, 0) != 0:
            continue
        working = [
            o for o in new.orders.values() if o.symbol == symbol and o.phase is Phase.LIVE and not o.ours
        ]
        if working:
            continue
        fills = [f.fill_id for o in new.orders.values() if o.symbol == symbol for f in o.fills]
        last = max(fills, default=0)
        out.append(
            PositionFlattened(
                type="position.flattened", event_id=f"{prefix}-flat-{symbol}-{last}", symbol=symbol
            )
        )
    return out
