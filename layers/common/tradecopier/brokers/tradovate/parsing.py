"""Pure: Tradovate wire models → domain (shared with the leader listener). No I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from tradecopier.brokers.base import BrokerOrder, BrokerPosition
from tradecopier.brokers.tradovate.enums import DOMAIN_ORDER_TYPE, ORDER_STATUS, SIDE
from tradecopier.brokers.tradovate.schemas import Fill, Order, OrderVersion, Position
from tradecopier.domain.enums import Leg, OrderStatus, OrderType

LEG_SUFFIX = {":tp": Leg.TAKE_PROFIT, ":sl": Leg.STOP_LOSS}


def price(value: float | None) -> Decimal | None:
    """A wire double as a Decimal (via its shortest repr: 21500.25, not 21500.2499999…)."""
    return None if value is None or value <= 0 else Decimal(repr(value))


def average_fill_price(fills: Iterable[Fill]) -> Decimal | None:
    live = [fill for fill in fills if fill.qty > 0]
    qty = sum(fill.qty for fill in live)
    if not qty:
        return None
    total = sum((Decimal(repr(fill.price)) * fill.qty for fill in live), Decimal(0))
    return (total / qty).quantize(Decimal("0.00000001")).normalize()


def leg_of(text: str | None, order: Order, version: OrderVersion) -> Leg | None:
    """Which bracket leg an order is: from our tag's suffix, else (an OSO child we did not tag)
    from its type: a limit child takes profit, a stop child stops the loss."""
    if text:
        for suffix, leg in LEG_SUFFIX.items():
            if text.endswith(suffix):
                return leg
    if order.parent_id is None:
        return None
    return Leg.TAKE_PROFIT if version.order_type == "Limit" else Leg.STOP_LOSS


def order_status(order: Order) -> OrderStatus:
    return ORDER_STATUS.get(order.ord_status, OrderStatus.WORKING)


def broker_order(
    order: Order,
    version: OrderVersion,
    symbol: str,
    fills: Iterable[Fill] = (),
    *,
    client_order_id: str | None = None,
    reject_reason: str | None = None,
) -> BrokerOrder:
    order_type = DOMAIN_ORDER_TYPE.get(version.order_type, OrderType.MARKET)
    status = order_status(order)
    limit = price(version.price) if order_type.needs_limit_price else None
    stop = price(version.stop_price) if order_type.needs_stop_price else None
    return BrokerOrder(
        broker_order_id=str(order.id),
        client_order_id=client_order_id or version.text or str(order.id),
        symbol=symbol,
        side=SIDE[order.action],
        qty=version.order_qty,
        order_type=order_type,
        limit_price=limit,
        stop_price=stop,
        status=status,
        fill_price=average_fill_price(fills) if status is OrderStatus.FILLED else None,
        reject_reason=reject_reason if status is OrderStatus.REJECTED else None,
        parent_order_id=str(order.parent_id) if order.parent_id is not None else None,
        leg=leg_of(client_order_id or version.text, order, version),
    )


def latest_versions(versions: Iterable[OrderVersion]) -> dict[int, OrderVersion]:
    """order id → its newest version (every modify adds one, with a higher id)."""
    newest: dict[int, OrderVersion] = {}
    for version in versions:
        held = newest.get(version.order_id)
        if held is None or version.id > held.id:
            newest[version.order_id] = version
    return newest


def first_texts(versions: Iterable[OrderVersion]) -> dict[int, str]:
    """order id → the ``text`` of its first version: our client order id (echoed, CAP)."""
    first: dict[int, OrderVersion] = {}
    for version in versions:
        held = first.get(version.order_id)
        if held is None or version.id < held.id:
            first[version.order_id] = version
    return {order_id: v.text for order_id, v in first.items() if v.text}


def broker_position(position: Position, symbol: str) -> BrokerPosition:
    return BrokerPosition(
        symbol=symbol,
        qty=position.net_pos,
        avg_price=price(position.net_price) if position.net_pos else None,
    )


def fills_by_order(fills: Iterable[Fill]) -> Mapping[int, list[Fill]]:
    out: dict[int, list[Fill]] = {}
    for fill in fills:
        out.setdefault(fill.order_id, []).append(fill)
    return out
