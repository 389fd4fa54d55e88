"""Pure: ProjectX user-hub payloads and REST rows (broker notes §3.6-§3.8, §4.3) → one leader
account's ``LeaderView``. No I/O, no clock. Enums, symbols and legs come from the adapter's own
``brokers/projectx/parsing.py`` (one mapping for both).

``HubCache`` holds the raw rows: orders by id (the newest by ``updateTimestamp`` wins — a hub
event that arrives after a REST snapshot may be older than it), trades by id, positions by
contract (one net row per account and contract, §3.7; a closed one arrives as ``type 0, size 0``).

Mapping choices (the notes leave them open):
- ProjectX has no order versions: ``version_id`` is the order's ``updateTimestamp`` in
  microseconds (deterministic for one broker fact, so ``px-<id>-m<version>`` replays as a
  duplicate). Order, version and trade ids are separate sequences, so ``seq`` (creation time in
  microseconds) orders the events instead of ids.
- Status 0 None / 6 Pending → pending (not copied until taken); 1, 7, 8 → live; 2 filled; 3, 4
  cancelled; 5 rejected.
- Brackets (§3.3): children carry ``parentOrderId`` = entry; the leg is TP or SL by its tag
  suffix or its type (``parsing.leg_of``). A suspended child (status 8) has no price yet but its
  ``trailPrice`` is the signed distance from the fill (§3.3: "on children trailPrice is a
  distance"), so its level is the entry's fill (or limit/stop) price + ``trailPrice``; once
  active its absolute price is used.
- A fill is a trade row (``id``, ``orderId``, ``size``, ``price``); ``voided`` trades are not fills.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from listener.streams.stamps import when
from listener.translate import FillState, LeaderView, OrderState, Phase
from tradecopier.brokers.projectx import parsing
from tradecopier.brokers.projectx.enums import DOMAIN_ORDER_TYPE, NOT_TAKEN, ORDER_STATUS, SIDE
from tradecopier.brokers.projectx.schemas import Order, Position, Trade
from tradecopier.domain.enums import OrderStatus

Json = dict[str, Any]
TARGETS = {"GatewayUserOrder": "order", "GatewayUserPosition": "position", "GatewayUserTrade": "trade"}
PHASE = {
    OrderStatus.WORKING: Phase.LIVE,
    OrderStatus.FILLED: Phase.FILLED,
    OrderStatus.CANCELLED: Phase.CANCELLED,
    OrderStatus.REJECTED: Phase.REJECTED,
}


class MalformedEntity(ValueError):
    """A hub payload or REST row the listener cannot read (logged and counted, never fatal)."""


def micros(text: Any) -> int | None:
    moment = when(text)
    return None if moment is None else int(moment.timestamp() * 1_000_000)


def _checked(row: Any, model: type[Order] | type[Position] | type[Trade]) -> Json:
    if not isinstance(row, Mapping):
        raise MalformedEntity(f"not an object: {str(row)[:200]}")
    try:
        model.model_validate(row)
    except ValidationError as error:
        raise MalformedEntity(
            f"{model.__name__}: {error.errors()[0]['loc']} {str(dict(row))[:200]}"
        ) from None
    return dict(row)


def _newer(old: Json | None, new: Json) -> bool:
    """True when ``new`` is at least as new as ``old`` (by ``updateTimestamp``)."""
    if old is None:
        return True
    before, after = micros(old.get("updateTimestamp")), micros(new.get("updateTimestamp"))
    return before is None or after is None or after >= before


class HubCache:
    def __init__(self) -> None:
        self.orders: dict[int, Json] = {}
        self.trades: dict[int, Json] = {}
        self.positions: dict[str, Json] = {}

    def load_snapshot(self, orders: Iterable[Any], positions: Iterable[Any], trades: Iterable[Any]) -> None:
        """The REST snapshot taken on (re)connect: positions and trades replace, orders merge (newest
        wins); a finished order the snapshot no longer lists (out of its window) is dropped."""
        rest = {int(o["id"]): o for o in (_checked(r, Order) for r in orders)}
        kept = {
            oid: o for oid, o in self.orders.items() if oid in rest or o.get("status") not in (2, 3, 4, 5)
        }
        for oid, row in rest.items():
            if _newer(kept.get(oid), row):
                kept[oid] = row
        self.orders = kept
        self.trades = {int(t["id"]): t for t in (_checked(r, Trade) for r in trades)}
        self.positions = {str(p["contractId"]): p for p in (_checked(r, Position) for r in positions)}

    def apply(self, target: str, data: Any) -> bool:
        """One hub event's payload (already unwrapped); False when the target is not kept."""
        kind = TARGETS.get(target)
        if kind == "order":
            row = _checked(data, Order)
            if _newer(self.orders.get(int(row["id"])), row):
                self.orders[int(row["id"])] = row
        elif kind == "trade":
            row = _checked(data, Trade)
            self.trades[int(row["id"])] = row
        elif kind == "position":
            row = _checked(data, Position)
            self.positions[str(row["contractId"])] = row
        return kind is not None


