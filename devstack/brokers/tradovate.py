"""A doc-faithful fake of the Tradovate REST API, as a local HTTP server (test infrastructure, demo aid).

Built from the research notes ``/work/shared/brokers/tradovate.md`` (cited below as §n) and
``/work/shared/BROKERS.md`` only, never from an adapter of ours. Standard library only.

    fake = FakeTradovate()
    user = fake.add_user("trader", "pw", app_id="copier", cid=8, sec="s3cr3t")
    account_id = fake.add_account(user, "DEMO123", balance=50_000)
    base = fake.start()                      # "http://127.0.0.1:<port>/v1"
    fake.set_market_price("NQ", 21500)       # a product name means its front contract
    fake.fail_next("order/placeorder", "timeout", delay=2.0)
    fake.add_listener(lambda event: print(event.props))   # a later websocket publishes these
    fake.stop()

    python -m devstack.brokers.tradovate --port 8765     # seeded demo user, prints the credentials

Section 7 ("What a fake server must reproduce"), item by item
-------------------------------------------------------------
1. accesstokenrequest - DONE. ``accessToken`` + ``mdAccessToken`` + ``expirationTime`` (``token_lifetime``,
   default 90 min, §2.2) + ``userId``/``name``/``userStatus``/``hasLive``; bad credentials answer per
   ``login_failure_mode``: ``"errorText"`` (HTTP 200, JS-EX3, the default) or ``"401"`` (P-C1); failures
   per IP and rolling hour (``endpoint_limits``, 5 per P-RL) then answer the captcha penalty
   ``{p-ticket, p-time, p-captcha: true}``, which no ticket clears (§2.2, §4.2) - p-time is the seconds
   until the oldest counted failure leaves the hour. Max 2 sessions per user: a 3rd login kills the
   oldest session, whose tokens then get 401 (NT-ATR).
2. renewaccesstoken - DONE. ``GET`` (NT-ATR, P-REN) with the Bearer token: new token, later expiry, same
   session (no new session is counted); expired/unknown token -> 401 here and on every endpoint.
3. Entity ops - DONE for list/item/items/find/deps/ldeps/suggest (GET) on account, contract,
   contractMaturity, product, order, orderVersion, command, commandReport, executionReport, fill,
   fillPair, position, cashBalance, marginSnapshot, accountRiskStatus, orderStrategy,
   orderStrategyLink, user; masters as in §3.0; contracts NQ/MNQ/ES/MES front + next quarter with
   ``providerTickSize``; products with ``tickSize``/``valuePerPoint``. Rows are only those of the
   caller's accounts (contracts/products/maturities are global).
4. Ids - DONE. One global increasing counter (< 2^53); a New command, its order and first orderVersion
   share an id; a Modify command shares its id with its orderVersion; the executionReport that
   follows the AtExecution commandReport shares its id (§3.10). Fill and other ids follow.
5. placeorder - DONE. Violations body when accountId/accountSpec (or another required field) is
   missing or an enum is wrong; ``{orderId}`` or ``{failureReason, failureText}`` at HTTP 200;
   unknown symbol -> ``UnknownReason``/``"Access is denied"`` (I-45); ``reject_next`` and
   ``restrict_account`` inject any SW failureReason; no clOrdId dedup by default (§3.12), switch
   ``dedupe_clordid``; ``text`` echoed on orderVersion.text, ``clOrdId`` kept on the Command (SW).
6. Fills - DONE. Market fills at the price from ``set_market_price`` (no price -> ``NoQuote``);
   ``fill_limit`` caps the quantity per fill opportunity (partials: ``Working`` with cumQty > 0);
   Limit/Stop/StopLimit/MIT/TrailingStop rest ``Working`` until the price crosses; IOC cancels the
   remainder, FOK cancels unless fully fillable at once; ``end_session()`` expires Day orders.
   TrailingStopLimit -> ``AdvancedTrailingStopUnsupported``, QTS -> ``Unsupported`` (not modelled).
7. Positions - DONE. One per (account, contract): ``netPos`` signed, ``netPrice`` = average of the open
   lots (FIFO; absent when flat; a reversal opens at the fill price), cumulative bought/boughtValue/
   sold/soldValue; a fillPair per closing match; cashBalance ``amount``/``realizedPnL``/
   ``weekRealizedPnL`` += (sell-buy)*qty*valuePerPoint (no commissions); getcashbalancesnapshot with
   ``netLiq = amount + openPnL`` at the current market price.
8. placeoso/placeoco/startorderstrategy - DONE. Legs ``Suspended``, their New commands ``OnHold``, until
   the entry is completely filled, then ``Working`` with the entry quantity; two legs are OCO (a
   completely filled leg cancels the other); ``placeoco`` -> ``{orderId, ocoId}``; startorderstrategy
   with ``params`` entryVersion + brackets[0] point offsets, orderStrategy status Active ->
   ExecutionFinished / ExecutionInterrupted (entry cancelled) / StoppedByUser (interrupt);
   cancelling an entry cancels its legs with ``isAutomated: true`` commands.
9. modifyorder / cancelorder - DONE. ``{commandId}``; modify without orderQty/orderType -> HTTP 400
   (TSYNC); unknown order -> ``UnknownReason``/``"Access is denied"``; terminal order -> ``TooLate``.
10. liquidateposition - DONE. Cancels the account's working/suspended orders on the contract, then an
   opposite Market order for |netPos| (isAutomated) -> ``{orderId}``; already flat -> a failure body.
11. Rate limits - DONE. Per user 5,000/h and an optional per-minute cap (``user_limits``) -> 429 with an
   empty body; per IP+endpoint (``endpoint_limits``: accesstokenrequest 5 failures/h, renewaccesstoken
   15/h, me 10/h) -> HTTP 200 penalty; a resend carrying the ``p-ticket`` after ``p-time`` passes;
   ``fail_next(path, "http423")`` for the 423 warning.
12-16. Websocket - ``devstack/brokers/tradovate_ws.py`` (``FakeTradovateSocket``), over this state:
   every entity change is a
   ``PropsEvent`` (user, account, entityType, eventType, entity) given to each ``add_listener``
   callback, in order, under the fake's lock, in the CAP sequences of §5.5 (order, command,
   orderVersion, commandReport, executionReport, fill, position, fillPair, cashBalance,
   marginSnapshot, orderStrategy, orderStrategyLink); ``events`` keeps them all; ``snapshot(user)``
   gives the syncrequest arrays of §5.4. Tokens are plain lookups (``session_for_token``).

Choices where the notes are silent, disagree or say [unverified] (also in each handler)
-----------------------------------------------------------------------------------------
- Paths are matched case-insensitively (§1 [inference]); unknown path -> 404 with a JSON string body
  ``"Not found: <path>"`` (the WS shape of §4.1); a known path with the wrong method -> 405.
- ``renewaccesstoken`` is GET only, as the notes say (§2.2); POST -> 405. The old token stays valid
  until its own expiry (not documented; ``renew_revokes_old=True`` changes that).
- 401 bodies are empty (the notes give only the WS text). Malformed JSON -> 400.
- The ``appId``/``appVersion`` must be present but are not compared; ``cid`` may be an int or a string;
  ``deviceId`` is optional (demo is lax, FAQ-dev).
- ``accountSpec`` may be the account name or the user name (§3.3 sources disagree); both accountId
  and accountSpec are required (JS-EX4a).
- A price off the tick or missing for its order type -> ``InvalidPrice``; an order whose stop is
  already through the market at placement triggers at once.
- Limit-type fills: at the market price when marketable on placement/modify, else at the limit price
  when the market crosses it. Stop/MIT/trailing fills at the market price.
- IOC/FOK remainders end ``Canceled`` (execType ``Canceled``).
- OSO legs ignore an ``orderQty`` sent inside a bracket (not in SW's RestrainedOrderVersion, §3.5) and
  activate only when the entry is completely filled; a partial leg fill does not resize the other leg.
  Leg link fields: ``parentId`` = entry, ``linkedId`` = the other leg; placeoco sets ``ocoId`` on the
  other order (both [inference]).
- ``dedupe_clordid=True`` answers a repeated (account, clOrdId) with the first ``{orderId}``.
- executionReport.externalClOrdId is not filled (echo [unverified], §3.12).
- Modify applies synchronously (the "may answer before applying" of BROKERS.md is [unverified]).
- The penalty fault keeps the endpoint penalised for that IP until a resend carries the ticket after
  p-time; an early resend gets the same ticket with the remaining time. For GET endpoints the ticket
  may come as a ``p-ticket`` query parameter (the notes only describe bodies).
- The captcha fault blocks the endpoint for ``p_time`` seconds (default 3600); tickets never clear it.
- Margins (``initialMargin`` per contract: NQ 2000, MNQ 200, ES 1500, MES 150) are invented
  placeholders; no source gives them.
- Master fields not in §3.0: orderStrategy -> accountId, orderStrategyLink -> orderStrategyId.
- ``find`` with an unknown name and ``item`` with an unknown/invisible id -> 404 (P-ERR).
- ``POST /user/syncrequest`` over REST is not served (meant for the websocket, §3.11).
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Json = dict[str, Any]

ACTIONS = ("Buy", "Sell")
ORDER_TYPES = ("Limit", "MIT", "Market", "QTS", "Stop", "StopLimit", "TrailingStop", "TrailingStopLimit")
TIME_IN_FORCE = ("Day", "FOK", "GTC", "GTD", "IOC")
FAILURE_REASONS = (
    "AccountClosed",
    "AdvancedTrailingStopUnsupported",
    "AnotherCommandPending",
    "BackMonthProhibited",
    "ExecutionProviderNotConfigured",
    "ExecutionProviderUnavailable",
    "InvalidContract",
    "InvalidPrice",
    "LiquidationOnly",
    "LiquidationOnlyBeforeExpiration",
    "MaxOrderQtyIsNotSpecified",
    "MaxOrderQtyLimitReached",
    "MaxPosLimitMisconfigured",
    "MaxPosLimitReached",
    "MaxTotalPosLimitReached",
    "MultipleAccountPlanRequired",
    "NoQuote",
    "NotEnoughLiquidity",
    "OtherExecutionRelated",
    "ParentRejected",
    "RiskCheckTimeout",
    "SessionClosed",
    "Success",
    "TooLate",
    "TradingLocked",
    "TrailingStopNonOrderQtyModify",
    "Unauthorized",
    "UnknownReason",
    "Unsupported",
)
TERMINAL = frozenset({"Canceled", "Completed", "Expired", "Filled", "Rejected"})
FAULT_KINDS = ("http500", "timeout", "penalty", "captcha", "http429", "http423")
ACCESS_DENIED = "Access is denied"

ENTITY_TYPES = (
    "account",
    "accountRiskStatus",
    "cashBalance",
    "command",
    "commandReport",
    "contract",
    "contractMaturity",
    "executionReport",
    "fill",
    "fillPair",
    "marginSnapshot",
    "order",
    "orderStrategy",
    "orderStrategyLink",
    "orderVersion",
    "position",
    "product",
    "user",
)
_ENTITY_BY_LOWER = {name.lower(): name for name in ENTITY_TYPES}
MASTER_FIELD = {
    "order": "accountId",
    "position": "accountId",
    "cashBalance": "accountId",
    "command": "orderId",
    "fill": "orderId",
    "orderVersion": "orderId",
    "commandReport": "commandId",
    "executionReport": "commandId",
    "fillPair": "positionId",
    "contract": "contractMaturityId",
    "contractMaturity": "productId",
    "orderStrategy": "accountId",
    "orderStrategyLink": "orderStrategyId",
}
ENTITY_OPS = ("list", "item", "items", "find", "deps", "ldeps", "suggest")

# product: (description, tickSize, valuePerPoint, isMicro, default price, invented initial margin)
PRODUCTS: dict[str, tuple[str, float, float, bool, float, float]] = {
    "NQ": ("E-mini Nasdaq-100", 0.25, 20.0, False, 21500.0, 2000.0),
    "MNQ": ("Micro E-mini Nasdaq-100", 0.25, 2.0, True, 21500.0, 200.0),
    "ES": ("E-mini S&P 500", 0.25, 50.0, False, 6000.0, 1500.0),
    "MES": ("Micro E-mini S&P 500", 0.25, 5.0, True, 6000.0, 150.0),
}
_MONTH_CODE = {3: "H", 6: "M", 9: "U", 12: "Z"}
DEFAULT_ENDPOINT_LIMITS: dict[str, tuple[int, float, bool]] = {
    # route: (calls per rolling hour per IP, back-off seconds, count failures only) - P-RL
    "auth/accesstokenrequest": (5, 15.0, True),
    "auth/renewaccesstoken": (15, 15.0, False),
    "auth/me": (10, 30.0, False),
}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _trade_date(moment: datetime) -> Json:
    return {"year": moment.year, "month": moment.month, "day": moment.day}


def _third_friday(year: int, month: int) -> date:
    day = date(year, month, 15)
    while day.weekday() != 4:
        day += timedelta(days=1)
    return day


def quarterly_maturities(today: date, count: int = 2) -> list[tuple[int, int]]:
    """The next ``count`` equity-index expiries (H M U Z, third Friday) not yet past on ``today``."""
    year, month = today.year, 3
    out: list[tuple[int, int]] = []
    while len(out) < count:
        if _third_friday(year, month) >= today:
            out.append((year, month))
        month += 3
        if month > 12:
            year, month = year + 1, 3
    return out


def normalize_route(path: str) -> str:
    """``/v1/Order/placeOrder`` -> ``order/placeorder`` (paths are case-insensitive, §1)."""
    route = path.strip().lower().lstrip("/")
    if route.startswith("v1/"):
        route = route[3:]
    return route.rstrip("/")


@dataclass(frozen=True)
class PropsEvent:
    """One entity change, what a websocket sends as ``{"e":"props","d":{...}}`` to ``user_id`` (§5.3)."""

    user_id: int | None
    account_id: int | None
    entity_type: str
    event_type: str  # Created | Updated | Deleted
    entity: Json

    @property
    def props(self) -> Json:
        return {
            "e": "props",
            "d": {"entityType": self.entity_type, "eventType": self.event_type, "entity": self.entity},
        }


@dataclass
class _Session:
    id: int
    user_id: int
    md_token: str
    alive: bool = True


@dataclass
class _Token:
    token: str
    session: _Session
    expires: datetime


@dataclass
class _User:
    id: int
    name: str
    password: str
    app_id: str
    cid: str
    sec: str
    sessions: list[_Session] = field(default_factory=list)


@dataclass
class _Order:
    id: int
    account_id: int
    contract_id: int
    action: str
    user_id: int
    session_id: int
    version_id: int
    command_id: int
    filled: int = 0
    value: float = 0.0
    triggered: bool = False
    trail: float | None = None
    legs: list[int] = field(default_factory=list)
    parent: int | None = None
    linked: int | None = None
    strategy: int | None = None
    offset: float | None = None  # strategy legs: price = entry avgPx + offset


@dataclass
class _Fault:
    kind: str
    delay: float
    p_time: float


@dataclass
class _Ticket:
    ticket: str
    key: tuple[str, str]  # (ip, route)
    ready_at: float
    captcha: bool
    blocked_until: float = 0.0


@dataclass
class _Ctx:
    user: _User
    session: _Session
    token: _Token
    ip: str


@dataclass
class _Reply:
    status: int
    body: Any = None  # None: empty body


class _Rejected(Exception):
    def __init__(self, reply: _Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


VERSION_FIELDS = (
    "orderQty",
    "orderType",
    "price",
    "stopPrice",
    "maxShow",
    "pegDifference",
    "timeInForce",
    "expireTime",
    "text",
)


def _version_fields(body: Json) -> Json:
    """The OrderVersion fields (SW) of a placement body."""
    return {k: body[k] for k in VERSION_FIELDS if body.get(k) is not None}


def _failure(reason: str, text: str) -> _Reply:
    return _Reply(200, {"failureReason": reason, "failureText": text})


def _violation(field_name: str, value: Any, description: str, constraint: str = "required") -> _Reply:
    return _Reply(
        200, {"violations": [{"constraint": constraint, "value": value, "description": description}]}
    )


def _check_version_kind(body: Json, *, need_qty: bool) -> tuple[Any, Any]:
    """Action, quantity, order type and time in force of an order version: (orderType, timeInForce)."""
    if body.get("action") not in ACTIONS:
        raise _Rejected(_violation("action", body.get("action"), "action is Buy or Sell", "enum"))
    if need_qty:
        qty = body.get("orderQty")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            raise _Rejected(_violation("orderQty", qty, "orderQty must be a positive int32", "min"))
    order_type = body.get("orderType")
    if order_type not in ORDER_TYPES:
        raise _Rejected(_violation("orderType", order_type, f"orderType is one of {ORDER_TYPES}", "enum"))
    tif = body.get("timeInForce", "Day")
    if tif not in TIME_IN_FORCE:
        raise _Rejected(_violation("timeInForce", tif, f"timeInForce is one of {TIME_IN_FORCE}", "enum"))
    if tif == "GTD" and not body.get("expireTime"):
        raise _Rejected(_violation("expireTime", None, "GTD needs expireTime"))
    if order_type == "TrailingStopLimit":
        raise _Rejected(
            _failure("AdvancedTrailingStopUnsupported", "TrailingStopLimit is not supported here")
        )
    if order_type == "QTS":
        raise _Rejected(_failure("Unsupported", "QTS is not supported here"))
    return order_type, tif


def _check_version_prices(body: Json, order_type: Any, tick: float) -> None:
    """The prices ``order_type`` needs are numbers, and every price is on the contract's tick."""
    needs = {
        "Limit": ("price",),
        "MIT": ("price",),
        "Stop": ("stopPrice",),
        "StopLimit": ("price", "stopPrice"),
    }
    for name in needs.get(str(order_type), ()):
        if not isinstance(body.get(name), int | float):
            raise _Rejected(_failure("InvalidPrice", f"{order_type} needs {name}"))
    if order_type == "TrailingStop" and not isinstance(body.get("pegDifference"), int | float):
        raise _Rejected(_failure("InvalidPrice", "TrailingStop needs pegDifference"))
    for name in ("price", "stopPrice"):
        value = body.get(name)
        if isinstance(value, int | float) and abs(round(value / tick) * tick - value) > 1e-9:
            raise _Rejected(_failure("InvalidPrice", f"{name} {value} is not on the tick {tick}"))


