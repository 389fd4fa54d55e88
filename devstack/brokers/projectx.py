"""A doc-faithful fake of the ProjectX Gateway REST API (TopstepX and other prop firms).

Built from ``/work/shared/brokers/projectx.md`` (cited below as "notes §n"), not from any adapter.
A local HTTP server (stdlib ``ThreadingHTTPServer``) with thread-safe in-memory state::

    fake = FakeProjectX()
    base_url = fake.start()                       # port 0 = any free port
    fake.add_user("trader", "key-1")
    account_id = fake.add_account("trader", "PRAC-V2-1-1", auto_oco=True)
    nq = fake.contract_id("NQ")                   # front quarter, e.g. CON.F.US.ENQ.Z26
    fake.set_market_price(nq, 21000)              # market orders fill here; crossing fills working orders
    fake.fail_next("/api/Order/place", "timeout") # sleep past the client's timeout, then still apply
    fake.expire_tokens()
    fake.stop()

    python -m devstack.brokers.projectx --port 8123   # seeded with one demo user/account

Endpoints (all ``POST`` + JSON body unless noted; paths case-insensitive, notes §3 conventions):

| path | notes | payload field |
| --- | --- | --- |
| ``/api/Auth/loginKey`` {userName, apiKey} | §2 | ``token`` |
| ``/api/Auth/validate`` (bearer, no body) | §2 | ``newToken`` |
| ``/api/Auth/logout`` (bearer, no body) | §2 (SW1/SW2) | — |
| ``/api/Account/search`` {onlyActiveAccounts} | §3.1 | ``accounts`` |
| ``/api/Contract/search`` {searchText, live} | §3.2 | ``contracts`` (max 20) |
| ``/api/Contract/searchById`` {contractId} | §3.2 | ``contract`` (singular; knob for ``contracts``) |
| ``/api/Contract/available`` {live} | §3.2 | ``contracts`` |
| ``/api/Order/place`` | §3.3 | ``orderId`` |
| ``/api/Order/modify`` {accountId, orderId, size?, limitPrice?, stopPrice?, trailPrice?} | §3.4 | — |
| ``/api/Order/cancel`` {accountId, orderId} | §3.5 | — |
| ``/api/Order/search`` {accountId, startTimestamp, endTimestamp?} | §3.6 | ``orders`` |
| ``/api/Order/searchOpen`` {accountId} | §3.6 | ``orders`` |
| ``/api/Position/searchOpen`` {accountId} | §3.7 | ``positions`` |
| ``/api/Position/closeContract`` {accountId, contractId} | §3.7 | — (no orderId) |
| ``/api/Position/partialCloseContract`` {accountId, contractId, size} | §3.7 | — (no orderId) |
| ``/api/Trade/search`` {accountId, startTimestamp, endTimestamp?} | §3.8 | ``trades`` |
| ``GET /api/Status/ping`` (no token) | §3.9 | the JSON string ``"pong"`` |

Every JSON answer has the envelope ``{<payload>, "success", "errorCode", "errorMessage"}`` with the
endpoint's own error-code enum (the ``*ErrorCode`` classes below, notes §2-§3; none is shared).

Section 6 of the notes ("What a fake server must reproduce"), item by item:

- Auth — DONE. ``loginKey`` returns an HS256 JWT (header.payload.signature, ``exp`` claim); a wrong
  key *or an unknown user* gives HTTP 200 ``{token: null, success: false, errorCode: 3}`` (one code
  for both, so the fake does not say which users exist; 1 UserNotFound is never used); a missing
  ``userName``/``apiKey`` gives 400. Every other path (except ``Status/ping``) without a valid,
  unexpired ``Authorization: Bearer`` gives 401 (empty body, ``WWW-Authenticate: Bearer``: the
  ASP.NET default — notes §7: body and headers undocumented). ``validate`` returns a fresh
  ``newToken`` (the old token stays valid, like a second login, notes §2); an *expired* token on
  ``validate`` gives HTTP 200 ``errorCode 3`` ExpiredToken (the notes' [guess]); an unknown token
  gives 401. Lifetime 24 h (``token_lifetime``); the clock is injectable (``clock=``).
- Envelope — DONE. HTTP 200 + per-endpoint enums; case-insensitive paths *and* JSON property names
  (ASP.NET's web defaults); unknown JSON properties ignored; 429 after ``rate_limit`` requests per
  ``rate_window`` seconds (default 200 / 60 s, notes §3.9) per token (per client IP before login),
  counted over all endpoints together (the docs do not say per endpoint or in total: the stricter
  reading). ``History/retrieveBars`` (50 / 30 s) is not served: a copier does not need bars.
- IDs — DONE. Accounts int32 with 8 digits, orders and trades int64 with 10 digits (monotonic),
  positions int32; contracts ``CON.F.US.<ROOT>.<M><YY>``, ``symbolId`` ``F.US.<ROOT>``, ``name``
  ``<CME symbol><M><Y>`` with a one-digit year (``NQZ6``, the 2026 live form), roots and tick
  size/value from notes §3.2. Seeded: NQ, MNQ, ES, MES, RTY, M2K, YM, MYM in the front and next
  equity quarter (H M U Z, rolled after the third Friday) computed from the clock, plus the
  previous quarter with ``activeContract: false`` (for ContractNotActive).
- Market orders — DONE. Order event ``status 6`` then ``status 2`` with ``fillVolume = size`` and
  ``filledPrice`` = the contract's market price; a trade (``profitAndLoss`` null when it only opens
  or adds, the realised P&L of the closed part when it reduces; ``fees`` and ``commissions`` per
  contract per fill); the position event; the account event (balance += P&L - fees - commissions).
- Limit/stop orders — DONE. Stay ``status 1`` (in ``searchOpen``) until ``set_market_price``
  crosses: a buy limit fills when price <= limit (at the limit price), a sell limit when price >=
  limit, a buy stop when price >= stop and a sell stop when price <= stop (at the new market price:
  gap slippage). Marketable on placement or after a modify: fills at once at the market price.
  Trailing stops (type 5, ``trailPrice`` = absolute level converted to a tick distance from the last
  price, max 1000 ticks) trail the market. ``modify`` changes price/size in place; ``cancel`` ->
  ``status 3``. Every fill is complete (no partial fills).
- Positions — DONE. One net row per account + contract, unsigned ``size``, ``type`` 1 Long / 2
  Short, weighted ``averagePrice``, ``contractDisplayName`` (``NQZ26``). Flat -> position event
  ``action 2, type 0, size 0`` and gone from ``searchOpen``. Reversal (a fill larger than the
  position), unknown live: the old row closes (``action 2``) and the remainder opens a *new* row
  with a new id at the fill price; the one trade row carries the P&L of the closed part.
- Brackets — DONE. ``stopLossBracket``/``takeProfitBracket`` ``{ticks, type}`` need the account's
  Auto OCO Brackets mode (``add_account(auto_oco=True)``; the default is Position Brackets, the
  platform default): otherwise ``errorCode 2`` "Brackets cannot be used with Position Brackets. You
  must enable Auto OCO Brackets.". Ticks are signed relative to the fill (long: SL < 0, TP > 0;
  short: SL > 0, TP < 0), SL at least 4 ticks away; the SL leg must be type 4 Stop and the TP leg
  type 1 Limit (the only combination the notes saw; others are refused, code 2). Children
  ``<tag>-SL`` / ``<tag>-TP`` (tag null if the entry has none) carry ``parentOrderId`` = entry, the
  TP ``linkedOrderId`` = SL, ``trailDistance`` = signed ticks, ``trailPrice`` = ticks x tick size;
  they start ``status 8`` without prices (hidden from both searches), turn ``status 1`` with
  absolute prices when the entry fills, and when one fills the other goes ``status 3`` (OCO).
  Cancelling a not-yet-filled entry cancels its children. Whether a refused bracket order still gets
  an ``orderId`` is [unverified] (R26): off by default, ``rejected_bracket_orders_kept=True`` keeps
  it as a ``status 5`` order (its tag then counts as used).
- customTag — DONE. Unique per account forever, including tags of finished, cancelled and bracket
  child orders: reuse -> ``errorCode 2`` "Order with customTag '<tag>' already exists." (the exact
  message is an open question, notes §7).
- Rejections — DONE ([guess] mapping by enum name, notes §6): ``canTrade: false`` -> place
  ``errorCode 4``; ``set_market_open(False)`` -> place ``5`` (closes: ``OrderRejected``); unknown
  contract -> ``8``; expired contract -> ``9``; unknown or foreign account -> ``1``; cancel on a
  non-simulated account -> ``6`` "Live accounts not supported", on a follower account -> ``6``
  "Follower accounts cannot cancel orders" (both switchable: ``restrict_cancel=False``).
  InsufficientFunds, AccountRejected and prop-firm risk rules are not modelled.
- Hub — in ``devstack/brokers/projectx_hub.py`` (``FakeProjectXHub``). Every state change appends a
  :class:`HubEvent` (``target`` = GatewayUserOrder / GatewayUserTrade / GatewayUserPosition /
  GatewayUserAccount, ``account_id``, ``action``, ``data`` = the REST model with nulls kept; a hub
  wraps it as ``{"action", "data"}`` and omits nulls, notes §4.3) to ``events`` and calls every
  function in ``listeners`` (``add_listener``). Actions as seen live: orders 1, trades 0, positions
  1 (2 when closed), accounts 1.
- Ordering — PARTLY. For one action the events are emitted order -> trade -> position -> account,
  to listeners *after* the REST reply has been written (``events`` is appended at once, under the
  lock). Delays and reordering belong to the hub (listeners should enqueue, not block).

Fault knobs: ``fail_next(path, kind)`` with kind ``http500`` (500, not applied), ``rate_limit``
(429, not applied), ``timeout`` (sleeps ``delay`` seconds — past the client's read timeout — then
APPLIES the request and writes a reply nobody reads), ``drop_after_apply`` (applies, then closes the
connection without a reply). ``expire_tokens()`` expires every token issued so far.

Where the notes are silent or disagree (choices; see also the list above):
- Required fields: where sources disagree the stricter one wins (``Contract/search`` needs
  ``searchText`` and ``live``; ``Order/search`` and ``Trade/search`` need ``startTimestamp``), so an
  adapter that passes the fake passes both readings. Missing/ill-typed fields -> 400 ProblemDetails
  (``application/problem+json``, ``errors`` keyed by JSON path: ASP.NET's shape); a body that is not
  ``application/json`` -> 415. Out-of-range *values* (order type 99, size 0, side 5, price off the
  tick grid) are business errors: HTTP 200, ``errorCode 2``, a message saying which.
- ``searchById``: SW2/R26 say singular ``contract``, an old doc sample ``contracts`` (list): default
  singular, ``contract_by_id_plural=True`` for the other. ``live`` is accepted and ignored.
- Order types 0 Unknown, 3 StopLimit, 6 JoinBid and 7 JoinAsk are refused (code 2, "not supported
  by this fake"): StopLimit placeability is unknown, and join orders need a bid/ask the fake lacks.
- A refused place answers ``orderId: 0`` (C#'s default for the non-nullable int64).
- Modify/cancel: unknown id (or another account's) -> ``2`` OrderNotFound; an order that is not
  working (filled, cancelled, suspended child) -> ``3`` Rejected. A modify that sets a price field
  the order type does not use -> ``3``. Resizing an entry resizes its suspended children.
- ``closeContract`` flattens with a market order (visible in ``Order/search``, no tag) and cancels
  the working/suspended bracket children on that contract; ``partialCloseContract`` (0 < size <=
  position size, else ``5`` InvalidCloseSize) leaves them as they are (live runs differed, notes
  §3.7). Neither answers an ``orderId``.
- ``Order/search`` returns statuses 1, 2, 3, 4, 5 (not 6 or 8: stream-only states, notes §3.6);
  ``searchOpen`` only 1. ``onlyActiveAccounts`` filters on a seed flag ``active``.
- Fees: micros 0.36 fees + 0.25 commissions per contract per fill (the one live MNQ sample), minis
  1.40 + 0.50 ([guess]); trade P&L is gross.
- A market order on a contract with no market price is refused (code 2): seeded contracts have one.
- 401 and 429 bodies are empty, without ``Retry-After`` (undocumented; do not rely on either).
- Timestamps: ISO-8601 with ``+00:00`` and microseconds; prices are plain JSON numbers.
- ``Contract/search`` matches ``searchText`` case-insensitively inside ``name`` or ``symbolId`` (not
  the description), names that start with it first, active contracts only, at most 20.
- The legacy ``linkedOrderId`` request field (old docs, SW1) is accepted and ignored.
- ``Order/searchById``, ``Order/v2/query``, ``loginApp`` and the history/market-data endpoints are
  not served (R26-only or not needed by a copier).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import signal
import socket
import sys
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import IntEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
"""Returns the current moment, timezone-aware (same shape as ``tradecopier.clock.Clock``)."""

FaultKind = Literal["http500", "timeout", "rate_limit", "drop_after_apply"]
FAULT_KINDS: tuple[FaultKind, ...] = ("http500", "timeout", "rate_limit", "drop_after_apply")

TOKEN_LIFETIME = timedelta(hours=24)
RATE_LIMIT = 200
RATE_WINDOW_SECONDS = 60.0
CONTRACT_SEARCH_MAX = 20
MAX_TRAIL_TICKS = 1000
MIN_STOP_LOSS_TICKS = 4


# ---------------------------------------------------------------------------------------------------
# Enums (notes §2, §3): integers on the wire.
class OrderType(IntEnum):
    UNKNOWN = 0
    LIMIT = 1
    MARKET = 2
    STOP_LIMIT = 3
    STOP = 4
    TRAILING_STOP = 5
    JOIN_BID = 6
    JOIN_ASK = 7


class OrderSide(IntEnum):
    BID = 0  # buy
    ASK = 1  # sell


class OrderStatus(IntEnum):
    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3
    EXPIRED = 4
    REJECTED = 5
    PENDING = 6
    PENDING_CANCELLATION = 7
    SUSPENDED = 8


class PositionType(IntEnum):
    UNDEFINED = 0
    LONG = 1
    SHORT = 2


class LoginErrorCode(IntEnum):
    SUCCESS = 0
    USER_NOT_FOUND = 1
    PASSWORD_VERIFICATION_FAILED = 2
    INVALID_CREDENTIALS = 3
    APP_NOT_FOUND = 4
    APP_VERIFICATION_FAILED = 5
    INVALID_DEVICE = 6
    AGREEMENTS_NOT_SIGNED = 7
    UNKNOWN_ERROR = 8
    API_SUBSCRIPTION_NOT_FOUND = 9
    API_KEY_AUTHENTICATION_DISABLED = 10


class ValidateErrorCode(IntEnum):
    SUCCESS = 0
    INVALID_SESSION = 1
    SESSION_NOT_FOUND = 2
    EXPIRED_TOKEN = 3
    UNKNOWN_ERROR = 4


class LogoutErrorCode(IntEnum):
    SUCCESS = 0
    INVALID_SESSION = 1
    UNKNOWN_ERROR = 2


class SearchAccountErrorCode(IntEnum):
    SUCCESS = 0


class SearchContractErrorCode(IntEnum):
    SUCCESS = 0


class SearchContractByIdErrorCode(IntEnum):
    SUCCESS = 0
    CONTRACT_NOT_FOUND = 1


class ListAvailableContractErrorCode(IntEnum):
    SUCCESS = 0


class PlaceOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_REJECTED = 2
    INSUFFICIENT_FUNDS = 3
    ACCOUNT_VIOLATION = 4
    OUTSIDE_TRADING_HOURS = 5
    ORDER_PENDING = 6
    UNKNOWN_ERROR = 7
    CONTRACT_NOT_FOUND = 8
    CONTRACT_NOT_ACTIVE = 9
    ACCOUNT_REJECTED = 10


class ModifyOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_NOT_FOUND = 2
    REJECTED = 3
    PENDING = 4
    UNKNOWN_ERROR = 5
    ACCOUNT_REJECTED = 6
    CONTRACT_NOT_FOUND = 7


class CancelOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_NOT_FOUND = 2
    REJECTED = 3
    PENDING = 4
    UNKNOWN_ERROR = 5
    ACCOUNT_REJECTED = 6


class SearchOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1


class SearchPositionErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1


class ClosePositionErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    POSITION_NOT_FOUND = 2
    CONTRACT_NOT_FOUND = 3
    CONTRACT_NOT_ACTIVE = 4
    ORDER_REJECTED = 5
    ORDER_PENDING = 6
    UNKNOWN_ERROR = 7
    ACCOUNT_REJECTED = 8


class PartialClosePositionErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    POSITION_NOT_FOUND = 2
    CONTRACT_NOT_FOUND = 3
    CONTRACT_NOT_ACTIVE = 4
    INVALID_CLOSE_SIZE = 5
    ORDER_REJECTED = 6
    ORDER_PENDING = 7
    UNKNOWN_ERROR = 8
    ACCOUNT_REJECTED = 9


class SearchTradeErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1


BRACKETS_NEED_AUTO_OCO = "Brackets cannot be used with Position Brackets. You must enable Auto OCO Brackets."


# ---------------------------------------------------------------------------------------------------
# Default contracts (notes §3.2): CME symbol -> (ProjectX root, tick size, tick value, fees,
# commissions, description, seed price).
@dataclass(frozen=True)
class ContractSpec:
    root: str
    tick_size: Decimal
    tick_value: Decimal
    fees: Decimal
    commissions: Decimal
    description: str
    price: Decimal


_MICRO_FEES = (Decimal("0.36"), Decimal("0.25"))
_MINI_FEES = (Decimal("1.40"), Decimal("0.50"))
DEFAULT_SPECS: dict[str, ContractSpec] = {
    "NQ": ContractSpec(
        "ENQ", Decimal("0.25"), Decimal("5"), *_MINI_FEES, "E-mini NASDAQ-100", Decimal(21000)
    ),
    "MNQ": ContractSpec(
        "MNQ", Decimal("0.25"), Decimal("0.5"), *_MICRO_FEES, "Micro E-mini Nasdaq-100", Decimal(21000)
    ),
    "ES": ContractSpec("EP", Decimal("0.25"), Decimal("12.5"), *_MINI_FEES, "E-Mini S&P 500", Decimal(6000)),
    "MES": ContractSpec(
        "MES", Decimal("0.25"), Decimal("1.25"), *_MICRO_FEES, "Micro E-mini S&P 500", Decimal(6000)
    ),
    "RTY": ContractSpec(
        "RTY", Decimal("0.1"), Decimal("5"), *_MINI_FEES, "E-mini Russell 2000", Decimal(2400)
    ),
    "M2K": ContractSpec(
        "M2K", Decimal("0.1"), Decimal("0.5"), *_MICRO_FEES, "Micro E-mini Russell 2000", Decimal(2400)
    ),
    "YM": ContractSpec(
        "YM", Decimal("1"), Decimal("5"), *_MINI_FEES, "E-mini Dow Jones ($5)", Decimal(44000)
    ),
    "MYM": ContractSpec(
        "MYM", Decimal("1"), Decimal("0.5"), *_MICRO_FEES, "Micro E-mini Dow Jones", Decimal(44000)
    ),
}
QUARTER_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}
_MONTH_NAMES = {3: "March", 6: "June", 9: "September", 12: "December"}


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def equity_quarters(today: date, count: int, offset: int = 0) -> list[tuple[int, int]]:
    """(year, month) of ``count`` quarterly expiries (H M U Z), starting ``offset`` quarters from the
    front one: the first whose third Friday is not past."""
    year, month = today.year, 3
    while (year, month) < (today.year, today.month) or third_friday(year, month) < today:
        year, month = (year + 1, 3) if month == 12 else (year, month + 3)
    index = year * 4 + month // 3 - 1 + offset  # quarters since year 0
    return [((index + i) // 4, ((index + i) % 4 + 1) * 3) for i in range(count)]


# ---------------------------------------------------------------------------------------------------
# State
@dataclass
class User:
    id: int
    username: str
    api_key: str


@dataclass
class Session:
    token: str
    user: User
    expires_at: datetime
    revoked: bool = False


@dataclass
class Account:
    id: int
    username: str
    name: str
    balance: Decimal
    can_trade: bool
    is_visible: bool
    simulated: bool
    active: bool
    auto_oco: bool
    follower: bool
    used_tags: set[str] = field(default_factory=set)

    def model(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "balance": float(self.balance),
            "canTrade": self.can_trade,
            "isVisible": self.is_visible,
            "simulated": self.simulated,
        }


@dataclass
class Contract:
    id: str
    name: str
    display_name: str
    description: str
    tick_size: Decimal
    tick_value: Decimal
    active: bool
    symbol_id: str
    fees: Decimal
    commissions: Decimal

    @property
    def point_value(self) -> Decimal:
        return self.tick_value / self.tick_size

    def model(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tickSize": float(self.tick_size),
            "tickValue": float(self.tick_value),
            "activeContract": self.active,
            "symbolId": self.symbol_id,
        }


@dataclass
class Bracket:
    ticks: int
    type: int


@dataclass
class Order:
    id: int
    account_id: int
    contract: Contract
    created: datetime
    updated: datetime
    status: OrderStatus
    type: int
    side: OrderSide
    size: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    fill_volume: int = 0
    filled_price: Decimal | None = None
    custom_tag: str | None = None
    trail_distance: int | None = None
    trail_price: Decimal | None = None
    parent_order_id: int | None = None
    linked_order_id: int | None = None
    # fake-only bookkeeping
    bracket_ticks: int | None = None  # children: signed ticks from the entry's fill
    children: list[int] = field(default_factory=list)
    oco_sibling: int | None = None

    def model(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "accountId": self.account_id,
            "contractId": self.contract.id,
            "symbolId": self.contract.symbol_id,
            "creationTimestamp": _ts(self.created),
            "updateTimestamp": _ts(self.updated),
            "status": int(self.status),
            "type": int(self.type),
            "side": int(self.side),
            "size": self.size,
            "limitPrice": _num(self.limit_price),
            "stopPrice": _num(self.stop_price),
            "fillVolume": self.fill_volume,
            "filledPrice": _num(self.filled_price),
            "customTag": self.custom_tag,
            "trailDistance": self.trail_distance,
            "trailPrice": _num(self.trail_price),
            "parentOrderId": self.parent_order_id,
            "linkedOrderId": self.linked_order_id,
        }


@dataclass
class Position:
    id: int
    account_id: int
    contract: Contract
    created: datetime
    type: PositionType
    size: int
    average_price: Decimal

    def model(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "accountId": self.account_id,
            "contractId": self.contract.id,
            "contractDisplayName": self.contract.display_name,
            "creationTimestamp": _ts(self.created),
            "type": int(self.type),
            "size": self.size,
            "averagePrice": float(self.average_price),
        }


@dataclass
class Trade:
    id: int
    account_id: int
    contract_id: str
    created: datetime
    price: Decimal
    profit_and_loss: Decimal | None
    fees: Decimal
    commissions: Decimal
    side: OrderSide
    size: int
    order_id: int
    voided: bool = False

    def model(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "accountId": self.account_id,
            "contractId": self.contract_id,
            "creationTimestamp": _ts(self.created),
            "price": float(self.price),
            "profitAndLoss": _num(self.profit_and_loss),
            "fees": float(self.fees),
            "commissions": float(self.commissions),
            "side": int(self.side),
            "size": self.size,
            "voided": self.voided,
            "orderId": self.order_id,
        }


@dataclass(frozen=True)
class HubEvent:
    """One state change, as the user hub would publish it (notes §4.3)."""

    target: str  # GatewayUserOrder | GatewayUserTrade | GatewayUserPosition | GatewayUserAccount
    account_id: int
    action: int
    data: dict[str, Any]  # the REST model, nulls kept (the hub omits them on the wire)


@dataclass
class _Fault:
    kind: FaultKind
    delay: float
    retry_after: float | None = None


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    events: list[HubEvent] = field(default_factory=list)
    drop: bool = False


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------------------------------------------
# Request bodies: ASP.NET-like binding (case-insensitive names, unknown names ignored, strict types).
Kind = Literal["int32", "int64", "string", "bool", "decimal", "datetime", "bracket"]
_CLR = {
    "int32": "System.Int32",
    "int64": "System.Int64",
    "string": "System.String",
    "bool": "System.Boolean",
    "decimal": "System.Decimal",
    "datetime": "System.DateTime",
    "bracket": "ProjectX.Gateway.PlaceOrderBracket",
}


@dataclass(frozen=True)
class F:
    name: str
    kind: Kind
    required: bool = False


class _BadRequest(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class _Unconvertible(Exception):
    """A JSON value of the wrong type or range for its CLR type (``_convert`` words the 400)."""


def _to_integer(value: Any, bits: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**bits) <= value < 2**bits:
        raise _Unconvertible
    return value


def _to_string(value: Any, _path: str) -> str:
    if not isinstance(value, str):
        raise _Unconvertible
    return value


def _to_bool(value: Any, _path: str) -> bool:
    if not isinstance(value, bool):
        raise _Unconvertible
    return value


def _to_decimal(value: Any, _path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _Unconvertible
    return Decimal(value)


def _to_datetime(value: Any, _path: str) -> datetime:
    if not isinstance(value, str):
        raise _Unconvertible
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Unconvertible from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _to_bracket(value: Any, path: str) -> Bracket:
    """A nested object: its own fields' errors (``$.stopLossBracket.ticks``) propagate as they are."""
    if not isinstance(value, dict):
        raise _Unconvertible
    inner = _bind(value, (F("ticks", "int32", True), F("type", "int32", True)), path)
    return Bracket(ticks=inner["ticks"], type=inner["type"])


