"""Mapping tables between the domain's vocabularies and Tradovate's (SW enums, §3.3, §3.7)."""

from __future__ import annotations

from types import MappingProxyType

from tradecopier.domain.enums import OrderStatus, OrderType, Side

ACTION = MappingProxyType({Side.BUY: "Buy", Side.SELL: "Sell"})
SIDE = MappingProxyType({wire: side for side, wire in ACTION.items()})

ORDER_TYPE = MappingProxyType(
    {
        OrderType.MARKET: "Market",
        OrderType.LIMIT: "Limit",
        OrderType.STOP: "Stop",
        OrderType.STOP_LIMIT: "StopLimit",
    }
)
DOMAIN_ORDER_TYPE = MappingProxyType({wire: kind for kind, wire in ORDER_TYPE.items()})

# ordStatus (SW): partial fills stay Working; legs of an OSO wait as Suspended (§3.7, §5.5).
ORDER_STATUS = MappingProxyType(
    {
        "Working": OrderStatus.WORKING,
        "Suspended": OrderStatus.WORKING,
        "PendingNew": OrderStatus.WORKING,
        "PendingReplace": OrderStatus.WORKING,
        "PendingCancel": OrderStatus.WORKING,
        "Unknown": OrderStatus.WORKING,
        "Filled": OrderStatus.FILLED,
        "Completed": OrderStatus.FILLED,
        "Canceled": OrderStatus.CANCELLED,
        "Expired": OrderStatus.CANCELLED,
        "Rejected": OrderStatus.REJECTED,
    }
)
TERMINAL = frozenset({"Filled", "Completed", "Canceled", "Expired", "Rejected"})

TIME_IN_FORCE = "Day"  # copies are day orders (domain TimeInForce.DAY); official examples send Day
