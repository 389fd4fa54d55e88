"""The broker interface every adapter implements (paper now; Tradovate, ProjectX, Alpaca later).

An adapter is bound to one account. Every call that creates an order carries the copier's
deterministic ``client_order_id``; placing twice with the same id returns the first order and
never creates a second one (the adapter looks the order up before any retry). Errors come in the
two kinds the executor treats differently: ``BrokerRejected`` (a business "no": recorded, never
retried) and ``BrokerUnreachable`` (transient: retried, then the follower is locked).
Positions are signed quantities whatever the broker reports; symbol mapping lives in adapters.

Calls take small command objects (placing takes the ``FollowerOrder`` model), so every adapter
shares one signature per call; ``BROKER_CAPABILITIES`` says what each broker does natively.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol

from pydantic import Field

from tradecopier.domain.enums import BrokerName, Leg, OrderStatus, OrderType, Side
from tradecopier.domain.orders import CancelOrder, FlattenPosition, FollowerOrder, ModifyOrder
from tradecopier.domain.risk.state import AccountSnapshot
from tradecopier.domain.types import Price, StrictModel, Symbol


class BrokerError(Exception):
    """Base of the errors an adapter raises."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BrokerRejected(BrokerError):
    """The broker said no (risk, buying power, invalid order, order not working). Do not retry."""


class BrokerUnreachable(BrokerError):
    """The broker could not be reached or timed out: the outcome is unknown. Retry safely.

    ``retry_after``: the seconds the broker asked us to wait (a 429's ``Retry-After``, Tradovate's
    ``p-time``), else None; the executor honours it (``logic/executor.py``)."""

    retry_after: float | None = None


# --- how long an adapter may wait inline for a wait the broker asked for -------------------------
# The executor sets the allowance around its broker calls (``Delivery.may_wait_inline``: short, and
# within the Lambda invocation's remaining time), so an adapter that could wait out a broker's wait
# and resend (Tradovate's p-ticket) does so only when the invocation can afford it; otherwise it
# raises ``BrokerUnreachable`` with ``retry_after`` and the copy is deferred. Outside the executor
# (connection checks, the listener) no allowance is set: the adapter's own limit alone applies.
_inline_wait: ContextVar[Callable[[float], bool] | None] = ContextVar("inline_wait", default=None)


def may_wait_inline(seconds: float, own_limit: float) -> bool:
    """True when an adapter may sleep ``seconds`` now: within its own limit and the allowance."""
    if not 0 <= seconds <= own_limit:
        return False
    allowance = _inline_wait.get()
    return allowance is None or allowance(seconds)


@contextmanager
def inline_waits(allowance: Callable[[float], bool]) -> Iterator[None]:
    """Adapter calls inside may wait inline only for what ``allowance(seconds)`` accepts."""
    token = _inline_wait.set(allowance)
    try:
        yield
    finally:
        _inline_wait.reset(token)


class BrokerAccessDenied(BrokerError):
    """The broker refused the login (``auth_failed``: wrong credentials, a captcha penalty) or does
    not know the account (``account_not_found``). Neither a business "no" about one order nor
    transient: retrying would only add failed logins (Tradovate locks an IP out for about an hour
    after a few), so the executor locks the follower at once with ``"<code>: <reason>"``."""

    def __init__(self, reason: str, *, code: str = "auth_failed") -> None:
        super().__init__(reason)
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class BrokerOrder(StrictModel):
    """An order as the broker reports it (API.md ``GET /accounts/{id}/orders``)."""

    broker_order_id: str
    client_order_id: str
    symbol: Symbol
    side: Side
    qty: int
    order_type: OrderType
    limit_price: Price | None = None
    stop_price: Price | None = None
    status: OrderStatus
    fill_price: Price | None = None
    reject_reason: str | None = None
    parent_order_id: str | None = Field(
        default=None, description="for a bracket leg: the broker_order_id of its entry; else null"
    )
    leg: Leg | None = Field(default=None, description="take_profit or stop_loss for a bracket leg; else null")


class BracketOrders(StrictModel):
    """An entry and the legs placed with it (a leg the bracket did not ask for is ``None``)."""

    entry: BrokerOrder
    take_profit: BrokerOrder | None = None
    stop_loss: BrokerOrder | None = None


class BrokerPosition(StrictModel):
    symbol: Symbol
    qty: int = Field(description="signed: long > 0, short < 0")
    avg_price: Price | None = None


class FlattenResult(StrictModel):
    cancelled_order_ids: list[str]
    closing_order: BrokerOrder | None


def bracket_leg_client_order_id(entry_client_order_id: str, leg: Leg) -> str:
    """The deterministic client order id of a bracket leg: the entry's plus ``:tp`` or ``:sl``."""
    return f"{entry_client_order_id}:{'tp' if leg is Leg.TAKE_PROFIT else 'sl'}"