_CONVERTERS: dict[Kind, Callable[[Any, str], Any]] = {
    "int32": lambda value, _path: _to_integer(value, 31),
    "int64": lambda value, _path: _to_integer(value, 63),
    "string": _to_string,
    "bool": _to_bool,
    "decimal": _to_decimal,
    "datetime": _to_datetime,
    "bracket": _to_bracket,
}


def _convert(value: Any, kind: Kind, path: str) -> Any:
    """One JSON value to its Python form, or raise ``_BadRequest`` (System.Text.Json's rules)."""
    try:
        return _CONVERTERS[kind](value, path)
    except _Unconvertible:
        raise _BadRequest(
            {path: [f"The JSON value could not be converted to {_CLR[kind]}. Path: {path}."]}
        ) from None


def _bind(body: Mapping[str, Any], fields: tuple[F, ...], prefix: str = "$") -> dict[str, Any]:
    by_lower = {f.name.lower(): f for f in fields}
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in body.items():
        spec = by_lower.get(key.lower())
        if spec is None:
            continue  # unknown properties are ignored
        path = f"{prefix}.{spec.name}"
        if value is None:
            out[spec.name] = None
            continue
        try:
            out[spec.name] = _convert(value, spec.kind, path)
        except _BadRequest as exc:
            errors.update(exc.errors)
    for spec in fields:
        if spec.required and out.get(spec.name) is None and f"{prefix}.{spec.name}" not in errors:
            label = spec.name if prefix == "$" else f"{prefix[2:]}.{spec.name}"
            errors[label] = [f"The {spec.name} field is required."]
    if errors:
        raise _BadRequest(errors)
    for spec in fields:
        out.setdefault(spec.name, None)
    return out


