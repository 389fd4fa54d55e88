"""Pure: Tradovate's user-sync entities (broker notes §5.3, §5.4) → one leader account's
``LeaderView``. No I/O.

``EntityCache`` holds the raw entities a ``user/syncrequest`` snapshot starts and ``props`` events
change (upsert on Created/Updated, delete on Deleted, CS-CACHE). ``leader_view`` joins them for one
account: ``order`` (account, contract, action, status, ``parentId``) + its newest ``orderVersion``
(qty, type, prices) + its first version's ``text`` (the copier's client order id on our own
orders, echoed by the broker, CAP) + its ``fill`` rows; ``position.netPos`` per contract.
``orderVersion`` and ``fill`` carry no account id: they belong to the leader through their order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from listener.streams.stamps import when
from listener.translate import FillState, LeaderView, OrderState, Phase
from tradecopier.brokers.tradovate.enums import DOMAIN_ORDER_TYPE, SIDE
from tradecopier.brokers.tradovate.parsing import price
from tradecopier.domain.enums import Leg, OrderType

Json = dict[str, Any]

# The entity types the listener keeps (the snapshot's array names, §5.4).
KEPT = {
    "order": "orders",
    "orderVersion": "orderVersions",
    "fill": "fills",
    "position": "positions",
    "orderStrategyLink": "orderStrategyLinks",
    "contract": "contracts",
}

PHASE = {
    "Unknown": Phase.PENDING,
    "PendingNew": Phase.PENDING,
    "Working": Phase.LIVE,
    "Suspended": Phase.LIVE,
    "PendingReplace": Phase.LIVE,
    "PendingCancel": Phase.LIVE,
    "Filled": Phase.FILLED,
    "Completed": Phase.FILLED,
    "Canceled": Phase.CANCELLED,
    "Expired": Phase.CANCELLED,
    "Rejected": Phase.REJECTED,
}

ENTRY_LABEL, LEG_LABEL = "256", "0"  # orderStrategyLink labels (§3.6, CAP)


class MalformedEntity(ValueError):
    """A props event or snapshot row the listener cannot read (logged and counted, never fatal)."""


def _id(entity: Any) -> int:
    if not isinstance(entity, dict) or not isinstance(entity.get("id"), int):
        raise MalformedEntity(f"entity without an integer id: {str(entity)[:200]}")
    return int(entity["id"])


class EntityCache:
    def __init__(self) -> None:
        self.rows: dict[str, dict[int, Json]] = {name: {} for name in KEPT}

    def load_snapshot(self, snapshot: Mapping[str, Any]) -> None:
        """The snapshot replaces what was cached (§5.6: CS-WS builds a new cache from it)."""
        rows: dict[str, dict[int, Json]] = {name: {} for name in KEPT}
        for entity_type, plural in KEPT.items():
            items = snapshot.get(plural) or []
            if not isinstance(items, list):
                raise MalformedEntity(f"snapshot {plural} is not a list")
            for item in items:
                rows[entity_type][_id(item)] = dict(item)
        self.rows = rows

    def apply(self, props: Any) -> bool:
        """One ``props`` event's ``d``; False when its entity type is not kept (noise)."""
        if not isinstance(props, dict):
            raise MalformedEntity("props without an object")
        entity_type, event_type, entity = props.get("entityType"), props.get("eventType"), props.get("entity")
        if entity_type not in KEPT:
            return False
        if event_type not in ("Created", "Updated", "Deleted"):
            raise MalformedEntity(f"props {entity_type} with eventType {event_type!r}")
        table = self.rows[str(entity_type)]
        items: list[Any] = entity if isinstance(entity, list) else [entity]
        for item in items:
            key = _id(item)
            if event_type == "Deleted":
                table.pop(key, None)
            else:
                table[key] = dict(item)  # _id checked it is a dict
        return True

    def account_of(self, entity_type: str, entity: Json) -> int | None:
        if "accountId" in entity:
            return int(entity["accountId"])
        order = self.rows["order"].get(entity.get("orderId"))  # type: ignore[arg-type]
        return None if order is None else int(order["accountId"])

    def contract_ids(self, account_id: int) -> set[int]:
        rows = [*self.rows["order"].values(), *self.rows["position"].values()]
        return {
            int(r["contractId"]) for r in rows if r.get("accountId") == account_id and r.get("contractId")
        }