class BrokerAccount(Protocol):
    """One account at one broker. Synchronous: the executor copies one record at a time, in order."""

    account_id: str

    def place(self, order: FollowerOrder) -> BrokerOrder:
        """Places ``order``; idempotent on ``order.client_order_id``. With ``order.bracket`` set it
        may place the bracket (``place_bracket``) and return the entry."""
        ...

    def place_bracket(self, order: FollowerOrder) -> BracketOrders:
        """Places the entry ``order`` with the OCO legs of ``order.bracket``, atomically; idempotent
        on the entry's client order id (a retry returns the same orders). Legs carry client order
        ids derived from the entry's (``bracket_leg_client_order_id``)."""
        ...

    def modify(self, command: ModifyOrder) -> BrokerOrder:
        """Changes a working order. May return a new ``broker_order_id`` (cancel/replace brokers)."""
        ...

    def cancel(self, command: CancelOrder) -> BrokerOrder:
        """Cancels a working order; cancelling an already cancelled order returns it unchanged."""
        ...

    def flatten(self, command: FlattenPosition) -> FlattenResult:
        """Cancels working orders in the symbol and closes the position with a market order;
        idempotent on ``command.client_order_id``."""
        ...

    def mark(self, symbol: str, price: Decimal) -> list[BrokerOrder]:
        """The market price of ``symbol`` is now ``price``: a simulating broker fills the working
        orders it crosses and returns them; a real broker has its own market and returns ``[]``."""
        ...

    def positions(self) -> list[BrokerPosition]: ...

    def position(self, symbol: str) -> BrokerPosition:
        """The position in ``symbol`` (qty 0 and no average when flat), in one read."""
        ...

    def snapshot(self) -> AccountSnapshot:
        """Balance, unrealized P&L at the latest prices, fees and positions, for the risk engine."""
        ...

    def orders(self) -> list[BrokerOrder]: ...

    def find_by_client_order_id(self, client_order_id: str) -> BrokerOrder | None: ...


@dataclass(frozen=True, slots=True)
class BrokerCapabilities:
    """What a broker does natively, so callers choose a strategy without asking the adapter.

    - ``native_brackets``: the broker attaches take-profit / stop-loss legs to an entry and keeps
      them one-cancels-other server-side; without it the copier has to manage the legs itself.
    - ``modify_in_place``: a modify keeps the order's id; without it a modify is a cancel/replace
      and returns a new ``broker_order_id`` (the executor re-links the copy either way).
    - ``lookup_by_client_order_id``: the adapter can find an order by the copier's client order id
      (the exactly-once check before retrying a place whose answer was lost).
    - ``simulated_market``: the broker has no market of its own; ``mark`` is its market price, and
      fills what it crosses. Real brokers: False (their ``mark`` is a no-op).

    What the real adapters will declare, from ``BROKERS.md`` and the broker notes:

    - ProjectX: native brackets True (``stopLossBracket`` / ``takeProfitBracket`` on
      ``Order/place``, signed tick offsets from the fill, one TP leg, only with the account in
      Auto OCO Brackets mode); modify in place True (``Order/modify`` changes size and prices
      of the same ``orderId``); lookup True (``customTag`` is unique per account, a reused tag is
      refused, and ``Order/search`` returns it on each order: the adapter searches and matches).
    - Tradovate: native brackets True (``placeOSO`` with ``bracket1`` / ``bracket2`` at absolute
      prices, legs OCO-linked once the entry fills; order strategies for point offsets); modify in
      place True (``modifyorder`` adds a new ``orderVersion`` to the same ``orderId``, as recorded
      frames show; BROKERS.md notes it may answer before applying, unverified, so the adapter
      confirms the new version rather than trusting the answer); lookup True, only by
      reconciliation: ``clOrdId`` is a tag with no server dedupe and is not on the ``Order``
      entity, so the adapter tags orders (``text`` is echoed on ``orderVersion``) and looks them up
      through ``order/list`` or the sync stream.
    """

    native_brackets: bool
    modify_in_place: bool
    lookup_by_client_order_id: bool
    simulated_market: bool = False


BROKER_CAPABILITIES: Mapping[BrokerName, BrokerCapabilities] = MappingProxyType(
    {
        # Paper modifies in place, finds orders by their claim, keeps bracket legs OCO and fills
        # at the prices it is marked with.
        BrokerName.PAPER: BrokerCapabilities(
            native_brackets=True,
            modify_in_place=True,
            lookup_by_client_order_id=True,
            simulated_market=True,
        ),
        # stopLossBracket / takeProfitBracket in signed ticks (Auto OCO mode); Order/modify keeps
        # the orderId; lookup by customTag through Order/search.
        BrokerName.PROJECTX: BrokerCapabilities(
            native_brackets=True,
            modify_in_place=True,
            lookup_by_client_order_id=True,
        ),
        # placeOSO legs OCO once the entry fills; modifyorder adds a version to the same order;
        # lookup by reconciliation (orderVersion.text carries the client order id).
        BrokerName.TRADOVATE: BrokerCapabilities(
            native_brackets=True,
            modify_in_place=True,
            lookup_by_client_order_id=True,
        ),
    }
)