def _problem(errors: dict[str, list[str]], status: int = 400, title: str | None = None) -> _Reply:
    body = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1"
        if status == 400
        else "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        "title": title or "One or more validation errors occurred.",
        "status": status,
        "errors": errors,
        "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
    }
    return _Reply(status, json.dumps(body).encode(), "application/problem+json; charset=utf-8")


def _envelope(code: int, message: str | None = None, **payload: Any) -> dict[str, Any]:
    return {**payload, "success": code == 0, "errorCode": int(code), "errorMessage": message}


# ---------------------------------------------------------------------------------------------------
# Order validation steps (place and modify): a failed step returns the rejection's errorMessage (a str).
@dataclass(frozen=True)
class _EntryPrices:
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_distance: int | None = None
    trail_price: Decimal | None = None


@dataclass(frozen=True)
class _Ticket:
    """A place request that passed its own checks (account-dependent ones come after)."""

    type: int
    side: OrderSide
    size: int
    prices: _EntryPrices
    last: Decimal | None  # the contract's market price when placed
    tag: str | None
    stop_loss: Bracket | None
    take_profit: Bracket | None


_PLACEABLE_TYPES = (OrderType.LIMIT, OrderType.MARKET, OrderType.STOP, OrderType.TRAILING_STOP)


def _shape_problem(order_type: int, side_value: int, size: int) -> str | None:
    if order_type not in _PLACEABLE_TYPES:
        return f"Invalid order type ({order_type}): not supported by this fake."
    if side_value not in (0, 1):
        return f"Invalid order side ({side_value})."
    if size <= 0:
        return f"Invalid order size ({size})."
    return None