class FakeTradovate:
    """In-memory Tradovate (demo) with a REST front; every method is thread-safe."""

    def __init__(
        self,
        *,
        token_lifetime: timedelta = timedelta(minutes=90),
        login_failure_mode: str = "errorText",
        now: Callable[[], datetime] | None = None,
        id_base: int = 516_124_640_000,
    ) -> None:
        if login_failure_mode not in ("errorText", "401"):
            raise ValueError("login_failure_mode is 'errorText' or '401'")
        self.token_lifetime = token_lifetime
        self.login_failure_mode = login_failure_mode
        self.dedupe_clordid = False
        self.renew_revokes_old = False
        self.fill_limit: int | None = None
        self.user_limits: tuple[int, int | None] = (5000, None)  # per hour, per minute (e.g. 80)
        self.endpoint_limits = dict(DEFAULT_ENDPOINT_LIMITS)
        self.max_sessions = 2
        self._now = now or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._depth = 0
        self._pending: list[PropsEvent] = []
        self._listeners: list[Callable[[PropsEvent], None]] = []
        self.events: list[PropsEvent] = []
        self._next_id = id_base
        self._store: dict[str, dict[int, Json]] = {name: {} for name in ENTITY_TYPES}
        self._users: dict[int, _User] = {}
        self._tokens: dict[str, _Token] = {}
        self._orders: dict[int, _Order] = {}
        self._prices: dict[int, float] = {}
        self._lots: dict[int, deque[list[Any]]] = {}  # position id -> [fill id, qty left, price, action]
        self._clordids: dict[tuple[int, str], int] = {}
        self._rejections: deque[tuple[str, str]] = deque()
        self._restrictions: dict[int, tuple[str, str]] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._tickets: dict[str, _Ticket] = {}
        self._penalised: dict[tuple[str, str], _Ticket] = {}
        self._ip_hits: dict[tuple[str, str], deque[float]] = {}
        self._user_hits: dict[int, deque[float]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._seed_contracts()

    # -------------------------------------------------------------------------------------------
    # server
    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve on ``host:port`` (0 = a free port) in a daemon thread; returns the REST base ``.../v1``."""
        if self._server is not None:
            raise RuntimeError("already started")
        server = ThreadingHTTPServer((host, port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-tradovate", daemon=True
        )
        self._thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeTradovate:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------------------------------------
    # events
    def add_listener(self, callback: Callable[[PropsEvent], None]) -> None:
        """``callback(event)`` for every entity change, in order, under the fake's lock: keep it quick
        (a websocket server enqueues)."""
        with self._lock:
            self._listeners.append(callback)

    @contextmanager
    def _txn(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    pending, self._pending = self._pending, []
                    for event in pending:
                        self.events.append(event)
                        for callback in list(self._listeners):
                            callback(event)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _stamp(self) -> str:
        return _iso(self._now())

    def _put(self, entity_type: str, entity: Json) -> Json:
        self._store[entity_type][entity["id"]] = entity
        self._emit(entity_type, "Created", entity)
        return entity

    def _update(self, entity_type: str, entity_id: int, **changes: Any) -> Json:
        entity = self._store[entity_type][entity_id]
        for key, value in changes.items():
            if value is None:
                entity.pop(key, None)
            else:
                entity[key] = value
        self._emit(entity_type, "Updated", entity)
        return entity

    def _emit(self, entity_type: str, event_type: str, entity: Json) -> None:
        account_id = self._account_of(entity_type, entity)
        user_id = None
        if account_id is not None and account_id in self._store["account"]:
            user_id = self._store["account"][account_id]["userId"]
        elif entity_type == "user":
            user_id = entity["id"]
        self._pending.append(
            PropsEvent(user_id, account_id, entity_type, event_type, json.loads(json.dumps(entity)))
        )

    def _account_of(self, entity_type: str, entity: Json) -> int | None:
        store = self._store
        if entity_type in ("account", "marginSnapshot", "accountRiskStatus"):
            return int(entity["id"])
        if "accountId" in entity:
            return int(entity["accountId"])
        if entity_type in ("command", "orderVersion", "fill"):
            order = store["order"].get(entity["orderId"])
            return None if order is None else int(order["accountId"])
        if entity_type == "commandReport":
            command = store["command"].get(entity["commandId"])
            return None if command is None else self._account_of("command", command)
        if entity_type == "fillPair":
            position = store["position"].get(entity["positionId"])
            return None if position is None else int(position["accountId"])
        if entity_type == "orderStrategyLink":
            strategy = store["orderStrategy"].get(entity["orderStrategyId"])
            return None if strategy is None else int(strategy["accountId"])
        return None

    # -------------------------------------------------------------------------------------------
    # seeding
    def _seed_contracts(self) -> None:
        today = self._now().date()
        maturities = quarterly_maturities(today)
        with self._txn():
            for product_name, (description, tick, vpp, micro, price, _margin) in PRODUCTS.items():
                product_id = self._new_id()
                self._put(
                    "product",
                    {
                        "id": product_id,
                        "name": product_name,
                        "currencyId": 1,
                        "productType": "Futures",
                        "description": description,
                        "exchangeId": 2,
                        "contractGroupId": 3,
                        "riskDiscountContractGroupId": 1,
                        "status": "Verified",
                        "months": "HMUZ",
                        "isSecured": False,
                        "valuePerPoint": vpp,
                        "priceFormatType": "Decimal",
                        "priceFormat": -2,
                        "tickSize": tick,
                        "isMicro": micro,
                    },
                )
                for index, (year, month) in enumerate(maturities):
                    maturity_id = self._new_id()
                    expiry = _third_friday(year, month)
                    self._put(
                        "contractMaturity",
                        {
                            "id": maturity_id,
                            "productId": product_id,
                            "expirationMonth": year * 100 + month,
                            "expirationDate": f"{expiry.isoformat()}T13:30Z",
                            "isFront": index == 0,
                            "archived": False,
                            "seqNo": index + 1,
                        },
                    )
                    contract_id = self._new_id()
                    name = f"{product_name}{_MONTH_CODE[month]}{year % 10}"
                    self._put(
                        "contract",
                        {
                            "id": contract_id,
                            "name": name,
                            "contractMaturityId": maturity_id,
                            "status": "DefinitionChecked",
                            "providerTickSize": tick,
                        },
                    )
                    self._prices[contract_id] = price

    def add_user(
        self,
        name: str,
        password: str,
        app_id: str = "copier",
        cid: int | str = 0,
        sec: str = "",
        *,
        email: str | None = None,
    ) -> int:
        """A Tradovate user with one API key (cid/sec); returns the userId."""
        with self._txn():
            if any(user.name == name for user in self._users.values()):
                raise ValueError(f"user {name!r} exists")
            user_id = self._new_id() % 10_000_000
            user = _User(user_id, name, password, app_id, str(cid), sec)
            self._users[user_id] = user
            self._put(
                "user",
                {
                    "id": user_id,
                    "name": name,
                    "timestamp": self._stamp(),
                    "email": email or f"{name}@example.com",
                    "status": "Active",
                    "professional": False,
                },
            )
            return user_id

    def add_account(self, user: int | str, name: str, balance: float = 50_000.0) -> int:
        """An account of ``user`` (userId or name) with its cashBalance, marginSnapshot and
        accountRiskStatus (ids = account id, §3.0); returns the account id."""
        with self._txn():
            owner = self._user(user)
            account_id = self._new_id()
            stamp = self._stamp()
            self._put(
                "account",
                {
                    "id": account_id,
                    "name": name,
                    "userId": owner.id,
                    "accountType": "Customer",
                    "restricted": False,
                    "closed": False,
                    "clearingHouseId": 2,
                    "riskCategoryId": 2,
                    "autoLiqProfileId": 1,
                    "marginAccountType": "Speculator",
                    "legalStatus": "Individual",
                    "archived": False,
                    "timestamp": stamp,
                    "active": True,
                },
            )
            self._put(
                "cashBalance",
                {
                    "id": self._new_id(),
                    "accountId": account_id,
                    "timestamp": stamp,
                    "tradeDate": _trade_date(self._now()),
                    "currencyId": 1,
                    "amount": float(balance),
                    "realizedPnL": 0.0,
                    "weekRealizedPnL": 0.0,
                    "archived": False,
                    "amountSOD": float(balance),
                },
            )
            self._put(
                "marginSnapshot",
                {
                    "id": account_id,
                    "timestamp": stamp,
                    "riskTimePeriodId": 1,
                    "initialMargin": 0.0,
                    "maintenanceMargin": 0.0,
                    "autoLiqLevel": 0.0,
                    "liqOnlyLevel": 0.0,
                    "totalUsedMargin": 0.0,
                    "fullInitialMargin": 0.0,
                },
            )
            self._put(
                "accountRiskStatus",
                {
                    "id": account_id,
                    "maxNetLiq": float(balance),
                    "maxNetLiqTimestamp": stamp,
                    "minNetLiq": float(balance),
                    "minNetLiqTimestamp": stamp,
                },
            )
            return account_id

    def _user(self, user: int | str) -> _User:
        for candidate in self._users.values():
            if user in (candidate.id, candidate.name):
                return candidate
        raise KeyError(f"no user {user!r}")

    def contract(self, symbol: str) -> Json:
        """The contract entity for a contract name (``NQZ6``) or a product name (its front contract)."""
        with self._lock:
            return dict(self._contract_for(symbol))

    def _contract_for(self, symbol: str) -> Json:
        wanted = symbol.strip().upper()
        for contract in self._store["contract"].values():
            if contract["name"].upper() == wanted:
                return contract
        for product in self._store["product"].values():
            if product["name"].upper() == wanted:
                for maturity in self._store["contractMaturity"].values():
                    if maturity["productId"] == product["id"] and maturity["isFront"]:
                        for contract in self._store["contract"].values():
                            if contract["contractMaturityId"] == maturity["id"]:
                                return contract
        raise KeyError(f"no contract {symbol!r}")

    def _product_of(self, contract_id: int) -> Json:
        contract = self._store["contract"][contract_id]
        maturity = self._store["contractMaturity"][contract["contractMaturityId"]]
        return self._store["product"][maturity["productId"]]

    # -------------------------------------------------------------------------------------------
    # knobs
    def set_market_price(self, symbol: str, price: float) -> None:
        """Move the market of one contract (or a product's front contract); working orders it crosses fill."""
        with self._txn():
            contract_id = int(self._contract_for(symbol)["id"])
            self._prices[contract_id] = float(price)
            for order in sorted(self._orders.values(), key=lambda o: o.id):
                if order.contract_id == contract_id and self._status(order) == "Working":
                    self._evaluate(order, fresh=False)

    def market_price(self, symbol: str) -> float | None:
        with self._lock:
            return self._prices.get(int(self._contract_for(symbol)["id"]))

    def fail_next(self, path: str, kind: str, *, delay: float = 3.0, p_time: float | None = None) -> None:
        """The next request to ``path`` fails as ``kind``:

        - ``http500``: 500, not applied;  ``http429`` / ``http423``: that status, empty body, not applied;
        - ``timeout``: sleeps ``delay`` seconds (past the client's read timeout), then APPLIES the request
          and answers (to nobody, usually);
        - ``penalty``: HTTP 200 ``{p-ticket, p-time}``, not applied; the endpoint stays penalised for this
          IP until a resend carries the ticket after ``p_time`` (default 1 s) seconds;
        - ``captcha``: HTTP 200 ``{p-ticket, p-time, p-captcha: true}``; the endpoint answers it for
          ``p_time`` (default 3600) seconds whatever ticket comes back.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind is one of {FAULT_KINDS}")
        default = 3600.0 if kind == "captcha" else 1.0
        with self._lock:
            self._faults.setdefault(normalize_route(path), deque()).append(
                _Fault(kind, delay, default if p_time is None else p_time)
            )

    def clear_penalties(self) -> None:
        """Forget every penalty, ticket, fault and rate-limit counter."""
        with self._lock:
            self._faults.clear()
            self._tickets.clear()
            self._penalised.clear()
            self._ip_hits.clear()
            self._user_hits.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far is now past its expirationTime (renewal too gets 401)."""
        with self._lock:
            past = self._now() - timedelta(seconds=1)
            for token in self._tokens.values():
                token.expires = past

    def reject_next(self, reason: str, text: str = "") -> None:
        """The next order placement (placeorder/placeoso/placeoco/startorderstrategy) fails with
        ``reason`` (an SW failureReason, e.g. MaxPosLimitReached)."""
        if reason not in FAILURE_REASONS:
            raise ValueError(f"unknown failureReason {reason!r}")
        with self._lock:
            self._rejections.append((reason, text or reason))

    def restrict_account(self, account_id: int, reason: str | None, text: str = "") -> None:
        """Every placement on ``account_id`` fails with ``reason`` (TradingLocked, LiquidationOnly...)
        until called with ``None``; liquidateposition still works."""
        with self._lock:
            if reason is None:
                self._restrictions.pop(account_id, None)
            elif reason not in FAILURE_REASONS:
                raise ValueError(f"unknown failureReason {reason!r}")
            else:
                self._restrictions[account_id] = (reason, text or reason)

    def end_session(self) -> None:
        """The trading session ends: working and suspended ``Day`` orders expire (§7 item 6)."""
        with self._txn():
            for order in sorted(self._orders.values(), key=lambda o: o.id):
                if (
                    self._status(order) in ("Working", "Suspended")
                    and self._version(order)["timeInForce"] == "Day"
                ):
                    self._finish(order, "Expired", "Expired")

    def session_for_token(self, token: str) -> tuple[int, int] | None:
        """(userId, session id) for a live token, else None: for a later websocket ``authorize``."""
        with self._lock:
            found = self._tokens.get(token)
            if found is None or not found.session.alive or found.expires <= self._now():
                return None
            return found.session.user_id, found.session.id

    def live_sessions(self, user: int | str) -> int:
        with self._lock:
            return sum(session.alive for session in self._user(user).sessions)

    def account_ids(self, user: int | str) -> list[int]:
        with self._lock:
            owner = self._user(user)
            return sorted(a["id"] for a in self._store["account"].values() if a["userId"] == owner.id)

    def synced_snapshot(self, user: int | str, subscribe: Callable[[], None]) -> Json:
        """``subscribe()`` and the snapshot in one step under the lock: a websocket's syncrequest
        misses no change between the two (``tradovate_ws``)."""
        with self._lock:
            subscribe()
            return self.snapshot(user)

    def snapshot(self, user: int | str) -> Json:
        """The arrays a ``user/syncrequest`` snapshot carries (§5.4) for one user's accounts."""
        with self._lock:
            owner = self._user(user)
            accounts = {a["id"] for a in self._store["account"].values() if a["userId"] == owner.id}
            out: Json = {"users": [dict(self._store["user"][owner.id])], "contractGroups": []}
            plural = {"accountRiskStatus": "accountRiskStatuses"}
            for entity_type in ENTITY_TYPES:
                if entity_type == "user":
                    continue
                rows = [dict(e) for e in self._visible(entity_type, accounts)]
                out[plural.get(entity_type, entity_type + "s")] = rows
            return out

    # -------------------------------------------------------------------------------------------
    # request dispatch (called by the HTTP handler)
    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes, ip: str) -> _Reply:
        split = urlsplit(path)
        if not split.path.lower().startswith("/v1/"):
            return _Reply(404, f"Not found: {split.path}")
        route = normalize_route(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        try:
            parsed: Any = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _Reply(400, {"errorText": "malformed JSON"})
        if not isinstance(parsed, dict):
            return _Reply(400, {"errorText": "a JSON object is expected"})
        body: Json = parsed
        handler = self._route(method, route)
        if isinstance(handler, _Reply):
            return handler
        ticket = str(body.pop("p-ticket", query.pop("p-ticket", "")) or "")
        key = (ip, route)
        with self._lock:
            early = self._penalty_gate(key, ticket)
            if early is not None:
                return early
            ticket_ok = bool(ticket) and ticket in self._tickets and not self._tickets[ticket].captcha
            if ticket_ok:
                del self._tickets[ticket]
            faults = self._faults.get(route)
            fault = faults.popleft() if faults else None
        if fault is not None:
            if fault.kind in ("http500", "http429", "http423"):
                return _Reply(int(fault.kind[4:]), None)
            if fault.kind in ("penalty", "captcha"):
                with self._lock:
                    return self._penalty(key, fault.p_time, captcha=fault.kind == "captcha", block=True)
            time.sleep(fault.delay)  # timeout: the client gives up; the request is still applied
        try:
            return handler(route, query, body, headers, ip, ticket_ok)
        except _Rejected as rejected:
            return rejected.reply

    def _route(self, method: str, route: str) -> _Reply | Callable[..., _Reply]:
        posts: dict[str, Callable[[_Ctx, Json], _Reply]] = {
            "order/placeorder": self._place_order,
            "order/placeoso": self._place_oso,
            "order/placeoco": self._place_oco,
            "order/modifyorder": self._modify_order,
            "order/cancelorder": self._cancel_order,
            "order/liquidateposition": self._liquidate,
            "orderstrategy/startorderstrategy": self._start_strategy,
            "orderstrategy/interruptorderstrategy": self._interrupt_strategy,
            "cashbalance/getcashbalancesnapshot": self._cash_snapshot,
            "account/getcashbalancesnapshot": self._cash_snapshot,
        }
        if route == "auth/accesstokenrequest":
            return self._access_token_request if method == "POST" else _Reply(405)
        if route == "auth/renewaccesstoken":
            return self._authed(lambda ctx, q, b: self._renew_token(ctx)) if method == "GET" else _Reply(405)
        if route == "auth/me":
            return self._authed(lambda ctx, q, b: self._me(ctx)) if method == "GET" else _Reply(405)
        if route in posts:
            post = posts[route]
            return self._authed(lambda ctx, q, b: post(ctx, b)) if method == "POST" else _Reply(405)
        entity, _, op = route.partition("/")
        if entity in _ENTITY_BY_LOWER and op in ENTITY_OPS:
            name = _ENTITY_BY_LOWER[entity]
            if method != "GET":
                return _Reply(405)
            return self._authed(lambda ctx, q, b: self._entity_op(ctx, name, op, q))
        return _Reply(404, f"Not found: {route}")

    def _authed(self, inner: Callable[[_Ctx, dict[str, str], Json], _Reply]) -> Callable[..., _Reply]:
        def run(
            route: str, query: dict[str, str], body: Json, headers: dict[str, str], ip: str, ticket_ok: bool
        ) -> _Reply:
            with self._txn():
                scheme, _, token = headers.get("authorization", "").partition(" ")
                found = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
                if found is None or not found.session.alive or found.expires <= self._now():
                    return _Reply(401)
                user = self._users[found.session.user_id]
                if not self._user_allowance(user.id):
                    return _Reply(429)
                if not ticket_ok:
                    over = self._endpoint_over_limit((ip, route), failure=False)
                    if over is not None:
                        return over
                return inner(_Ctx(user, found.session, found, ip), query, body)

        return run

    # penalties and limits --------------------------------------------------------------------
    def _penalty(self, key: tuple[str, str], p_time: float, *, captcha: bool, block: bool) -> _Reply:
        ticket = _Ticket(secrets.token_urlsafe(24), key, time.monotonic() + p_time, captcha)
        if block:
            ticket.blocked_until = time.monotonic() + p_time if captcha else float("inf")
            self._penalised[key] = ticket
        self._tickets[ticket.ticket] = ticket
        body: Json = {"p-ticket": ticket.ticket, "p-time": max(1, round(p_time))}
        if captcha:
            body["p-captcha"] = True
        return _Reply(200, body)

    def _penalty_gate(self, key: tuple[str, str], ticket: str) -> _Reply | None:
        """A penalised endpoint answers its penalty until the ticket comes back in time (or, for a
        captcha, until the block ends)."""
        active = self._penalised.get(key)
        if active is None:
            return None
        now = time.monotonic()
        if active.captcha:
            if now >= active.blocked_until:
                del self._penalised[key]
                return None
            return _Reply(
                200,
                {
                    "p-ticket": active.ticket,
                    "p-time": max(1, round(active.blocked_until - now)),
                    "p-captcha": True,
                },
            )
        if ticket == active.ticket and now >= active.ready_at:
            del self._penalised[key]
            return None
        return _Reply(200, {"p-ticket": active.ticket, "p-time": max(1, round(active.ready_at - now))})

    def _hits(self, table: dict[Any, deque[float]], key: Any, window: float) -> deque[float]:
        hits = table.setdefault(key, deque())
        cutoff = time.monotonic() - window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        return hits

    def _endpoint_over_limit(self, key: tuple[str, str], *, failure: bool) -> _Reply | None:
        """Per IP and endpoint, rolling hour (P-RL). Counts this call unless the endpoint counts
        failures only (then ``_count_failure`` does)."""
        limit = self.endpoint_limits.get(key[1])
        if limit is None:
            return None
        calls, backoff, failures_only = limit
        hits = self._hits(self._ip_hits, key, 3600.0)
        if len(hits) >= calls:
            if failures_only:  # accesstokenrequest: a captcha, about an hour (§2.1, §4.2)
                return self._penalty(key, hits[0] + 3600.0 - time.monotonic(), captcha=True, block=False)
            return self._penalty(key, backoff, captcha=False, block=False)
        if not failures_only or failure:
            hits.append(time.monotonic())
        return None

    def _user_allowance(self, user_id: int) -> bool:
        per_hour, per_minute = self.user_limits
        hour = self._hits(self._user_hits, user_id, 3600.0)
        if len(hour) >= per_hour:
            return False
        if per_minute is not None and sum(1 for t in hour if t > time.monotonic() - 60.0) >= per_minute:
            return False
        hour.append(time.monotonic())
        return True

    # -------------------------------------------------------------------------------------------
    # auth (§2)
    def _access_token_request(
        self, route: str, query: dict[str, str], body: Json, headers: dict[str, str], ip: str, ticket_ok: bool
    ) -> _Reply:
        with self._txn():
            key = (ip, route)
            over = self._endpoint_over_limit(key, failure=False)
            if over is not None:
                return over
            missing = [
                f
                for f in ("name", "password", "appId", "appVersion", "cid", "sec")
                if body.get(f) in (None, "")
            ]
            if missing:
                return _violation(missing[0], None, f"{missing[0]} is required")
            user = next((u for u in self._users.values() if u.name == body["name"]), None)
            if (
                user is None
                or body["password"] != user.password
                or str(body["cid"]) != user.cid
                or body["sec"] != user.sec
            ):
                self._endpoint_over_limit(key, failure=True)
                if self.login_failure_mode == "401":
                    return _Reply(401, {"errorText": "Incorrect username or password. Please try again."})
                return _Reply(200, {"errorText": "Incorrect username or password. Please try again."})
            live = [s for s in user.sessions if s.alive]
            while len(live) >= self.max_sessions:  # a 3rd session closes the oldest (NT-ATR)
                live.pop(0).alive = False
            session = _Session(self._new_id(), user.id, secrets.token_urlsafe(48))
            user.sessions.append(session)
            return _Reply(200, self._token_response(user, session))

    def _token_response(self, user: _User, session: _Session) -> Json:
        token = _Token(secrets.token_urlsafe(96), session, self._now() + self.token_lifetime)
        self._tokens[token.token] = token
        return {
            "accessToken": token.token,
            "mdAccessToken": session.md_token,
            "expirationTime": _iso(token.expires),
            "passwordExpirationTime": _iso(self._now() + timedelta(days=365)),
            "userStatus": "Active",
            "userId": user.id,
            "name": user.name,
            "hasLive": False,
        }

    def _renew_token(self, ctx: _Ctx) -> _Reply:
        """Same session, new token, later expiry (P-REN, P-C1)."""
        if self.renew_revokes_old:
            del self._tokens[ctx.token.token]
        return _Reply(200, self._token_response(ctx.user, ctx.session))

    def _me(self, ctx: _Ctx) -> _Reply:
        user = self._store["user"][ctx.user.id]
        return _Reply(
            200,
            {
                "userId": ctx.user.id,
                "name": ctx.user.name,
                "fullName": ctx.user.name,
                "email": user["email"],
                "emailVerified": True,
                "isTrial": False,
            },
        )

    # -------------------------------------------------------------------------------------------
    # entity ops (§3.0)
    def _user_accounts(self, ctx: _Ctx) -> set[int]:
        return {a["id"] for a in self._store["account"].values() if a["userId"] == ctx.user.id}

    def _visible(self, entity_type: str, accounts: set[int]) -> list[Json]:
        rows = self._store[entity_type].values()
        if entity_type in ("contract", "contractMaturity", "product"):
            return list(rows)
        if entity_type == "user":
            owners = {self._store["account"][a]["userId"] for a in accounts}
            return [u for u in rows if u["id"] in owners]
        return [e for e in rows if self._account_of(entity_type, e) in accounts]

    def _entity_op(self, ctx: _Ctx, entity_type: str, op: str, query: dict[str, str]) -> _Reply:
        accounts = self._user_accounts(ctx)
        rows = self._visible(entity_type, accounts)
        if entity_type == "user" and not accounts:
            rows = [self._store["user"][ctx.user.id]]
        by_id = {e["id"]: e for e in rows}

        def ids(name: str) -> list[int]:
            try:
                return [int(part) for part in query.get(name, "").split(",") if part.strip()]
            except ValueError as exc:
                raise _Rejected(_Reply(400, {"errorText": f"{name} must be integers"})) from exc

        if op == "list":
            return _Reply(200, rows)
        if op == "item":
            wanted = ids("id")
            if len(wanted) != 1 or wanted[0] not in by_id:
                return _Reply(404, f"Not found: {entity_type}/item")
            return _Reply(200, by_id[wanted[0]])
        if op == "items":
            return _Reply(200, [by_id[i] for i in ids("ids") if i in by_id])
        if op == "find":
            name = query.get("name", "")
            found = next((e for e in rows if "name" in e and str(e["name"]).lower() == name.lower()), None)
            return _Reply(200, found) if found else _Reply(404, f"Not found: {entity_type}/find")
        if op == "suggest":
            text, limit = query.get("t", "").lower(), int(query.get("l", "10") or 10)
            matches = [e for e in rows if "name" in e and text in str(e["name"]).lower()]
            return _Reply(200, matches[:limit])
        master = MASTER_FIELD.get(entity_type)
        if master is None:
            return _Reply(404, f"Not found: {entity_type}/{op}")
        masters = set(ids("masterid" if op == "deps" else "masterids"))
        return _Reply(200, [e for e in rows if e.get(master) in masters])

    # -------------------------------------------------------------------------------------------
    # orders (§3.3 - §3.7)
    def _account(self, ctx: _Ctx, body: Json) -> Json:
        for required in ("accountId", "accountSpec"):
            if body.get(required) in (None, ""):
                raise _Rejected(_violation(required, None, f"{required} is required (JS-EX4a)"))
        try:
            account_id = int(body["accountId"])
        except (TypeError, ValueError) as exc:
            raise _Rejected(
                _violation("accountId", body["accountId"], "accountId must be int64", "type")
            ) from exc
        account = self._store["account"].get(account_id)
        if account is None or account["userId"] != ctx.user.id:
            raise _Rejected(_failure("UnknownReason", ACCESS_DENIED))
        if body["accountSpec"] not in (account["name"], ctx.user.name):
            raise _Rejected(_failure("UnknownReason", ACCESS_DENIED))
        return account

    def _check_version(self, body: Json, contract_id: int, *, need_qty: bool) -> Json:
        """Validated order-version fields (action, orderType, prices, timeInForce, ...)."""
        order_type, tif = _check_version_kind(body, need_qty=need_qty)
        _check_version_prices(body, order_type, float(self._product_of(contract_id)["tickSize"]))
        version: Json = {"orderType": order_type, "timeInForce": tif}
        for name in ("orderQty", "price", "stopPrice", "maxShow", "pegDifference", "expireTime", "text"):
            if body.get(name) is not None:
                version[name] = body[name]
        return version

    def _placement_gate(self, account: Json) -> None:
        restriction = self._restrictions.get(account["id"])
        if restriction is not None:
            raise _Rejected(_failure(*restriction))
        if self._rejections:
            raise _Rejected(_failure(*self._rejections.popleft()))

    def _parse_place(self, ctx: _Ctx, body: Json) -> tuple[Json, Json, Json]:
        account = self._account(ctx, body)
        if not body.get("symbol"):
            raise _Rejected(_violation("symbol", None, "symbol is required"))
        try:
            contract = self._contract_for(str(body["symbol"]))
        except KeyError as exc:
            raise _Rejected(_failure("UnknownReason", ACCESS_DENIED)) from exc  # I-45
        version = self._check_version(body, contract["id"], need_qty=True)
        self._placement_gate(account)
        if version["orderType"] == "Market" and contract["id"] not in self._prices:
            raise _Rejected(_failure("NoQuote", f"no quote for {contract['name']}"))
        return account, contract, version

    def _place_order(self, ctx: _Ctx, body: Json) -> _Reply:
        account, contract, version = self._parse_place(ctx, body)
        clordid = body.get("clOrdId")
        if self.dedupe_clordid and clordid and (account["id"], clordid) in self._clordids:
            return _Reply(200, {"orderId": self._clordids[(account["id"], clordid)]})
        order = self._new_order(ctx, account["id"], contract["id"], body, version)
        self._activate(order)
        return _Reply(200, {"orderId": order.id})

    def _new_order(
        self,
        ctx: _Ctx,
        account_id: int,
        contract_id: int,
        body: Json,
        version: Json,
        *,
        parent: int | None = None,
        automated: bool | None = None,
    ) -> _Order:
        """order (Unknown) + New command + first orderVersion, one id (§3.10, §5.5 rows 2-4)."""
        order_id = self._new_id()
        stamp = self._stamp()
        entity: Json = {
            "id": order_id,
            "accountId": account_id,
            "contractId": contract_id,
            "timestamp": stamp,
            "action": body["action"],
            "ordStatus": "Unknown",
            "admin": False,
            "archived": False,
            "external": False,
        }
        if parent is not None:
            entity["parentId"] = parent
        self._put("order", entity)
        command: Json = {
            "id": order_id,
            "orderId": order_id,
            "timestamp": stamp,
            "commandType": "New",
            "commandStatus": "Pending",
            "senderId": ctx.user.id,
            "userSessionId": ctx.session.id,
            "isAutomated": bool(body.get("isAutomated", False) if automated is None else automated),
        }
        for name in ("clOrdId", "activationTime", "customTag50"):
            if body.get(name) is not None:
                command[name] = body[name]
        self._put("command", command)
        self._put("orderVersion", {"id": order_id, "orderId": order_id, **version})
        order = _Order(
            order_id,
            account_id,
            contract_id,
            str(body["action"]),
            ctx.user.id,
            ctx.session.id,
            order_id,
            order_id,
            parent=parent,
        )
        self._orders[order_id] = order
        if body.get("clOrdId"):
            self._clordids.setdefault((account_id, str(body["clOrdId"])), order_id)
        return order

    def _report(self, command_id: int, status: str, ord_status: str | None = None, **extra: Any) -> int:
        report: Json = {
            "id": self._new_id(),
            "commandId": command_id,
            "timestamp": self._stamp(),
            "commandStatus": status,
            **extra,
        }
        if ord_status:
            report["ordStatus"] = ord_status
        self._put("commandReport", report)
        self._update("command", command_id, commandStatus=status)
        return int(report["id"])

    def _exec_report(
        self, order: _Order, command_id: int, exec_type: str, report_id: int | None = None, **extra: Any
    ) -> None:
        self._put(
            "executionReport",
            {
                "id": report_id or self._new_id(),
                "commandId": command_id,
                "name": secrets.token_hex(8),
                "accountId": order.account_id,
                "contractId": order.contract_id,
                "timestamp": self._stamp(),
                "tradeDate": _trade_date(self._now()),
                "orderId": order.id,
                "execType": exec_type,
                "ordStatus": self._status(order),
                "action": order.action,
                **extra,
            },
        )

    def _status(self, order: _Order) -> str:
        return str(self._store["order"][order.id]["ordStatus"])

    def _version(self, order: _Order) -> Json:
        return self._store["orderVersion"][order.version_id]

    def _suspend(self, order: _Order) -> None:
        self._report(order.command_id, "OnHold")
        self._update("order", order.id, ordStatus="Suspended")

    def _activate(self, order: _Order) -> None:
        """RiskPassed -> PendingNew -> AtExecution -> Working + executionReport New (§5.5 rows 5-10), then
        fill what the market allows."""
        self._report(order.command_id, "RiskPassed")
        self._update("order", order.id, ordStatus="PendingNew", executionProviderId=1)
        at_execution = self._report(order.command_id, "AtExecution")
        self._update("order", order.id, ordStatus="Working")
        self._exec_report(order, order.command_id, "New", at_execution)
        self._evaluate(order, fresh=True)

    def _evaluate(self, order: _Order, *, fresh: bool) -> None:
        """Fill ``order`` as far as the current market allows; IOC/FOK remainders are cancelled."""
        version = self._version(order)
        tif = version["timeInForce"]
        price = self._prices.get(order.contract_id)
        remaining = int(version["orderQty"]) - order.filled
        fill_px = (
            None if price is None or remaining <= 0 else self._fill_price(order, version, price, fresh=fresh)
        )
        if fill_px is not None:
            qty = remaining if self.fill_limit is None else min(remaining, self.fill_limit)
            if tif == "FOK" and qty < remaining:
                fill_px = None
            else:
                self._fill(order, qty, fill_px)
        if tif in ("IOC", "FOK") and self._status(order) == "Working" and fresh:
            self._finish(order, "Canceled", "Canceled")

    def _fill_price(self, order: _Order, version: Json, price: float, *, fresh: bool) -> float | None:
        buy = order.action == "Buy"
        order_type = version["orderType"]
        if order_type == "Market":
            return price
        if order_type == "TrailingStop":
            peg = float(version["pegDifference"])
            start = version.get("stopPrice")
            if order.trail is None:
                order.trail = float(start) if start is not None else (price + peg if buy else price - peg)
            order.trail = min(order.trail, price + peg) if buy else max(order.trail, price - peg)
            return price if (price >= order.trail if buy else price <= order.trail) else None
        if order_type in ("Stop", "StopLimit") and not order.triggered:
            stop = float(version["stopPrice"])
            if not (price >= stop if buy else price <= stop):
                return None
            order.triggered = True
            if order_type == "Stop":
                return price
        if order_type == "Stop":
            return price
        limit = float(version["price"])
        if order_type == "MIT":
            return price if (price <= limit if buy else price >= limit) else None
        if price <= limit if buy else price >= limit:  # Limit, or a triggered StopLimit
            return price if fresh else limit
        return None

    def _finish(self, order: _Order, ord_status: str, exec_type: str, *, automated: bool = True) -> int:
        """Cancel/expire a live order with its own Cancel command; returns the command id."""
        command_id = self._new_id()
        self._put(
            "command",
            {
                "id": command_id,
                "orderId": order.id,
                "timestamp": self._stamp(),
                "commandType": "Cancel",
                "commandStatus": "Pending",
                "senderId": order.user_id,
                "userSessionId": order.session_id,
                "isAutomated": automated,
            },
        )
        at_execution = self._report(command_id, "AtExecution")
        self._report(order.command_id, "ExecutionStopped")
        self._update("order", order.id, ordStatus=ord_status)
        self._exec_report(order, command_id, exec_type, at_execution)
        order.command_id = command_id
        self._after_terminal(order, filled=False)
        return command_id

    def _after_terminal(self, order: _Order, *, filled: bool) -> None:
        """Legs and strategies follow their entry / OCO partner."""
        strategy = None if order.strategy is None else self._store["orderStrategy"][order.strategy]
        if (
            strategy is not None
            and strategy["status"] == "ActiveStrategy"
            and order.parent is None
            and not filled
        ):
            self._update("orderStrategy", strategy["id"], status="ExecutionInterrupted")
        if filled:
            for leg_id in order.legs:
                leg = self._orders[leg_id]
                if self._status(leg) == "Suspended":
                    if leg.offset is not None:
                        key = "stopPrice" if self._version(leg)["orderType"] == "Stop" else "price"
                        tick = float(self._product_of(leg.contract_id)["tickSize"])
                        avg = order.value / order.filled
                        self._update(
                            "orderVersion", leg.version_id, **{key: round((avg + leg.offset) / tick) * tick}
                        )
                    self._update("orderVersion", leg.version_id, orderQty=order.filled)
                    self._activate(leg)
            if order.linked is not None and self._status(self._orders[order.linked]) not in TERMINAL:
                self._finish(self._orders[order.linked], "Canceled", "Canceled")
        else:
            for leg_id in order.legs:
                if self._status(self._orders[leg_id]) not in TERMINAL:
                    self._finish(self._orders[leg_id], "Canceled", "Canceled")
        if strategy is not None and strategy["status"] == "ActiveStrategy":
            members = [o for o in self._orders.values() if o.strategy == order.strategy]
            if all(self._status(o) in TERMINAL for o in members):
                self._update("orderStrategy", strategy["id"], status="ExecutionFinished")

    # fills and positions (§3.8, §3.9) ----------------------------------------------------------
    def _fill(self, order: _Order, qty: int, price: float) -> None:
        now = self._now()
        fill_id = self._new_id()
        self._put(
            "fill",
            {
                "id": fill_id,
                "orderId": order.id,
                "contractId": order.contract_id,
                "timestamp": _iso(now),
                "tradeDate": _trade_date(now),
                "action": order.action,
                "qty": qty,
                "price": price,
                "active": True,
                "finallyPaired": 0,
                "external": False,
            },
        )
        order.filled += qty
        order.value += qty * price
        total = int(self._version(order)["orderQty"])
        done = order.filled >= total
        self._store["order"][order.id]["ordStatus"] = "Filled" if done else "Working"
        self._exec_report(
            order,
            order.command_id,
            "Trade",
            lastQty=qty,
            lastPx=price,
            cumQty=order.filled,
            avgPx=order.value / order.filled,
        )
        self._update("order", order.id)
        self._net(order, fill_id, qty, price)
        if done:
            self._after_terminal(order, filled=True)

    def _position(self, account_id: int, contract_id: int) -> Json:
        for position in self._store["position"].values():
            if position["accountId"] == account_id and position["contractId"] == contract_id:
                return position
        now = self._now()
        position = {
            "id": self._new_id(),
            "accountId": account_id,
            "contractId": contract_id,
            "timestamp": _iso(now),
            "tradeDate": _trade_date(now),
            "netPos": 0,
            "bought": 0,
            "boughtValue": 0.0,
            "sold": 0,
            "soldValue": 0.0,
            "prevPos": 0,
            "archived": False,
        }
        self._store["position"][position["id"]] = position
        self._emit("position", "Created", position)
        self._lots[position["id"]] = deque()
        return position

    def _net(self, order: _Order, fill_id: int, qty: int, price: float) -> None:
        position = self._position(order.account_id, order.contract_id)
        lots = self._lots[position["id"]]
        vpp = float(self._product_of(order.contract_id)["valuePerPoint"])
        buy = order.action == "Buy"
        left, realized = qty, 0.0
        while left and lots and lots[0][3] != order.action:
            lot = lots[0]
            matched = min(left, lot[1])
            buy_fill, sell_fill = (fill_id, lot[0]) if buy else (lot[0], fill_id)
            buy_px, sell_px = (price, lot[2]) if buy else (lot[2], price)
            self._put(
                "fillPair",
                {
                    "id": self._new_id(),
                    "positionId": position["id"],
                    "buyFillId": buy_fill,
                    "sellFillId": sell_fill,
                    "qty": matched,
                    "buyPrice": buy_px,
                    "sellPrice": sell_px,
                    "active": True,
                },
            )
            realized += (sell_px - buy_px) * matched * vpp
            for paired in (lot[0], fill_id):
                fill = self._store["fill"][paired]
                self._update("fill", paired, finallyPaired=int(fill["finallyPaired"]) + matched)
            lot[1] -= matched
            left -= matched
            if lot[1] == 0:
                lots.popleft()
        if left:
            lots.append([fill_id, left, price, order.action])
        net = sum(lot[1] for lot in lots) * (1 if lots and lots[0][3] == "Buy" else -1)
        open_qty = sum(lot[1] for lot in lots)
        changes: Json = {
            "netPos": net,
            "timestamp": self._stamp(),
            "netPrice": sum(lot[1] * lot[2] for lot in lots) / open_qty if open_qty else None,
        }
        side = "bought" if buy else "sold"
        changes[side] = int(position[side]) + qty
        changes[side + "Value"] = float(position[side + "Value"]) + qty * price
        self._update("position", position["id"], **changes)
        if realized:
            cash = next(c for c in self._store["cashBalance"].values() if c["accountId"] == order.account_id)
            self._update(
                "cashBalance",
                cash["id"],
                amount=cash["amount"] + realized,
                realizedPnL=cash["realizedPnL"] + realized,
                weekRealizedPnL=cash["weekRealizedPnL"] + realized,
                timestamp=self._stamp(),
            )
        self._update_margin(order.account_id)

    def _update_margin(self, account_id: int) -> None:
        used = 0.0
        for position in self._store["position"].values():
            if position["accountId"] == account_id:
                product = self._product_of(position["contractId"])
                used += abs(int(position["netPos"])) * PRODUCTS[product["name"]][5]
        self._update(
            "marginSnapshot",
            account_id,
            initialMargin=used,
            maintenanceMargin=used * 0.9,
            totalUsedMargin=used,
            fullInitialMargin=used,
            timestamp=self._stamp(),
        )

    def _open_pnl(self, account_id: int) -> float:
        total = 0.0
        for position in self._store["position"].values():
            if position["accountId"] == account_id and position["netPos"]:
                price = self._prices.get(position["contractId"])
                if price is not None:
                    vpp = float(self._product_of(position["contractId"])["valuePerPoint"])
                    total += (price - float(position["netPrice"])) * vpp * int(position["netPos"])
        return total

    def _cash_snapshot(self, ctx: _Ctx, body: Json) -> _Reply:
        """§3.9: P&L fields may be absent when zero; here they are always present."""
        try:
            account_id = int(body.get("accountId", 0))
        except (TypeError, ValueError):
            account_id = 0
        if account_id not in self._user_accounts(ctx):
            return _Reply(200, {"errorText": ACCESS_DENIED})
        cash = next(c for c in self._store["cashBalance"].values() if c["accountId"] == account_id)
        margin = self._store["marginSnapshot"][account_id]
        open_pnl = self._open_pnl(account_id)
        return _Reply(
            200,
            {
                "totalCashValue": cash["amount"],
                "totalPnL": cash["realizedPnL"] + open_pnl,
                "initialMargin": margin["initialMargin"],
                "maintenanceMargin": margin["maintenanceMargin"],
                "netLiq": cash["amount"] + open_pnl,
                "openPnL": open_pnl,
                "realizedPnL": cash["realizedPnL"],
                "weekRealizedPnL": cash["weekRealizedPnL"],
            },
        )

    # brackets (§3.5, §3.6) -------------------------------------------------------------------------
    def _legs(self, entry_body: Json, brackets: list[Json], contract_id: int) -> list[Json]:
        legs = []
        for number, bracket in enumerate(brackets, start=1):
            if not isinstance(bracket, dict):
                raise _Rejected(_violation(f"bracket{number}", bracket, "an object is expected", "type"))
            for required in ("action", "orderType"):
                if not bracket.get(required):
                    raise _Rejected(
                        _violation(f"bracket{number}.{required}", None, f"{required} is required")
                    )
            leg = {k: v for k, v in bracket.items() if k != "orderQty"}  # no orderQty in SW (§3.5)
            leg["orderQty"] = entry_body["orderQty"]
            legs.append(
                {**leg, **self._check_version(leg, contract_id, need_qty=True), "action": bracket["action"]}
            )
        return legs

    def _place_oso(self, ctx: _Ctx, body: Json) -> _Reply:
        if not isinstance(body.get("bracket1"), dict):
            return _violation("bracket1", body.get("bracket1"), "bracket1 is required")
        account, contract, version = self._parse_place(ctx, body)
        brackets = [body["bracket1"]] + ([body["bracket2"]] if isinstance(body.get("bracket2"), dict) else [])
        legs = self._legs(body, brackets, contract["id"])
        entry = self._new_order(ctx, account["id"], contract["id"], body, version)
        leg_orders = self._suspended_legs(ctx, entry, legs, body)
        self._activate(entry)
        result: Json = {"orderId": entry.id, "oso1Id": leg_orders[0].id}
        if len(leg_orders) > 1:
            result["oso2Id"] = leg_orders[1].id
        return _Reply(200, result)

    def _suspended_legs(self, ctx: _Ctx, entry: _Order, legs: list[Json], body: Json) -> list[_Order]:
        out = []
        for leg in legs:
            leg_body = {**leg, "isAutomated": body.get("isAutomated", False)}
            version = _version_fields(leg)
            order = self._new_order(
                ctx, entry.account_id, entry.contract_id, leg_body, version, parent=entry.id
            )
            self._suspend(order)
            entry.legs.append(order.id)
            out.append(order)
        if len(out) == 2:
            out[0].linked, out[1].linked = out[1].id, out[0].id
            self._update("order", out[0].id, linkedId=out[1].id)
            self._update("order", out[1].id, linkedId=out[0].id)
        return out

    def _place_oco(self, ctx: _Ctx, body: Json) -> _Reply:
        if not isinstance(body.get("other"), dict):
            return _violation("other", body.get("other"), "other is required")
        account, contract, version = self._parse_place(ctx, body)
        other_body = {
            **self._legs(body, [body["other"]], contract["id"])[0],
            "isAutomated": body.get("isAutomated", False),
        }
        other_version = _version_fields(other_body)
        first = self._new_order(ctx, account["id"], contract["id"], body, version)
        second = self._new_order(ctx, account["id"], contract["id"], other_body, other_version)
        first.linked, second.linked = second.id, first.id
        self._update("order", first.id, linkedId=second.id)
        self._update("order", second.id, linkedId=first.id, ocoId=first.id)
        self._activate(first)
        if self._status(second) == "Unknown":
            self._activate(second)
        return _Reply(200, {"orderId": first.id, "ocoId": second.id})

    def _start_strategy(self, ctx: _Ctx, body: Json) -> _Reply:
        """orderStrategyTypeId 2 (brackets): params = {entryVersion, brackets:[{qty, profitTarget,
        stopLoss, trailingStop}]} with signed point offsets from the entry fill (§3.6)."""
        try:
            params = json.loads(body.get("params") or "{}")
            entry_version = dict(params["entryVersion"])
            bracket = dict((params.get("brackets") or [{}])[0])
        except (ValueError, TypeError, KeyError):
            return _Reply(200, {"errorText": "params must be a JSON string with entryVersion and brackets"})
        if body.get("orderStrategyTypeId") != 2:
            return _Reply(200, {"errorText": "only orderStrategyTypeId 2 is modelled"})
        entry_body = {
            **entry_version,
            "accountId": body.get("accountId"),
            "accountSpec": body.get("accountSpec"),
            "symbol": body.get("symbol"),
            "action": body.get("action"),
            "isAutomated": True,
        }
        account, contract, version = self._parse_place(ctx, entry_body)
        exit_action = "Sell" if entry_body["action"] == "Buy" else "Buy"
        legs, offsets = [], []
        for offset, order_type in ((bracket.get("profitTarget"), "Limit"), (bracket.get("stopLoss"), "Stop")):
            if isinstance(offset, int | float):
                key = "price" if order_type == "Limit" else "stopPrice"
                legs.append(
                    {
                        "action": exit_action,
                        "orderType": order_type,
                        "orderQty": entry_body["orderQty"],
                        "timeInForce": entry_version.get("timeInForce", "Day"),
                        key: 0.0,
                    }
                )
                offsets.append(float(offset))
        strategy_id = self._new_id()
        strategy = self._put(
            "orderStrategy",
            {
                "id": strategy_id,
                "accountId": account["id"],
                "timestamp": self._stamp(),
                "contractId": contract["id"],
                "orderStrategyTypeId": 2,
                "initiatorId": ctx.user.id,
                "action": entry_body["action"],
                "params": body["params"],
                "uuid": body.get("uuid") or secrets.token_hex(16),
                "status": "InactiveStrategy",
                "senderId": ctx.user.id,
                "userSessionId": ctx.session.id,
                "archived": False,
            },
        )
        if body.get("customTag50"):
            strategy["customTag50"] = body["customTag50"]
        self._update("orderStrategy", strategy_id, status="ActiveStrategy")
        entry = self._new_order(ctx, account["id"], contract["id"], entry_body, version)
        entry.strategy = strategy_id
        leg_orders = self._suspended_legs(ctx, entry, legs, entry_body)
        for leg, offset in zip(leg_orders, offsets, strict=True):
            leg.strategy, leg.offset = strategy_id, offset
        for order, label in [(entry, "256")] + [(leg, "0") for leg in leg_orders]:
            self._put(
                "orderStrategyLink",
                {"id": order.id, "orderStrategyId": strategy_id, "orderId": order.id, "label": label},
            )
        self._activate(entry)
        return _Reply(200, {"orderStrategy": dict(self._store["orderStrategy"][strategy_id])})

    def _interrupt_strategy(self, ctx: _Ctx, body: Json) -> _Reply:
        strategy = self._store["orderStrategy"].get(body.get("orderStrategyId"))  # type: ignore[arg-type,unused-ignore]
        if strategy is None or strategy["accountId"] not in self._user_accounts(ctx):
            return _Reply(200, {"errorText": ACCESS_DENIED})
        if strategy["status"] == "ActiveStrategy":
            self._update("orderStrategy", strategy["id"], status="StoppedByUser")
            for order in sorted(self._orders.values(), key=lambda o: o.id):
                if order.strategy == strategy["id"] and self._status(order) not in TERMINAL:
                    self._finish(order, "Canceled", "Canceled")
        return _Reply(200, {"orderStrategy": dict(strategy)})

    # modify / cancel / liquidate (§3.4) ------------------------------------------------------------
    def _live_order(self, ctx: _Ctx, body: Json) -> _Order:
        order = self._orders.get(body.get("orderId"))  # type: ignore[arg-type,unused-ignore]
        if order is None or order.account_id not in self._user_accounts(ctx):
            raise _Rejected(_failure("UnknownReason", ACCESS_DENIED))
        status = self._status(order)
        if status in TERMINAL:
            raise _Rejected(_failure("TooLate", f"order {order.id} is {status}"))
        return order

    def _modify_order(self, ctx: _Ctx, body: Json) -> _Reply:
        """Modify command + its orderVersion (one id), reports, previous command ExecutionStopped,
        executionReport Replaced (§5.5)."""
        for required in ("orderId", "orderQty", "orderType"):
            if body.get(required) is None:
                return _Reply(400, {"errorText": f"{required} is required"})
        order = self._live_order(ctx, body)
        version = self._check_version({**body, "action": order.action}, order.contract_id, need_qty=True)
        if int(body["orderQty"]) <= order.filled:  # not documented: the order could never complete
            return _failure("UnknownReason", "orderQty must exceed the filled quantity")
        command_id = self._new_id()
        command: Json = {
            "id": command_id,
            "orderId": order.id,
            "timestamp": self._stamp(),
            "commandType": "Modify",
            "commandStatus": "Pending",
            "senderId": ctx.user.id,
            "userSessionId": ctx.session.id,
            "isAutomated": bool(body.get("isAutomated", False)),
        }
        for name in ("clOrdId", "activationTime", "customTag50"):
            if body.get(name) is not None:
                command[name] = body[name]
        self._put("command", command)
        self._put("orderVersion", {"id": command_id, "orderId": order.id, **version})
        self._report(command_id, "RiskPassed")
        at_execution = self._report(command_id, "AtExecution")
        self._report(order.command_id, "ExecutionStopped")
        order.version_id, order.command_id = command_id, command_id
        order.triggered, order.trail = False, None
        if self._status(order) == "Suspended":
            self._update("command", command_id, commandStatus="OnHold")
            return _Reply(200, {"commandId": command_id})
        self._exec_report(order, command_id, "Replaced", at_execution)
        self._evaluate(order, fresh=True)
        return _Reply(200, {"commandId": command_id})

    def _cancel_order(self, ctx: _Ctx, body: Json) -> _Reply:
        order = self._live_order(ctx, body)
        command_id = self._finish(
            order, "Canceled", "Canceled", automated=bool(body.get("isAutomated", False))
        )
        if body.get("clOrdId") is not None:
            self._store["command"][command_id]["clOrdId"] = body["clOrdId"]
        return _Reply(200, {"commandId": command_id})

    def _liquidate(self, ctx: _Ctx, body: Json) -> _Reply:
        for required in ("accountId", "contractId", "admin"):
            if body.get(required) is None:
                return _violation(required, None, f"{required} is required")
        try:
            account_id, contract_id = int(body["accountId"]), int(body["contractId"])
        except (TypeError, ValueError):
            return _violation("contractId", body["contractId"], "accountId/contractId are int64 ids", "type")
        if account_id not in self._user_accounts(ctx) or contract_id not in self._store["contract"]:
            return _failure("UnknownReason", ACCESS_DENIED)
        for order in sorted(self._orders.values(), key=lambda o: o.id):
            if (order.account_id, order.contract_id) == (account_id, contract_id) and self._status(
                order
            ) not in TERMINAL:
                self._finish(order, "Canceled", "Canceled")
        position = self._position(account_id, contract_id)
        net = int(position["netPos"])
        if net == 0:
            return _failure("UnknownReason", "no position to liquidate")
        if contract_id not in self._prices:
            return _failure("NoQuote", "no quote")
        account = self._store["account"][account_id]
        flatten = {
            "accountId": account_id,
            "accountSpec": account["name"],
            "action": "Sell" if net > 0 else "Buy",
            "orderQty": abs(net),
            "isAutomated": True,
        }
        if body.get("customTag50"):
            flatten["customTag50"] = body["customTag50"]
        order = self._new_order(
            ctx,
            account_id,
            contract_id,
            flatten,
            {"orderQty": abs(net), "orderType": "Market", "timeInForce": "Day"},
        )
        self._activate(order)
        return _Reply(200, {"orderId": order.id})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeTradovate/1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, delayed ACKs cost ~40 ms per request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        fake: FakeTradovate = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = fake.handle(method, self.path, headers, raw, self.client_address[0])
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            if payload:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


def seed_demo(fake: FakeTradovate) -> Json:
    """One demo user with one account; returns what a client needs to log in."""
    credentials: Json = {
        "name": "demo",
        "password": "demo-password",
        "appId": "copier",
        "appVersion": "1.0",
        "cid": 8,
        "sec": "demo-secret",
    }
    user_id = fake.add_user(
        credentials["name"],
        credentials["password"],
        app_id=credentials["appId"],
        cid=credentials["cid"],
        sec=credentials["sec"],
    )
    account_id = fake.add_account(user_id, "DEMO0001", balance=50_000)
    return {
        "credentials": credentials,
        "userId": user_id,
        "account": {"id": account_id, "name": "DEMO0001"},
        "contracts": sorted(c["name"] for c in fake.snapshot(user_id)["contracts"]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.brokers.tradovate", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ws-port", type=int, default=0, help="the user-sync websocket's port (0: any)")
    args = parser.parse_args(argv)
    from devstack.brokers.tradovate_ws import FakeTradovateSocket  # websockets: a dev dependency

    fake = FakeTradovate()
    seeded = seed_demo(fake)
    base = fake.start(args.port, args.host)
    socket = FakeTradovateSocket(fake)
    ws_url = socket.start(args.ws_port, args.host)
    print(json.dumps({"baseUrl": base, "wsUrl": ws_url, **seeded}, indent=2), flush=True)
    print(f"POST {base}/auth/accesstokenrequest with the credentials above; Ctrl-C stops.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        socket.stop()
        fake.stop()


if __name__ == "__main__":
    main()
