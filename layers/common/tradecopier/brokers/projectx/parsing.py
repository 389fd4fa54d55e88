"""Pure: ProjectX wire models → domain (shared with the leader listener). No I/O here.

Symbols: the API's form (``NQZ6``: CME root, month letter, one-digit year) ↔ ProjectX contract ids
(``CON.F.US.ENQ.Z26``: ProjectX root, month letter, two-digit year; §3.2 — a grammar observed in
every source, not documented as a rule). ``symbol_of`` derives the symbol from the id, not from the
contract's ``name`` (``NQZ6`` live in 2026, ``ENQZ25`` in 2025 doc samples).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from tradecopier.brokers.base import BrokerOrder, BrokerPosition
from tradecopier.brokers.projectx.enums import (
    CHILD_SUFFIX,
    CME_ROOT,
    DOMAIN_ORDER_TYPE,
    ORDER_STATUS,
    PX_ROOT,
    SHORT,
    SIDE,
)
from tradecopier.brokers.projectx.schemas import Order, Position
from tradecopier.domain.enums import Leg, OrderStatus, OrderType

_CONTRACT_ID = re.compile(r"^CON\.F\.US\.(?P<root>[A-Z0-9]+)\.(?P<month>[FGHJKMNQUVXZ])(?P<yy>\d{2})$")
_SYMBOL = re.compile(r"^(?P<root>[A-Z0-9]+?)(?P<month>[FGHJKMNQUVXZ])(?P<y>\d{1,2})$")


def price(value: float | None) -> Decimal | None:
    """A wire number as a Decimal (via its shortest repr: 21500.25, not 21500.2499999…)."""
    return None if value is None or value <= 0 else Decimal(repr(value))


def symbol_of(contract_id: str, name: str | None = None) -> str:
    """``CON.F.US.ENQ.Z26`` → ``NQZ6``; an id outside the grammar gives the contract's name."""
    match = _CONTRACT_ID.match(contract_id)
    if match is None:
        return name or contract_id
    root = CME_ROOT.get(match["root"], match["root"])
    return f"{root}{match['month']}{match['yy'][-1]}"


def contract_id_of(symbol: str, today: datetime) -> str | None:
    """``NQZ6`` → ``CON.F.US.ENQ.Z26`` (a one-digit year is the next such year from ``today``,
    counting back one year so a just-expired month still resolves); None outside the grammar."""
    match = _SYMBOL.match(symbol.upper())
    if match is None:
        return None
    digits = match["y"]
    if len(digits) == 2:
        year = 2000 + int(digits)
    else:
        year = today.year - 1
        while year % 10 != int(digits):
            year += 1
    return f"CON.F.US.{PX_ROOT.get(match['root'], match['root'])}.{match['month']}{year % 100:02d}"


def client_order_id_of(tag: str | None) -> str | None:
    """Our client order id from a customTag: a bracket child's ``<tag>-SL`` → ``<tag>:sl``."""
    if not tag:
        return None
    for suffix, ours in CHILD_SUFFIX.items():
        if tag.endswith(suffix):
            return tag[: -len(suffix)] + ours
    return tag


def custom_tag_of(client_order_id: str) -> str:
    """The customTag that carries ``client_order_id`` (a bracket leg's: the child's tag)."""
    for suffix, ours in CHILD_SUFFIX.items():
        if client_order_id.endswith(ours):
            return client_order_id[: -len(ours)] + suffix
    return client_order_id


def leg_of(order: Order) -> Leg | None:
    tag = order.custom_tag or ""
    if tag.endswith("-TP"):
        return Leg.TAKE_PROFIT
    if tag.endswith("-SL"):
        return Leg.STOP_LOSS
    if order.parent_order_id is None:
        return None
    return Leg.TAKE_PROFIT if DOMAIN_ORDER_TYPE.get(order.type) is OrderType.LIMIT else Leg.STOP_LOSS


def broker_order(order: Order, symbol: str | None = None) -> BrokerOrder:
    order_type = DOMAIN_ORDER_TYPE.get(order.type, OrderType.MARKET)
    status = ORDER_STATUS.get(order.status, OrderStatus.WORKING)
    return BrokerOrder(
        broker_order_id=str(order.id),
        client_order_id=client_order_id_of(order.custom_tag) or str(order.id),
        symbol=symbol or symbol_of(order.contract_id),
        side=SIDE[order.side],
        qty=order.size,
        order_type=order_type,
        limit_price=price(order.limit_price) if order_type.needs_limit_price else None,
        stop_price=price(order.stop_price) if order_type.needs_stop_price else None,
        status=status,
        fill_price=price(order.filled_price) if status is OrderStatus.FILLED else None,
        parent_order_id=str(order.parent_order_id) if order.parent_order_id is not None else None,
        leg=leg_of(order),
    )


def broker_position(position: Position, symbol: str | None = None) -> BrokerPosition:
    qty = -position.size if position.type == SHORT else position.size
    return BrokerPosition(
        symbol=symbol or symbol_of(position.contract_id),
        qty=qty,
        avg_price=price(position.average_price) if qty else None,
    )


def event_data(argument: Any) -> Mapping[str, Any] | None:
    """A user-hub event's payload: live it is wrapped ``{"action", "data"}``, some report it bare
    (§4.3 — parse both)."""
    if not isinstance(argument, Mapping):
        return None
    data = argument.get("data")
    if isinstance(data, Mapping) and "action" in argument:
        return data
    return argument


def bracket_ticks(level: Decimal, reference: Decimal, tick: Decimal) -> int:
    """A bracket level as ProjectX's signed tick offset from the fill (§3.3): above → positive."""
    return int(((level - reference) / tick).to_integral_value())