def _trail_ticks(side: OrderSide, trail_price: Decimal, last: Decimal, tick_size: Decimal) -> Decimal:
    """How many ticks ``trail_price`` trails the last price: behind it for a sell, above it for a buy."""
    distance = (last - trail_price) if side == OrderSide.ASK else (trail_price - last)
    return distance / tick_size


def _entry_prices(
    order_type: int, side: OrderSide, body: dict[str, Any], contract: Contract, last: Decimal | None
) -> _EntryPrices | str:
    """The prices the order type needs (a market order needs a market price): the prices, or the problem."""
    if order_type == OrderType.LIMIT:
        limit_price = body["limitPrice"]
        if limit_price is None:
            return "Limit price is required for a limit order."
        return _EntryPrices(limit_price=limit_price)
    if order_type == OrderType.STOP:
        stop_price = body["stopPrice"]
        if stop_price is None:
            return "Stop price is required for a stop order."
        return _EntryPrices(stop_price=stop_price)
    if order_type == OrderType.TRAILING_STOP:
        return _trailing_entry(side, body["trailPrice"], last, contract.tick_size)
    if last is None:
        return f"No market price for {contract.id}."
    return _EntryPrices()


def _trailing_entry(
    side: OrderSide, trail_price: Decimal | None, last: Decimal | None, tick_size: Decimal
) -> _EntryPrices | str:
    if trail_price is None or last is None:
        return "Trail price is required for a trailing stop order."
    ticks = _trail_ticks(side, trail_price, last, tick_size)
    if ticks <= 0 or ticks != ticks.to_integral_value() or ticks > MAX_TRAIL_TICKS:
        return f"Invalid trail price ({trail_price})."
    return _EntryPrices(stop_price=trail_price, trail_distance=int(ticks), trail_price=trail_price)


def _off_tick(price: Decimal, tick_size: Decimal) -> bool:
    return price <= 0 or price % tick_size != 0


def _tick_problem(prices: _EntryPrices, tick_size: Decimal) -> str | None:
    for label, price in (("limit", prices.limit_price), ("stop", prices.stop_price)):
        if price is not None and _off_tick(price, tick_size):
            return f"Invalid {label} price ({price}): not a multiple of the tick size {tick_size}."
    return None


def _duplicate_tag_problem(account: Account, ticket: _Ticket) -> str | None:
    """customTag is unique per account, and so are the ``-SL``/``-TP`` tags its bracket legs would get."""
    if ticket.tag is None:
        return None
    tags = [ticket.tag]
    tags += [f"{ticket.tag}-SL"] if ticket.stop_loss else []
    tags += [f"{ticket.tag}-TP"] if ticket.take_profit else []
    for used in tags:
        if used in account.used_tags:
            return f"Order with customTag '{used}' already exists."
    return None


# Which order type each modifiable price belongs to, and the rejection when it is sent for another type.
_MODIFIABLE_PRICES = (
    ("limitPrice", OrderType.LIMIT, "Limit price can only be modified on a limit order."),
    ("stopPrice", OrderType.STOP, "Stop price can only be modified on a stop order."),
    ("trailPrice", OrderType.TRAILING_STOP, "Trail price can only be modified on a trailing stop order."),
)


def _modify_problem(order: Order, body: dict[str, Any]) -> str | None:
    """A modify request checked against the order, before the trail price meets the market price."""
    size = body["size"]
    if size is not None and size <= 0:
        return f"Invalid order size ({size})."
    for name, order_type, message in _MODIFIABLE_PRICES:
        if body[name] is not None and order.type != order_type:
            return message
    tick = order.contract.tick_size
    for name, _type, _message in _MODIFIABLE_PRICES:
        price = body[name]
        if price is not None and _off_tick(price, tick):
            return f"Invalid price ({price}): not a multiple of the tick size {tick}."
    return None


Handler = Callable[[Session | None, dict[str, Any], list[HubEvent]], Any]


@dataclass(frozen=True)
class _Route:
    handler: Handler
    fields: tuple[F, ...] = ()
    method: str = "POST"
    auth: Literal["bearer", "none", "validate"] = "bearer"
    has_body: bool = True