def _fills(trades: Iterable[Json], account_id: int) -> dict[int, list[FillState]]:
    out: dict[int, list[FillState]] = {}
    for row in sorted(trades, key=lambda t: int(t["id"])):
        trade = Trade.model_validate(row)
        fill_price = parsing.price(trade.price)
        if trade.account_id != account_id or trade.voided or trade.size <= 0 or fill_price is None:
            continue
        stamp = row.get("creationTimestamp")
        out.setdefault(trade.order_id, []).append(
            FillState(fill_id=trade.id, qty=trade.size, price=fill_price, at=when(stamp), seq=micros(stamp))
        )
    return out


def leader_view(
    cache: HubCache, account_id: int, ours: Callable[[str | None], bool]
) -> tuple[LeaderView, list[int]]:
    """The leader account's view, and the ids of its orders that could not be read (logged)."""
    fills = _fills(cache.trades.values(), account_id)
    rows = {oid: row for oid, row in cache.orders.items() if row.get("accountId") == account_id}
    orders: dict[int, OrderState] = {}
    unreadable: list[int] = []
    for oid, row in rows.items():
        state = _order_state(row, rows, fills.get(oid, ()), ours)
        if state is None:
            unreadable.append(oid)
        else:
            orders[oid] = state
    positions: dict[str, int] = {}
    for row in cache.positions.values():
        position = Position.model_validate(row)
        if position.account_id == account_id:
            positions[parsing.symbol_of(position.contract_id)] = parsing.broker_position(position).qty
    return LeaderView(orders=orders, positions=positions), sorted(unreadable)


def _reference(entry: Json | None) -> Decimal | None:
    """The price a suspended child's distance is measured from: the entry's fill, else its price."""
    if entry is None:
        return None
    for key in ("filledPrice", "limitPrice", "stopPrice"):
        value = parsing.price(entry.get(key))
        if value is not None:
            return value
    return None


def _leg_price(row: Json, order: Order, rows: Mapping[int, Json]) -> Decimal | None:
    order_type = DOMAIN_ORDER_TYPE.get(order.type)
    absolute = (
        order.limit_price if order_type is not None and order_type.needs_limit_price else order.stop_price
    )
    if parsing.price(absolute) is not None:
        return parsing.price(absolute)
    reference = _reference(rows.get(order.parent_order_id or 0))
    distance = row.get("trailPrice")
    if reference is None or not isinstance(distance, int | float) or isinstance(distance, bool):
        return None
    return reference + Decimal(repr(distance))


def _order_state(
    row: Json, rows: Mapping[int, Json], fills: Iterable[FillState], ours: Callable[[str | None], bool]
) -> OrderState | None:
    order = Order.model_validate(row)
    side, order_type = SIDE.get(order.side), DOMAIN_ORDER_TYPE.get(order.type)
    if side is None or order_type is None or order.size <= 0:
        return None
    phase = (
        Phase.PENDING
        if order.status in NOT_TAKEN
        else PHASE[ORDER_STATUS.get(order.status, OrderStatus.WORKING)]
    )
    limit = parsing.price(order.limit_price) if order_type.needs_limit_price else None
    stop = parsing.price(order.stop_price) if order_type.needs_stop_price else None
    leg = parsing.leg_of(order) if order.parent_order_id is not None else None
    if leg is not None:
        level = _leg_price(row, order, rows)
        limit, stop = (level, None) if order_type.needs_limit_price else (None, level)
    created = micros(row.get("creationTimestamp"))
    return OrderState(
        order_id=order.id,
        symbol=parsing.symbol_of(order.contract_id),
        side=side,
        qty=order.size,
        order_type=order_type,
        limit_price=limit,
        stop_price=stop,
        version_id=micros(row.get("updateTimestamp")) or created or order.id,
        phase=phase,
        ours=ours(parsing.client_order_id_of(order.custom_tag)),
        parent_id=order.parent_order_id,
        leg=leg,
        at=when(row.get("creationTimestamp")),
        fills=tuple(fills),
        seq=created,
    )