def _versions(cache: EntityCache) -> tuple[dict[int, Json], dict[int, Json]]:
    """order id → (its newest version, its first version)."""
    newest: dict[int, Json] = {}
    first: dict[int, Json] = {}
    for version in cache.rows["orderVersion"].values():
        oid = version.get("orderId")
        if not isinstance(oid, int):
            continue
        if oid not in newest or version["id"] > newest[oid]["id"]:
            newest[oid] = version
        if oid not in first or version["id"] < first[oid]["id"]:
            first[oid] = version
    return newest, first


def _strategy_parents(cache: EntityCache) -> dict[int, int]:
    """leg order id → entry order id, from ``orderStrategyLink`` labels (§3.6)."""
    by_strategy: dict[int, dict[str, list[int]]] = {}
    for link in cache.rows["orderStrategyLink"].values():
        labels = by_strategy.setdefault(int(link.get("orderStrategyId") or 0), {})
        labels.setdefault(str(link.get("label")), []).append(int(link.get("orderId") or 0))
    out: dict[int, int] = {}
    for labels in by_strategy.values():
        entries = labels.get(ENTRY_LABEL) or []
        for leg in labels.get(LEG_LABEL) or []:
            if len(entries) == 1:
                out[leg] = entries[0]
    return out


def _fills(cache: EntityCache) -> dict[int, list[FillState]]:
    out: dict[int, list[FillState]] = {}
    for fill in sorted(cache.rows["fill"].values(), key=lambda f: int(f["id"])):
        if fill.get("active") is False or not isinstance(fill.get("qty"), int) or fill["qty"] <= 0:
            continue
        fill_price = price(fill.get("price"))
        if fill_price is None:
            continue
        out.setdefault(int(fill["orderId"]), []).append(
            FillState(
                fill_id=int(fill["id"]),
                qty=int(fill["qty"]),
                price=fill_price,
                at=when(fill.get("timestamp")),
            )
        )
    return out


def leader_view(
    cache: EntityCache,
    account_id: int,
    symbols: Mapping[int, str],
    ours: Callable[[str | None], bool],
) -> tuple[LeaderView, list[int]]:
    """The leader account's view, and the ids of its orders that could not be read (logged)."""
    newest, first = _versions(cache)
    parents = _strategy_parents(cache)
    fills = _fills(cache)
    orders: dict[int, OrderState] = {}
    unreadable: list[int] = []
    for order in cache.rows["order"].values():
        if order.get("accountId") != account_id:
            continue
        state = _order_state(order, newest, first, parents, fills, symbols, ours)
        if state is None:
            unreadable.append(int(order["id"]))
        else:
            orders[state.order_id] = state
    positions = {
        symbols[int(p["contractId"])]: int(p.get("netPos") or 0)
        for p in cache.rows["position"].values()
        if p.get("accountId") == account_id and int(p.get("contractId") or 0) in symbols
    }
    return LeaderView(orders=orders, positions=positions), sorted(unreadable)


def _order_state(
    order: Json,
    newest: Mapping[int, Json],
    first: Mapping[int, Json],
    parents: Mapping[int, int],
    fills: Mapping[int, Iterable[FillState]],
    symbols: Mapping[int, str],
    ours: Callable[[str | None], bool],
) -> OrderState | None:
    oid = int(order["id"])
    version = newest.get(oid)
    symbol = symbols.get(int(order.get("contractId") or 0))
    side = SIDE.get(str(order.get("action")))
    phase = PHASE.get(str(order.get("ordStatus")), Phase.LIVE)
    order_type = DOMAIN_ORDER_TYPE.get(str(version.get("orderType"))) if version else None
    if version is None or symbol is None or side is None or order_type is None:
        return None
    qty = version.get("orderQty")
    if not isinstance(qty, int) or qty <= 0:
        return None
    parent = order.get("parentId") if isinstance(order.get("parentId"), int) else parents.get(oid)
    leg = None
    if parent is not None:
        leg = Leg.TAKE_PROFIT if order_type is OrderType.LIMIT else Leg.STOP_LOSS
    limit: Decimal | None = price(version.get("price")) if order_type.needs_limit_price else None
    stop: Decimal | None = price(version.get("stopPrice")) if order_type.needs_stop_price else None
    return OrderState(
        order_id=oid,
        symbol=symbol,
        side=side,
        qty=qty,
        order_type=order_type,
        limit_price=limit,
        stop_price=stop,
        version_id=int(version["id"]),
        phase=phase,
        ours=ours(first[oid].get("text")),
        parent_id=parent,
        leg=leg,
        at=when(order.get("timestamp")),
        fills=tuple(fills.get(oid, ())),
    )