# ---------------------------------------------------------------------------------------------------
class FakeProjectX:
    """The fake server. All public methods are thread-safe."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        token_lifetime: timedelta = TOKEN_LIFETIME,
        rate_limit: int = RATE_LIMIT,
        rate_window: float = RATE_WINDOW_SECONDS,
        timeout_delay: float = 5.0,
        seed_contracts: bool = True,
        restrict_cancel: bool = True,
        rejected_bracket_orders_kept: bool = False,
        contract_by_id_plural: bool = False,
        max_events: int = 100_000,
    ) -> None:
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self.host = host
        self.token_lifetime = token_lifetime
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.timeout_delay = timeout_delay
        self.restrict_cancel = restrict_cancel
        self.rejected_bracket_orders_kept = rejected_bracket_orders_kept
        self.contract_by_id_plural = contract_by_id_plural
        self.listeners: list[Callable[[HubEvent], None]] = []
        self.events: deque[HubEvent] = deque(maxlen=max_events)
        self.request_count = 0

        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        self._users: dict[str, User] = {}
        self._sessions: dict[str, Session] = {}
        self._accounts: dict[int, Account] = {}
        self._contracts: dict[str, Contract] = {}
        self._prices: dict[str, Decimal] = {}
        self._orders: dict[int, Order] = {}
        self._positions: dict[tuple[int, str], Position] = {}
        self._trades: list[Trade] = []
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._market_open = True
        self._ids = {"user": 600_000, "account": 18_000_000, "order": 3_300_000_000, "trade": 1_700_000_000}
        self._ids["position"] = 400_000_000
        self._front: dict[str, list[str]] = {}  # CME symbol -> [front, next] contract ids

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0

        self._routes: dict[str, _Route] = {
            "/api/auth/loginkey": _Route(
                self._login_key, (F("userName", "string", True), F("apiKey", "string", True)), auth="none"
            ),
            "/api/auth/validate": _Route(self._validate, auth="validate", has_body=False),
            "/api/auth/logout": _Route(self._logout, has_body=False),
            "/api/account/search": _Route(self._account_search, (F("onlyActiveAccounts", "bool", True),)),
            "/api/contract/search": _Route(
                self._contract_search, (F("searchText", "string", True), F("live", "bool", True))
            ),
            "/api/contract/searchbyid": _Route(self._contract_by_id, (F("contractId", "string", True),)),
            "/api/contract/available": _Route(self._contract_available, (F("live", "bool", True),)),
            "/api/order/place": _Route(
                self._order_place,
                (
                    F("accountId", "int32", True),
                    F("contractId", "string", True),
                    F("type", "int32", True),
                    F("side", "int32", True),
                    F("size", "int32", True),
                    F("limitPrice", "decimal"),
                    F("stopPrice", "decimal"),
                    F("trailPrice", "decimal"),
                    F("customTag", "string"),
                    F("stopLossBracket", "bracket"),
                    F("takeProfitBracket", "bracket"),
                    F("linkedOrderId", "int64"),
                ),
            ),
            "/api/order/modify": _Route(
                self._order_modify,
                (
                    F("accountId", "int32", True),
                    F("orderId", "int64", True),
                    F("size", "int32"),
                    F("limitPrice", "decimal"),
                    F("stopPrice", "decimal"),
                    F("trailPrice", "decimal"),
                ),
            ),
            "/api/order/cancel": _Route(
                self._order_cancel, (F("accountId", "int32", True), F("orderId", "int64", True))
            ),
            "/api/order/search": _Route(
                self._order_search,
                (
                    F("accountId", "int32", True),
                    F("startTimestamp", "datetime", True),
                    F("endTimestamp", "datetime"),
                ),
            ),
            "/api/order/searchopen": _Route(self._order_search_open, (F("accountId", "int32", True),)),
            "/api/position/searchopen": _Route(self._position_search_open, (F("accountId", "int32", True),)),
            "/api/position/closecontract": _Route(
                self._close_contract, (F("accountId", "int32", True), F("contractId", "string", True))
            ),
            "/api/position/partialclosecontract": _Route(
                self._partial_close,
                (F("accountId", "int32", True), F("contractId", "string", True), F("size", "int32", True)),
            ),
            "/api/trade/search": _Route(
                self._trade_search,
                (
                    F("accountId", "int32", True),
                    F("startTimestamp", "datetime", True),
                    F("endTimestamp", "datetime"),
                ),
            ),
            "/api/status/ping": _Route(self._ping, method="GET", auth="none", has_body=False),
        }
        if seed_contracts:
            self._seed_default_contracts()

    # ----------------------------------------------------------------------------------- lifecycle
    def start(self, port: int = 0) -> str:
        """Serve on ``host:port`` (0 = a free port) in a background thread; returns the base URL."""
        if self._server is not None:
            raise RuntimeError("already started")
        self._stopping.clear()
        self._server = _Server((self.host, port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="fake-projectx",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeProjectX:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is being handled (e.g. a ``timeout`` fault has applied)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    # ------------------------------------------------------------------------------------- seeding
    def _next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def add_user(self, username: str, api_key: str) -> None:
        with self._lock:
            if username in self._users:
                raise ValueError(f"user {username!r} exists")
            self._users[username] = User(self._next_id("user"), username, api_key)

    def add_account(
        self,
        username: str,
        name: str,
        balance: float | Decimal = 50000,
        can_trade: bool = True,
        *,
        auto_oco: bool = False,
        simulated: bool = True,
        is_visible: bool = True,
        active: bool = True,
        follower: bool = False,
    ) -> int:
        """A trading account of ``username``; returns its id (int32, 8 digits). ``auto_oco=False`` is
        the platform default (Position Brackets): bracket orders are then refused."""
        with self._lock:
            if username not in self._users:
                raise ValueError(f"no user {username!r}")
            account = Account(
                id=self._next_id("account"),
                username=username,
                name=name,
                balance=Decimal(str(balance)),
                can_trade=can_trade,
                is_visible=is_visible,
                simulated=simulated,
                active=active,
                auto_oco=auto_oco,
                follower=follower,
            )
            self._accounts[account.id] = account
            return account.id

    def update_account(self, account_id: int, **changes: Any) -> None:
        """Change seed flags: ``can_trade``, ``auto_oco``, ``simulated``, ``active``, ``follower``,
        ``is_visible``, ``balance``."""
        allowed = {"can_trade", "auto_oco", "simulated", "active", "follower", "is_visible", "balance"}
        with self._lock:
            account = self._accounts[account_id]
            for key, value in changes.items():
                if key not in allowed:
                    raise ValueError(f"unknown account field {key!r}")
                setattr(account, key, Decimal(str(value)) if key == "balance" else value)

    def add_contract(
        self,
        contract_id: str,
        name: str,
        *,
        tick_size: float | Decimal,
        tick_value: float | Decimal,
        description: str = "",
        active: bool = True,
        price: float | Decimal | None = None,
        fees: float | Decimal = Decimal("0.36"),
        commissions: float | Decimal = Decimal("0.25"),
        display_name: str | None = None,
    ) -> str:
        """A contract in ProjectX's form: ``contract_id`` ``CON.F.US.<ROOT>.<M><YY>`` (symbolId
        derived: ``F.US.<ROOT>``), ``name`` like ``NQZ6``."""
        parts = contract_id.split(".")
        if len(parts) != 5 or parts[0] != "CON":
            raise ValueError(f"not a ProjectX contract id: {contract_id!r}")
        contract = Contract(
            id=contract_id,
            name=name,
            display_name=display_name or name,
            description=description,
            tick_size=Decimal(str(tick_size)),
            tick_value=Decimal(str(tick_value)),
            active=active,
            symbol_id=".".join(parts[1:4]),
            fees=Decimal(str(fees)),
            commissions=Decimal(str(commissions)),
        )
        with self._lock:
            self._contracts[contract_id] = contract
            if price is not None:
                self._prices[contract_id] = Decimal(str(price))
        return contract_id

    def _seed_default_contracts(self) -> None:
        today = self._clock().date()
        for symbol, spec in DEFAULT_SPECS.items():
            for offset, (year, month) in zip((-1, 0, 1), equity_quarters(today, 3, offset=-1), strict=True):
                code = QUARTER_CODES[month]
                contract_id = self.add_contract(
                    f"CON.F.US.{spec.root}.{code}{year % 100:02d}",
                    f"{symbol}{code}{year % 10}",
                    tick_size=spec.tick_size,
                    tick_value=spec.tick_value,
                    description=f"{spec.description}: {_MONTH_NAMES[month]} {year}",
                    active=offset >= 0,
                    price=spec.price if offset >= 0 else None,
                    fees=spec.fees,
                    commissions=spec.commissions,
                    display_name=f"{symbol}{code}{year % 100:02d}",
                )
                if offset >= 0:
                    self._front.setdefault(symbol, []).append(contract_id)

    def contract_id(self, symbol: str, quarter: int = 0) -> str:
        """The seeded contract id of a CME symbol (``NQ``): ``quarter`` 0 = front, 1 = next."""
        return self._front[symbol][quarter]

    # --------------------------------------------------------------------------------- test knobs
    def set_market_price(self, contract_id: str, price: float | Decimal) -> None:
        """The contract's last price: market orders fill here; working orders it crosses fill."""
        events: list[HubEvent] = []
        with self._lock:
            if contract_id not in self._contracts:
                raise KeyError(contract_id)
            self._prices[contract_id] = Decimal(str(price))
            self._run_triggers(contract_id, events)
        self._dispatch(events)

    def market_price(self, contract_id: str) -> Decimal | None:
        with self._lock:
            return self._prices.get(contract_id)

    def set_market_open(self, is_open: bool) -> None:
        """Closed: places and closes are refused (OutsideTradingHours / OrderRejected) and working
        orders do not trigger; reopening runs the triggers at the current prices."""
        events: list[HubEvent] = []
        with self._lock:
            self._market_open = is_open
            if is_open:
                for contract_id in list(self._prices):
                    self._run_triggers(contract_id, events)
        self._dispatch(events)

    def fail_next(
        self,
        path: str,
        kind: FaultKind,
        *,
        count: int = 1,
        delay: float | None = None,
        retry_after: float | None = None,
    ) -> None:
        """The next ``count`` requests to ``path`` (case-insensitive) fail as ``kind``:
        ``http500`` / ``rate_limit`` answer 500 / 429 without applying; ``timeout`` sleeps ``delay``
        (default ``timeout_delay``) seconds, then applies; ``drop_after_apply`` applies and closes
        the connection without a reply. ``retry_after`` adds a ``Retry-After`` header (seconds)
        to a 500 / 429: ProjectX does not document one (its own 429 has none), a proxy in front
        of it may send one, and the adapter honours it when present."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        key = path.lower().rstrip("/")
        if key not in self._routes:
            raise ValueError(f"no such endpoint: {path}")
        with self._lock:
            for _ in range(count):
                delay_s = self.timeout_delay if delay is None else delay
                self._faults[key].append(_Fault(kind, delay_s, retry_after))

    def expire_tokens(self) -> None:
        """Every token issued so far is expired (401; ``validate`` answers errorCode 3)."""
        with self._lock:
            past = self._clock() - timedelta(microseconds=1)
            for session in self._sessions.values():
                session.expires_at = min(session.expires_at, past)

    def add_listener(self, listener: Callable[[HubEvent], None]) -> Callable[[], None]:
        """Call ``listener`` with every future :class:`HubEvent`; returns a function that removes it."""
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    # ------------------------------------------------------------------------------- the hub's view
    def user_of_token(self, token: str | None) -> str | None:
        """The username a live (unexpired, unrevoked) token belongs to, else None (the user hub's check)."""
        with self._lock:
            session = self._sessions.get(token) if token else None
            if session is None or session.revoked or not self._live(session):
                return None
            return session.user.username

    def account_ids(self, username: str) -> set[int]:
        with self._lock:
            return {a.id for a in self._accounts.values() if a.username == username}

    # ------------------------------------------------------------------------ inspection (tests)
    def orders(self, account_id: int) -> list[dict[str, Any]]:
        """Every order of the account (any status, bracket children included), oldest first."""
        with self._lock:
            return [o.model() for o in self._orders.values() if o.account_id == account_id]

    def positions(self, account_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [p.model() for p in self._positions.values() if p.account_id == account_id]

    def trades(self, account_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [t.model() for t in self._trades if t.account_id == account_id]

    def account(self, account_id: int) -> dict[str, Any]:
        with self._lock:
            return self._accounts[account_id].model()

    # ---------------------------------------------------------------------------------- requests
    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes, client: str
    ) -> _Reply:
        path = raw_path.split("?", 1)[0].lower().rstrip("/")
        route = self._routes.get(path)
        if route is None:
            return _Reply(404)
        if method != route.method:
            return _Reply(405, headers={"Allow": route.method})
        token = _bearer(headers.get("Authorization"))
        with self._lock:
            self.request_count += 1
            fault = self._faults[path].popleft() if self._faults.get(path) else None
            if fault is not None and fault.kind in ("http500", "rate_limit"):
                wait = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
                return _Reply(500 if fault.kind == "http500" else 429, headers=wait)
            if not self._allow(token or f"ip:{client}"):
                return _Reply(429)
        if fault is not None and fault.kind == "timeout":
            self._stopping.wait(fault.delay)  # the client gives up meanwhile; then we still apply
        reply = self._apply(route, token, headers, body)
        reply.drop = fault is not None and fault.kind == "drop_after_apply"
        return reply

    def _allow(self, key: str) -> bool:
        now = self._clock().timestamp()
        hits = self._hits[key]
        while hits and hits[0] <= now - self.rate_window:
            hits.popleft()
        if len(hits) >= self.rate_limit:
            return False
        hits.append(now)
        return True

    def _apply(self, route: _Route, token: str | None, headers: Mapping[str, str], raw: bytes) -> _Reply:
        session: Session | None = None
        if route.auth != "none":
            with self._lock:
                session = self._sessions.get(token) if token else None
                usable = session is not None and not session.revoked
                if route.auth == "bearer" and not (usable and self._live(session)):
                    return _Reply(401, headers={"WWW-Authenticate": "Bearer"})
                if route.auth == "validate" and not usable:
                    return _Reply(401, headers={"WWW-Authenticate": "Bearer"})
        body: dict[str, Any] = {}
        if route.has_body:
            content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if not raw:
                return _problem({"": ["A non-empty request body is required."]})
            if content_type != "application/json" and not content_type.endswith("+json"):
                return _problem({}, 415, "Unsupported Media Type")
            try:
                parsed = json.loads(raw, parse_float=Decimal)
            except (ValueError, UnicodeDecodeError) as exc:
                return _problem({"$": [f"The request body is not valid JSON: {exc}"]})
            if not isinstance(parsed, dict):
                return _problem(
                    {"$": ["The JSON value could not be converted to the request type. Path: $."]}
                )
            try:
                body = _bind(parsed, route.fields)
            except _BadRequest as exc:
                return _problem(exc.errors)
        events: list[HubEvent] = []
        with self._lock:
            result = route.handler(session, body, events)
        return _Reply(200, json.dumps(result).encode(), events=events)

    def _live(self, session: Session | None) -> bool:
        return session is not None and self._clock() < session.expires_at

    def _dispatch(self, events: list[HubEvent]) -> None:
        for event in events:
            for listener in list(self.listeners):
                try:
                    listener(event)
                except Exception:
                    log.exception("fake ProjectX listener failed on %s", event.target)

    def _emit(
        self, events: list[HubEvent], target: str, account_id: int, action: int, data: dict[str, Any]
    ) -> None:
        event = HubEvent(target, account_id, action, data)
        self.events.append(event)
        events.append(event)

    def _emit_order(self, events: list[HubEvent], order: Order) -> None:
        self._emit(events, "GatewayUserOrder", order.account_id, 1, order.model())

    # ------------------------------------------------------------------------------------ auth
    def _issue(self, user: User) -> str:
        now = self._clock()
        expires = now + self.token_lifetime
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {
            "sub": str(user.id),
            "name": user.username,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_hex(8),
        }
        payload = _b64(json.dumps(claims).encode())
        signature = _b64(hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        token = f"{header}.{payload}.{signature}"
        self._sessions[token] = Session(token, user, expires)
        return token

    def _login_key(self, _s: Session | None, body: dict[str, Any], _e: list[HubEvent]) -> dict[str, Any]:
        user = self._users.get(body["userName"])
        if user is None or not hmac.compare_digest(user.api_key.encode(), body["apiKey"].encode()):
            return _envelope(LoginErrorCode.INVALID_CREDENTIALS, "Invalid credentials.", token=None)
        return _envelope(LoginErrorCode.SUCCESS, token=self._issue(user))

    def _validate(self, session: Session | None, _b: dict[str, Any], _e: list[HubEvent]) -> dict[str, Any]:
        assert session is not None
        if not self._live(session):
            return _envelope(ValidateErrorCode.EXPIRED_TOKEN, "The session token has expired.", newToken=None)
        return _envelope(ValidateErrorCode.SUCCESS, newToken=self._issue(session.user))

    def _logout(self, session: Session | None, _b: dict[str, Any], _e: list[HubEvent]) -> dict[str, Any]:
        assert session is not None
        session.revoked = True
        return _envelope(LogoutErrorCode.SUCCESS)

    def _ping(self, _s: Session | None, _b: dict[str, Any], _e: list[HubEvent]) -> str:
        return "pong"

    # -------------------------------------------------------------------------------- accounts
    def _own_account(self, session: Session | None, account_id: int) -> Account | None:
        account = self._accounts.get(account_id)
        if account is None or session is None or account.username != session.user.username:
            return None
        return account

    def _account_search(self, session: Session | None, body: dict[str, Any], _e: list[HubEvent]) -> Any:
        assert session is not None
        accounts = [
            a.model()
            for a in self._accounts.values()
            if a.username == session.user.username and (a.active or not body["onlyActiveAccounts"])
        ]
        return _envelope(SearchAccountErrorCode.SUCCESS, accounts=accounts)

    # ------------------------------------------------------------------------------- contracts
    def _contract_search(self, _s: Session | None, body: dict[str, Any], _e: list[HubEvent]) -> Any:
        text = body["searchText"].strip().lower()
        found = [
            c
            for c in self._contracts.values()
            if c.active and (text in c.name.lower() or text in c.symbol_id.lower())
        ]
        found.sort(key=lambda c: (not c.name.lower().startswith(text), c.name))
        return _envelope(
            SearchContractErrorCode.SUCCESS, contracts=[c.model() for c in found[:CONTRACT_SEARCH_MAX]]
        )

    def _contract_by_id(self, _s: Session | None, body: dict[str, Any], _e: list[HubEvent]) -> Any:
        contract = self._contracts.get(body["contractId"])
        model = contract.model() if contract else None
        if self.contract_by_id_plural:
            payload: dict[str, Any] = {"contracts": [model] if model else []}
        else:
            payload = {"contract": model}
        if contract is None:
            return _envelope(SearchContractByIdErrorCode.CONTRACT_NOT_FOUND, "Contract not found.", **payload)
        return _envelope(SearchContractByIdErrorCode.SUCCESS, **payload)

    def _contract_available(self, _s: Session | None, _b: dict[str, Any], _e: list[HubEvent]) -> Any:
        contracts = [c.model() for c in self._contracts.values() if c.active]
        return _envelope(ListAvailableContractErrorCode.SUCCESS, contracts=contracts)

    # ---------------------------------------------------------------------------------- orders
    def _new_order(self, account: Account, contract: Contract, **fields: Any) -> Order:
        now = self._clock()
        order = Order(
            id=self._next_id("order"),
            account_id=account.id,
            contract=contract,
            created=now,
            updated=now,
            **fields,
        )
        self._orders[order.id] = order
        if order.custom_tag is not None:
            account.used_tags.add(order.custom_tag)
        return order

    def _order_place(self, session: Session | None, body: dict[str, Any], events: list[HubEvent]) -> Any:
        code = PlaceOrderErrorCode
        account = self._own_account(session, body["accountId"])
        if account is None:
            return _envelope(code.ACCOUNT_NOT_FOUND, "Account not found.", orderId=0)
        contract = self._contracts.get(body["contractId"])
        if contract is None:
            return _envelope(code.CONTRACT_NOT_FOUND, f"Contract {body['contractId']} not found.", orderId=0)
        refusal = self._trading_refusal(account, contract)
        if refusal is not None:
            return refusal
        ticket = self._ticket(contract, body)
        if isinstance(ticket, str):
            return _envelope(code.ORDER_REJECTED, ticket, orderId=0)
        problem = _duplicate_tag_problem(account, ticket)
        if problem is not None:
            return _envelope(code.ORDER_REJECTED, problem, orderId=0)
        if ticket.stop_loss or ticket.take_profit:
            problem = self._bracket_problem(account, ticket.side, ticket.stop_loss, ticket.take_profit)
            if problem is not None:
                return self._reject_brackets(account, contract, ticket, problem, events)
        order = self._open_order(account, contract, ticket, events)
        return _envelope(code.SUCCESS, orderId=order.id)

    def _trading_refusal(self, account: Account, contract: Contract) -> dict[str, Any] | None:
        """The place checks that are not ORDER_REJECTED: contract active, account may trade, market open."""
        code = PlaceOrderErrorCode
        if not contract.active:
            return _envelope(code.CONTRACT_NOT_ACTIVE, f"Contract {contract.id} is not active.", orderId=0)
        if not account.can_trade:
            return _envelope(code.ACCOUNT_VIOLATION, "Account is not allowed to trade.", orderId=0)
        if not self._market_open:
            return _envelope(code.OUTSIDE_TRADING_HOURS, "Outside of trading hours.", orderId=0)
        return None

    def _ticket(self, contract: Contract, body: dict[str, Any]) -> _Ticket | str:
        """The request checked on its own (type, side, size, prices): a ticket, or why it is rejected."""
        order_type, side_value, size = body["type"], body["side"], body["size"]
        problem = _shape_problem(order_type, side_value, size)
        if problem is not None:
            return problem
        side = OrderSide(side_value)
        last = self._prices.get(contract.id)
        prices = _entry_prices(order_type, side, body, contract, last)
        if isinstance(prices, str):
            return prices
        problem = _tick_problem(prices, contract.tick_size)
        if problem is not None:
            return problem
        return _Ticket(
            type=order_type,
            side=side,
            size=size,
            prices=prices,
            last=last,
            tag=body["customTag"] or None,
            stop_loss=body["stopLossBracket"],
            take_profit=body["takeProfitBracket"],
        )

    def _reject_brackets(
        self, account: Account, contract: Contract, ticket: _Ticket, problem: str, events: list[HubEvent]
    ) -> dict[str, Any]:
        """A bracket problem; without auto-OCO the entry may be kept as a ``status 5`` order (R26)."""
        code = PlaceOrderErrorCode
        if problem != BRACKETS_NEED_AUTO_OCO or not self.rejected_bracket_orders_kept:
            return _envelope(code.ORDER_REJECTED, problem, orderId=0)
        kept = self._new_order(
            account,
            contract,
            status=OrderStatus.REJECTED,
            type=ticket.type,
            side=ticket.side,
            size=ticket.size,
            limit_price=ticket.prices.limit_price,
            stop_price=ticket.prices.stop_price,
            custom_tag=ticket.tag,
        )
        self._emit_order(events, kept)
        return _envelope(code.ORDER_REJECTED, problem, orderId=kept.id)

    def _open_order(
        self, account: Account, contract: Contract, ticket: _Ticket, events: list[HubEvent]
    ) -> Order:
        """The entry and its suspended bracket legs: stored, published, then filled or triggered if due."""
        order = self._new_order(
            account,
            contract,
            type=ticket.type,
            side=ticket.side,
            size=ticket.size,
            custom_tag=ticket.tag,
            status=OrderStatus.PENDING if ticket.type == OrderType.MARKET else OrderStatus.OPEN,
            limit_price=ticket.prices.limit_price,
            stop_price=ticket.prices.stop_price,
            trail_distance=ticket.prices.trail_distance,
            trail_price=ticket.prices.trail_price,
        )
        children = self._bracket_legs(account, contract, ticket, order)
        self._emit_order(events, order)
        for child in children:
            self._emit_order(events, child)
        if ticket.type == OrderType.MARKET:
            assert ticket.last is not None
            self._fill(order, ticket.last, events)
        else:
            self._trigger_now(order, events)
        return order

    def _bracket_legs(
        self, account: Account, contract: Contract, ticket: _Ticket, order: Order
    ) -> list[Order]:
        """The stop-loss then take-profit children of ``order`` (suspended until it fills), OCO-linked."""
        child_side = OrderSide.ASK if ticket.side == OrderSide.BID else OrderSide.BID
        children: list[Order] = []
        for suffix, bracket in (("SL", ticket.stop_loss), ("TP", ticket.take_profit)):
            if bracket is None:
                continue
            child = self._new_order(
                account,
                contract,
                status=OrderStatus.SUSPENDED,
                type=bracket.type,
                side=child_side,
                size=ticket.size,
                custom_tag=f"{ticket.tag}-{suffix}" if ticket.tag is not None else None,
                parent_order_id=order.id,
                trail_distance=bracket.ticks,
                trail_price=bracket.ticks * contract.tick_size,
                bracket_ticks=bracket.ticks,
            )
            children.append(child)
            order.children.append(child.id)
        if len(children) == 2:
            stop_leg, profit_leg = children
            profit_leg.linked_order_id = stop_leg.id
            stop_leg.oco_sibling, profit_leg.oco_sibling = profit_leg.id, stop_leg.id
        return children

    @staticmethod
    def _bracket_problem(
        account: Account, side: OrderSide, sl: Bracket | None, tp: Bracket | None
    ) -> str | None:
        if not account.auto_oco:
            return BRACKETS_NEED_AUTO_OCO
        long = side == OrderSide.BID
        if sl is not None:
            if sl.type != OrderType.STOP:
                return f"Invalid stop loss bracket type ({sl.type})."
            if (sl.ticks > -MIN_STOP_LOSS_TICKS) if long else (sl.ticks < MIN_STOP_LOSS_TICKS):
                direction = "less than zero when going long" if long else "greater than zero when going short"
                return (
                    f"Invalid stop loss ticks ({sl.ticks}). Ticks should be {direction}. "
                    f"Stop loss tick value should be at least {MIN_STOP_LOSS_TICKS} ticks."
                )
        if tp is not None:
            if tp.type != OrderType.LIMIT:
                return f"Invalid take profit bracket type ({tp.type})."
            if (tp.ticks <= 0) if long else (tp.ticks >= 0):
                direction = "greater than zero when going long" if long else "less than zero when going short"
                return f"Invalid take profit ticks ({tp.ticks}). Ticks should be {direction}."
        return None

    def _working(
        self, session: Session | None, account_id: int, order_id: int
    ) -> tuple[Account | None, Order | None]:
        account = self._own_account(session, account_id)
        order = self._orders.get(order_id)
        if account is None or order is None or order.account_id != account.id:
            return account, None
        return account, order

    def _order_modify(self, session: Session | None, body: dict[str, Any], events: list[HubEvent]) -> Any:
        code = ModifyOrderErrorCode
        account, order = self._working(session, body["accountId"], body["orderId"])
        if account is None:
            return _envelope(code.ACCOUNT_NOT_FOUND, "Account not found.")
        if order is None:
            return _envelope(code.ORDER_NOT_FOUND, f"Order {body['orderId']} not found.")
        if order.status != OrderStatus.OPEN:
            return _envelope(code.REJECTED, f"Order {order.id} is not working (status {int(order.status)}).")
        problem = _modify_problem(order, body)
        if problem is None and body["trailPrice"] is not None:
            problem = self._retrail(order, body["trailPrice"])
        if problem is not None:
            return _envelope(code.REJECTED, problem)
        self._resize(order, body["size"])
        if body["limitPrice"] is not None:
            order.limit_price = body["limitPrice"]
        if body["stopPrice"] is not None:
            order.stop_price = body["stopPrice"]
        order.updated = self._clock()
        self._emit_order(events, order)
        self._trigger_now(order, events)
        return _envelope(code.SUCCESS)

    def _retrail(self, order: Order, trail_price: Decimal) -> str | None:
        """A trailing stop's new trail price from the last price: applied, or why it is rejected."""
        last = self._prices.get(order.contract.id)
        if last is None:
            return "No market price."
        ticks = _trail_ticks(order.side, trail_price, last, order.contract.tick_size)
        if ticks <= 0 or ticks > MAX_TRAIL_TICKS:
            return f"Invalid trail price ({trail_price})."
        order.trail_distance, order.trail_price, order.stop_price = int(ticks), trail_price, trail_price
        return None

    def _resize(self, order: Order, size: int | None) -> None:
        """A new size for the entry and for its bracket legs that are still suspended."""
        if size is None:
            return
        order.size = size
        for child_id in order.children:
            child = self._orders[child_id]
            if child.status == OrderStatus.SUSPENDED:
                child.size = size

    def _order_cancel(self, session: Session | None, body: dict[str, Any], events: list[HubEvent]) -> Any:
        code = CancelOrderErrorCode
        account, order = self._working(session, body["accountId"], body["orderId"])
        if account is None:
            return _envelope(code.ACCOUNT_NOT_FOUND, "Account not found.")
        if self.restrict_cancel and account.follower:
            return _envelope(code.ACCOUNT_REJECTED, "Follower accounts cannot cancel orders")
        if self.restrict_cancel and not account.simulated:
            return _envelope(code.ACCOUNT_REJECTED, "Live accounts not supported")
        if order is None:
            return _envelope(code.ORDER_NOT_FOUND, f"Order {body['orderId']} not found.")
        if order.status not in (OrderStatus.OPEN, OrderStatus.SUSPENDED):
            return _envelope(code.REJECTED, f"Order {order.id} is not working (status {int(order.status)}).")
        self._cancel(order, events)
        for child_id in order.children:
            child = self._orders[child_id]
            if child.status == OrderStatus.SUSPENDED:
                self._cancel(child, events)
        return _envelope(code.SUCCESS)

    def _cancel(self, order: Order, events: list[HubEvent]) -> None:
        order.status = OrderStatus.CANCELLED
        order.updated = self._clock()
        self._emit_order(events, order)

    def _search_orders(
        self, session: Session | None, body: dict[str, Any], statuses: set[OrderStatus]
    ) -> Any:
        account = self._own_account(session, body["accountId"])
        if account is None:
            return _envelope(SearchOrderErrorCode.ACCOUNT_NOT_FOUND, "Account not found.", orders=[])
        start, end = body.get("startTimestamp"), body.get("endTimestamp")
        orders = [
            o.model()
            for o in self._orders.values()
            if o.account_id == account.id
            and o.status in statuses
            and (start is None or o.created >= start)
            and (end is None or o.created <= end)
        ]
        return _envelope(SearchOrderErrorCode.SUCCESS, orders=orders)

    def _order_search(self, session: Session | None, body: dict[str, Any], _e: list[HubEvent]) -> Any:
        shown = {
            OrderStatus.OPEN,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
            OrderStatus.REJECTED,
        }
        return self._search_orders(session, body, shown)

    def _order_search_open(self, session: Session | None, body: dict[str, Any], _e: list[HubEvent]) -> Any:
        return self._search_orders(session, body, {OrderStatus.OPEN})

    # ------------------------------------------------------------------------------- positions
    def _position_search_open(self, session: Session | None, body: dict[str, Any], _e: list[HubEvent]) -> Any:
        account = self._own_account(session, body["accountId"])
        if account is None:
            return _envelope(SearchPositionErrorCode.ACCOUNT_NOT_FOUND, "Account not found.", positions=[])
        positions = [p.model() for p in self._positions.values() if p.account_id == account.id]
        return _envelope(SearchPositionErrorCode.SUCCESS, positions=positions)

    def _close(
        self, session: Session | None, body: dict[str, Any], events: list[HubEvent], partial: bool
    ) -> dict[str, Any]:
        code: type[ClosePositionErrorCode] | type[PartialClosePositionErrorCode]
        code = PartialClosePositionErrorCode if partial else ClosePositionErrorCode
        account = self._own_account(session, body["accountId"])
        if account is None:
            return _envelope(code.ACCOUNT_NOT_FOUND, "Account not found.")
        contract = self._contracts.get(body["contractId"])
        if contract is None:
            return _envelope(code.CONTRACT_NOT_FOUND, f"Contract {body['contractId']} not found.")
        if not contract.active:
            return _envelope(code.CONTRACT_NOT_ACTIVE, f"Contract {contract.id} is not active.")
        position = self._positions.get((account.id, contract.id))
        if position is None:
            return _envelope(code.POSITION_NOT_FOUND, f"No open position on {contract.id}.")
        size = body["size"] if partial else position.size
        if partial and not 0 < size <= position.size:
            return _envelope(
                PartialClosePositionErrorCode.INVALID_CLOSE_SIZE, f"Invalid close size ({size})."
            )
        last = self._prices.get(contract.id)
        if not account.can_trade or not self._market_open or last is None:
            return _envelope(code.ORDER_REJECTED, "Close order rejected.")
        side = OrderSide.ASK if position.type == PositionType.LONG else OrderSide.BID
        order = self._new_order(
            account, contract, status=OrderStatus.PENDING, type=OrderType.MARKET, side=side, size=size
        )
        self._emit_order(events, order)
        self._fill(order, last, events)
        if not partial:
            for other in self._orders.values():
                working = other.status in (OrderStatus.OPEN, OrderStatus.SUSPENDED)
                if (
                    other.account_id == account.id
                    and other.contract is contract
                    and other.parent_order_id
                    and working
                ):
                    self._cancel(other, events)
        return _envelope(code.SUCCESS)

    def _close_contract(self, session: Session | None, body: dict[str, Any], events: list[HubEvent]) -> Any:
        return self._close(session, body, events, partial=False)

    def _partial_close(self, session: Session | None, body: dict[str, Any], events: list[HubEvent]) -> Any:
        return self._close(session, body, events, partial=True)

    # ---------------------------------------------------------------------------------- trades
    def _trade_search(self, session: Session | None, body: dict[str, Any], _e: list[HubEvent]) -> Any:
        account = self._own_account(session, body["accountId"])
        if account is None:
            return _envelope(SearchTradeErrorCode.ACCOUNT_NOT_FOUND, "Account not found.", trades=[])
        start, end = body["startTimestamp"], body["endTimestamp"]
        trades = [
            t.model()
            for t in self._trades
            if t.account_id == account.id and t.created >= start and (end is None or t.created <= end)
        ]
        return _envelope(SearchTradeErrorCode.SUCCESS, trades=trades)

    # ----------------------------------------------------------------------------------- fills
    def _crossed(self, order: Order, price: Decimal) -> bool:
        buy = order.side == OrderSide.BID
        if order.type == OrderType.LIMIT and order.limit_price is not None:
            return price <= order.limit_price if buy else price >= order.limit_price
        if order.type in (OrderType.STOP, OrderType.TRAILING_STOP) and order.stop_price is not None:
            return price >= order.stop_price if buy else price <= order.stop_price
        return False

    def _trigger_now(self, order: Order, events: list[HubEvent]) -> None:
        """A working order marketable as placed/modified fills at once at the market price."""
        price = self._prices.get(order.contract.id)
        if (
            self._market_open
            and price is not None
            and order.status == OrderStatus.OPEN
            and self._crossed(order, price)
        ):
            self._fill(order, price, events)

    def _run_triggers(self, contract_id: str, events: list[HubEvent]) -> None:
        price = self._prices.get(contract_id)
        if price is None or not self._market_open:
            return
        for order in list(self._orders.values()):
            if (
                order.contract.id == contract_id
                and order.type == OrderType.TRAILING_STOP
                and order.status == 1
            ):
                self._trail(order, price, events)
        while True:
            due = next(
                (
                    o
                    for o in self._orders.values()
                    if o.contract.id == contract_id
                    and o.status == OrderStatus.OPEN
                    and self._crossed(o, price)
                ),
                None,
            )
            if due is None:
                return
            fill_price = (
                due.limit_price if due.type == OrderType.LIMIT and due.limit_price is not None else price
            )
            self._fill(due, fill_price, events)

    def _trail(self, order: Order, price: Decimal, events: list[HubEvent]) -> None:
        assert order.trail_distance is not None and order.stop_price is not None
        offset = order.trail_distance * order.contract.tick_size
        if order.side == OrderSide.ASK:
            better = price - offset
            moved = better > order.stop_price
        else:
            better = price + offset
            moved = better < order.stop_price
        if moved:
            order.stop_price = better
            order.updated = self._clock()
            self._emit_order(events, order)

    def _fill(self, order: Order, price: Decimal, events: list[HubEvent]) -> None:
        account = self._accounts[order.account_id]
        contract = order.contract
        now = self._clock()
        order.status = OrderStatus.FILLED
        order.fill_volume = order.size
        order.filled_price = price
        order.updated = now
        self._emit_order(events, order)

        position_events: list[tuple[int, Position, PositionType | None]] = []
        key = (account.id, contract.id)
        position = self._positions.get(key)
        fill_type = PositionType.LONG if order.side == OrderSide.BID else PositionType.SHORT
        pnl: Decimal | None = None
        remaining = order.size
        if position is not None and position.type != fill_type:
            closed = min(remaining, position.size)
            direction = 1 if position.type == PositionType.LONG else -1
            pnl = ((price - position.average_price) * closed * contract.point_value * direction).quantize(
                Decimal("0.01")
            )
            position.size -= closed
            remaining -= closed
            if position.size == 0:
                del self._positions[key]
                position_events.append((2, position, None))
                position = None
            else:
                position_events.append((1, position, position.type))
        if remaining:
            if position is None:
                position = Position(self._next_id("position"), account.id, contract, now, fill_type, 0, price)
                self._positions[key] = position
            total = position.size + remaining
            position.average_price = (position.average_price * position.size + price * remaining) / total
            position.size = total
            position_events.append((1, position, position.type))

        fees = contract.fees * order.size
        commissions = contract.commissions * order.size
        trade = Trade(
            id=self._next_id("trade"),
            account_id=account.id,
            contract_id=contract.id,
            created=now,
            price=price,
            profit_and_loss=pnl,
            fees=fees,
            commissions=commissions,
            side=order.side,
            size=order.size,
            order_id=order.id,
        )
        self._trades.append(trade)
        self._emit(events, "GatewayUserTrade", account.id, 0, trade.model())
        for action, pos, _type in position_events:
            data = pos.model()
            if action == 2:
                data.update(type=int(PositionType.UNDEFINED), size=0)
            self._emit(events, "GatewayUserPosition", account.id, action, data)
        account.balance += (pnl or Decimal(0)) - fees - commissions
        self._emit(events, "GatewayUserAccount", account.id, 1, account.model())

        for child_id in order.children:  # bracket legs become live orders at absolute prices
            child = self._orders[child_id]
            if child.status != OrderStatus.SUSPENDED or child.bracket_ticks is None:
                continue
            level = price + child.bracket_ticks * contract.tick_size
            child.size = order.size
            if child.type == OrderType.LIMIT:
                child.limit_price = level
            else:
                child.stop_price = level
            child.status = OrderStatus.OPEN
            child.updated = now
            self._emit_order(events, child)
        if order.oco_sibling is not None:
            sibling = self._orders[order.oco_sibling]
            if sibling.status in (OrderStatus.OPEN, OrderStatus.SUSPENDED):
                self._cancel(sibling, events)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


# ---------------------------------------------------------------------------------------------------
# HTTP
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeProjectX) -> None:
        super().__init__(address, _RequestHandler)
        self.fake = fake


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind its load balancer
    server: _Server
    server_version = "FakeProjectX/1"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake ProjectX %s - %s", self.address_string(), format % args)

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        with fake._idle:
            fake._in_flight += 1
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            headers = {k: v for k, v in self.headers.items()}
            reply = fake._handle(method, self.path, _CaseInsensitive(headers), raw, self.client_address[0])
            if reply.drop:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self._write(reply)
            fake._dispatch(reply.events)
        finally:
            with fake._idle:
                fake._in_flight -= 1
                fake._idle.notify_all()

    def _write(self, reply: _Reply) -> None:
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.body:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
        except OSError:  # the client went away (e.g. it timed out first)
            self.close_connection = True


class _CaseInsensitive(dict[str, str]):
    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in headers.items()})

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


