"""Mapping tables between the domain's vocabularies and ProjectX's integer enums (§2, §3)."""

from __future__ import annotations

from types import MappingProxyType

from tradecopier.domain.enums import OrderStatus, OrderType, Side

# OrderSide (§3.3): 0 Bid = buy, 1 Ask = sell.
SIDE_WIRE = MappingProxyType({Side.BUY: 0, Side.SELL: 1})
SIDE = MappingProxyType({wire: side for side, wire in SIDE_WIRE.items()})

# OrderType (§3.3): 1 Limit, 2 Market, 4 Stop, 5 TrailingStop. 3 StopLimit is in the enum but its
# placeability is unknown: the adapter refuses stop-limit copies itself rather than guess.
LIMIT, MARKET, STOP, TRAILING_STOP = 1, 2, 4, 5
ORDER_TYPE = MappingProxyType({OrderType.MARKET: MARKET, OrderType.LIMIT: LIMIT, OrderType.STOP: STOP})
DOMAIN_ORDER_TYPE = MappingProxyType(
    {LIMIT: OrderType.LIMIT, MARKET: OrderType.MARKET, STOP: OrderType.STOP, TRAILING_STOP: OrderType.STOP}
)

# OrderStatus (SW2): 0 None, 1 Open, 2 Filled, 3 Cancelled, 4 Expired, 5 Rejected, 6 Pending,
# 7 PendingCancellation, 8 Suspended (a bracket child waiting for its entry's fill).
ORDER_STATUS = MappingProxyType(
    {
        0: OrderStatus.WORKING,
        1: OrderStatus.WORKING,
        2: OrderStatus.FILLED,
        3: OrderStatus.CANCELLED,
        4: OrderStatus.CANCELLED,
        5: OrderStatus.REJECTED,
        6: OrderStatus.WORKING,
        7: OrderStatus.WORKING,
        8: OrderStatus.WORKING,
    }
)
OPEN, FILLED, CANCELLED, EXPIRED, REJECTED = 1, 2, 3, 4, 5
NOT_TAKEN = frozenset({0, 6})  # None, Pending: sent, not yet taken (stream-only states, §3.6)
TERMINAL = frozenset({FILLED, CANCELLED, EXPIRED, REJECTED})

# PositionType (§3.7): 1 Long, 2 Short; size is always positive on the wire.
LONG, SHORT = 1, 2

# Bracket children's customTag is the entry's plus these suffixes (GL §2.1); ours are ":sl"/":tp".
CHILD_SUFFIX = MappingProxyType({"-SL": ":sl", "-TP": ":tp"})


# Per-endpoint error enums (§2-§3.8): never one table for all. Used only to name a code in a
# reason; the broker's errorMessage is what the trader reads.
def _codes(names: str) -> tuple[str, ...]:
    return tuple(names.split())


_CHANGE = "Success AccountNotFound OrderNotFound Rejected Pending UnknownError AccountRejected"
_SEARCH = _codes("Success AccountNotFound")
ERROR_CODES = MappingProxyType(
    {
        "auth/loginkey": _codes(
            "Success UserNotFound PasswordVerificationFailed InvalidCredentials AppNotFound "
            "AppVerificationFailed InvalidDevice AgreementsNotSigned UnknownError "
            "ApiSubscriptionNotFound ApiKeyAuthenticationDisabled"
        ),
        "auth/validate": _codes("Success InvalidSession SessionNotFound ExpiredToken UnknownError"),
        "account/search": _codes("Success"),
        "contract/search": _codes("Success"),
        "contract/searchbyid": _codes("Success ContractNotFound"),
        "order/place": _codes(
            "Success AccountNotFound OrderRejected InsufficientFunds AccountViolation "
            "OutsideTradingHours OrderPending UnknownError ContractNotFound ContractNotActive "
            "AccountRejected"
        ),
        "order/modify": _codes(_CHANGE + " ContractNotFound"),
        "order/cancel": _codes(_CHANGE),
        "order/search": _SEARCH,
        "order/searchopen": _SEARCH,
        "position/searchopen": _SEARCH,
        "position/closecontract": _codes(
            "Success AccountNotFound PositionNotFound ContractNotFound ContractNotActive "
            "OrderRejected OrderPending UnknownError AccountRejected"
        ),
        "trade/search": _SEARCH,
    }
)

# CME root → ProjectX root where they differ (§3.2, GL contracts_available.json, Aug 2026); every
# other root (MNQ, MES, RTY, M2K, YM, MYM, MGC, ...) is the same at both.
PX_ROOT = MappingProxyType(
    {
        "NQ": "ENQ", "ES": "EP", "CL": "CLE", "MCL": "MCLE", "GC": "GCE", "SI": "SIE", "HG": "CPE",
        "NG": "NGE", "6E": "EU6", "6A": "DA6", "6B": "BP6", "6C": "CA6", "6J": "JY6", "6S": "SF6",
        "6N": "NE6", "6M": "MX6", "E7": "EEU", "ZB": "USA", "ZN": "TYA", "ZF": "FVA", "ZT": "TUA",
        "UB": "ULA", "TN": "TNA", "ZC": "ZCE", "ZS": "ZSE", "ZW": "ZWA", "ZL": "ZLE", "ZM": "ZME",
        "LE": "GLE", "MET": "GMET", "QG": "NQG", "QM": "NQM", "PL": "PLE", "RB": "RBE", "HO": "HOE",
    }
)  # fmt: skip
CME_ROOT = MappingProxyType({px: cme for cme, px in PX_ROOT.items()})