# ---------------------------------------------------------------------------------------------------
# CLI
def seed_demo(fake: FakeProjectX, username: str = "demo", api_key: str | None = None) -> dict[str, Any]:
    """One demo user with one practice account in Auto OCO mode; returns the credentials."""
    key = api_key or secrets.token_urlsafe(24)
    fake.add_user(username, key)
    account_id = fake.add_account(username, "PRAC-V2-000001-00000001", auto_oco=True)
    return {"userName": username, "apiKey": key, "accountId": account_id}


def iter_contracts(fake: FakeProjectX) -> Iterator[tuple[str, str, Decimal | None]]:
    with fake._lock:
        for contract in fake._contracts.values():
            if contract.active:
                yield contract.id, contract.name, fake._prices.get(contract.id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.brokers.projectx", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--api-key", default=None, help="default: a random key, printed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    fake = FakeProjectX(host=args.host)
    creds = seed_demo(fake, args.user, args.api_key)
    url = fake.start(args.port)
    print(f"fake ProjectX Gateway at {url}")
    print(json.dumps({"baseUrl": url, **creds}))
    for contract_id, name, price in iter_contracts(fake):
        print(f"  {contract_id:<22} {name:<7} last {price}")
    sys.stdout.flush()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())  # `make dev` stops its children with SIGTERM
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
