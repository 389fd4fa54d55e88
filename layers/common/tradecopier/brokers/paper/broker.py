"""The paper broker: a complete ``BrokerAccount`` whose state lives in DynamoDB.

It backs paper followers in tests and on the local stack, and is a paper-trading mode on AWS.
Rules (what a simple futures broker does, with the market it is told about through ``mark``):

- ``mark(symbol, price)`` stores ``price`` as the symbol's latest market price and fills every
  working order it crosses, at the order's own price (``market.py``, pure); a stop-limit it
  triggers rests as a limit. It repeats until no working order is crossed, so the legs an entry's
  fill releases are checked against the same price. Orders rest until a mark: placing a limit
  or stop never fills it against an earlier mark. Its store calls: the mark's write and one read
  of the symbol (working orders and position), plus a transaction per fill; a market order right
  after it fills against the position that read found (one transaction, no read of its own).
- Market orders fill at once, in full. The fill price is the order's ``reference_price``; without
  one, the symbol's latest mark, else the last fill price seen in that symbol, else the
  position's average price, else unknown (``None``); an unknown price never stops a fill, so
  quantities stay right and only the average price becomes unknown. A flatten closes at the
  latest mark, else the last fill price, else the average price.
- Brackets (``place_bracket``): the entry, a take-profit ``limit`` and a stop-loss ``stop`` on the
  opposite side for ``bracket.qty``, written in one transaction. A leg of an entry that has not
  filled is *held*: it shows as ``working`` in ``orders()`` (with ``parent_order_id`` and ``leg``;
  a held leg is a working leg whose parent is still working) and can be modified or cancelled,
  but no price fills it. The entry's fill releases its legs in the same transaction (a market
  entry fills when placed, so its legs are working at once); a leg's fill cancels its sibling in
  the same transaction; cancelling a working entry cancels its legs with it; a flatten cancels
  them with every other working order in the symbol.
- Positions are signed, with the standard futures average price; every reducing fill realizes
  P&L at the symbol's point value, added to the account's cumulative realized P&L in the fill's
  transaction (``fills.py``, pure). ``snapshot()``: balance = starting balance (a constructor
  parameter, default 50000) + realized P&L, no fees; unrealized P&L at the latest marks.
- One client order id gives one order, whoever races: the order and the claim of its client
  order id are written in one transaction, and a loser reads the winner's order back.
- Modify changes a working order in place (same ``broker_order_id``; paper is not cancel/replace).
- ``simulate=reject``: a place is recorded as a ``rejected`` order (as a real broker shows it,
  so ``GET /accounts/{id}/orders`` lists it) and raises ``BrokerRejected``; modify, cancel and
  flatten raise ``BrokerRejected`` and change nothing; a bracket is recorded as its rejected entry
  alone. Marks still apply (a rejecting broker still has a market): working orders fill.
  ``simulate=disconnect``: every order-changing call and ``mark``, ``position`` and ``snapshot``
  raise ``BrokerUnreachable`` and record nothing; ``positions``, ``orders`` and
  ``find_by_client_order_id`` still answer, so the account stays inspectable during the rehearsal.
- Fault injection: ``after_accept`` is called with the order an order-changing call is about to
  return (place, a bracket's entry, modify, cancel, and a flatten's closing order), after the state
  is committed; never for the fills of a mark.
  A hook that raises ``BrokerUnreachable`` rehearses "the broker accepted it, then the response
  was lost"; it runs on idempotent replays too, so make it fail only as often as wanted.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import ValidationError

from tradecopier.brokers.base import (
    BracketOrders,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerUnreachable,
    FlattenResult,
    bracket_leg_client_order_id,
)
from tradecopier.brokers.paper.fills import PaperPosition, apply_fill, realized_pnl
from tradecopier.brokers.paper.market import account_figures, cross
from tradecopier.brokers.paper.store import (
    MAX_CANCELS_PER_TRANSACTION,
    ClaimItem,
    ClaimKind,
    ClientOrderIdTaken,
    MarkItem,
    OrderNotWorking,
    PaperOrderItem,
    PaperStore,
    PaperStoreUnavailable,
    SymbolBook,
    WriteConflict,
)
from tradecopier.domain.enums import Leg, OrderStatus, OrderType, Side, Simulate
from tradecopier.domain.orders import (
    CancelOrder,
    FlattenPosition,
    FollowerOrder,
    ModifyOrder,
    price_rule_violation,
)
from tradecopier.domain.risk.state import AccountSnapshot

SIMULATED_REJECTION = "simulated rejection (simulate=reject)"
SIMULATED_DISCONNECT = "simulated disconnect (simulate=disconnect)"

# Optimistic concurrency: a write that lost a race re-reads and tries again, with a short jittered
# pause. Giving up is transient (BrokerUnreachable): the executor retries the whole copy.
_MAX_ATTEMPTS = 25
_MAX_PAUSE_MS = 200
DEFAULT_STARTING_BALANCE = Decimal(50000)


def new_broker_order_id() -> str:
    """``P-`` + 10 base32 characters (50 random bits)."""
    return "P-" + base64.b32encode(secrets.token_bytes(7)).decode("ascii")[:10]


def _to_broker_order(item: PaperOrderItem) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id=item.broker_order_id,
        client_order_id=item.client_order_id,
        symbol=item.symbol,
        side=item.side,
        qty=item.qty,
        order_type=item.order_type,
        limit_price=item.limit_price,
        stop_price=item.stop_price,
        status=item.status,
        fill_price=item.fill_price,
        reject_reason=item.reject_reason,
        parent_order_id=item.parent_order_id,
        leg=item.leg,
    )


def _not_working(broker_order_id: str, current: PaperOrderItem | None, action: str) -> BrokerRejected:
    if current is None:
        return BrokerRejected(f"order {broker_order_id} not found")
    return BrokerRejected(f"order {broker_order_id} is {current.status}, cannot {action}")


def _validate_modify(current: PaperOrderItem, command: ModifyOrder) -> None:
    qty, limit_price, stop_price = command.qty, command.limit_price, command.stop_price
    takes_limit = current.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    takes_stop = current.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    name = current.broker_order_id
    if limit_price is not None and not takes_limit:
        raise BrokerRejected(f"order {name} is a {current.order_type} order, it takes no limit_price")
    if stop_price is not None and not takes_stop:
        raise BrokerRejected(f"order {name} is a {current.order_type} order, it takes no stop_price")
    if qty is not None and qty < 1:
        raise BrokerRejected(f"order {name} cannot be modified to qty {qty}")
    changed = {"qty": qty, "limit_price": limit_price, "stop_price": stop_price}
    try:  # the new prices must be ones an order can carry (positive, at most 8 decimals)
        BrokerOrder.model_validate(
            {
                **_to_broker_order(current).model_dump(),
                **{key: value for key, value in changed.items() if value is not None},
            }
        )
    except ValidationError as error:
        raise BrokerRejected(f"order {name} cannot be modified: {error.errors()[0]['msg']}") from error


def _utc_now() -> str:
    # Fixed-width UTC ISO 8601: sorts as text, which is how orders() puts the newest first.
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _attempts() -> Iterator[int]:
    for attempt in range(_MAX_ATTEMPTS):
        if attempt:
            time.sleep(secrets.randbelow(min(_MAX_PAUSE_MS, 5 * 2**attempt)) / 1000)
        yield attempt


@contextmanager
def _store_reachable() -> Iterator[None]:
    try:
        yield
    except PaperStoreUnavailable as error:
        raise BrokerUnreachable(f"paper broker store unavailable: {error}") from error


class PaperBroker:
    """One paper account (see the module docstring for the rules it plays by)."""

    def __init__(
        self,
        account_id: str,
        store: PaperStore,
        *,
        simulate: Simulate | None = None,
        after_accept: Callable[[BrokerOrder], None] | None = None,
        starting_balance: Decimal = DEFAULT_STARTING_BALANCE,
    ) -> None:
        self.account_id = account_id
        self.simulate = simulate
        self.starting_balance = starting_balance
        self._store = store
        self._after_accept = after_accept
        # symbol -> the position the last mark read, taken by the next place in the symbol: a market
        # order fills against it without a read of its own. The one state an instance keeps, and
        # never trusted: the fill is written only at its version (a changed position: read again).
        self._positions_read: dict[str, PaperPosition] = {}

    # --- order-changing calls ------------------------------------------------------------------

    def place(self, order: FollowerOrder) -> BrokerOrder:
        """Places ``order``; the same ``client_order_id`` again returns the first order (and raises
        ``BrokerRejected`` again if that one was rejected). With ``order.bracket``, places the
        bracket and returns its entry."""
        return self._place(order).entry

    def place_bracket(self, order: FollowerOrder) -> BracketOrders:
        """Places the entry ``order`` with the legs of ``order.bracket`` (none without one) in one
        transaction; the entry's ``client_order_id`` again returns the same orders. Leg client
        order ids are the entry's plus ``:tp`` / ``:sl``."""
        return self._place(order)

    def _place(self, order: FollowerOrder) -> BracketOrders:
        self._refuse_if_disconnected()
        if order.account_id != self.account_id:
            raise BrokerRejected(f"order for account {order.account_id} sent to account {self.account_id}")
        reject_reason = (
            SIMULATED_REJECTION
            if self.simulate is Simulate.REJECT
            else price_rule_violation(order.order_type, order.limit_price, order.stop_price)
        )
        # The position the last mark read, for this order only (a limit or stop drops it too)
        known = self._positions_read.pop(order.symbol, None)
        with _store_reachable():
            for _ in _attempts():
                position: PaperPosition | None = None
                filled: PaperPosition | None = None
                realized = Decimal(0)
                legs: list[PaperOrderItem] = []
                if reject_reason is not None:
                    item = self._new_order(order, OrderStatus.REJECTED, reject_reason=reject_reason)
                elif order.order_type is OrderType.MARKET:
                    position = known or self._store.get_position(self.account_id, order.symbol)
                    known = None  # a retry after a conflict reads it again
                    price = order.reference_price or self._market_price(position)
                    item = self._new_order(order, OrderStatus.FILLED, fill_price=price)
                    filled = apply_fill(position, order.side, order.qty, price)
                    realized = realized_pnl(position, order.side, order.qty, price)
                else:
                    item = self._new_order(order, OrderStatus.WORKING)
                if reject_reason is None:
                    item, legs = _with_legs(item, order)
                try:
                    self._store.add_order(
                        self.account_id,
                        item,
                        legs=legs,
                        position=filled,
                        expected_version=position.version if position is not None else 0,
                        realized_pnl=realized,
                    )
                except ClientOrderIdTaken:
                    return self._bracket_claimed_by(order.client_order_id)
                except WriteConflict:
                    continue
                return self._bracket(item, legs)
        raise self._busy(order.symbol)

    def modify(self, command: ModifyOrder) -> BrokerOrder:
        """Changes a working order in place; the id stays the same. Setting absolute values makes a
        retried modify harmless, so ``command.client_order_id`` is only recorded on the order."""
        self._refuse_if_simulated()
        broker_order_id = command.broker_order_id
        with _store_reachable():
            current = self._store.get_order(self.account_id, broker_order_id)
            if current is None or current.status is not OrderStatus.WORKING:
                raise _not_working(broker_order_id, current, "modify")
            _validate_modify(current, command)
            try:
                item = self._store.modify_order(self.account_id, command, updated_at=_utc_now())
            except OrderNotWorking as lost_race:  # filled or cancelled since it was read
                raise _not_working(broker_order_id, lost_race.current, "modify") from lost_race
        return self._accepted(_to_broker_order(item))

    def cancel(self, command: CancelOrder) -> BrokerOrder:
        """Working → cancelled, with the legs of a bracket entry; an already cancelled order is
        returned as it is."""
        self._refuse_if_simulated()
        broker_order_id = command.broker_order_id
        with _store_reachable():
            for _ in _attempts():
                try:
                    item = self._cancel_once(broker_order_id)
                except WriteConflict:
                    continue  # a leg changed under us: read the bracket again
                except OrderNotWorking as not_working:
                    current = not_working.current
                    if current is None or current.status is not OrderStatus.CANCELLED:
                        raise _not_working(broker_order_id, current, "cancel") from not_working
                    item = current
                return self._accepted(_to_broker_order(item))
        raise BrokerUnreachable(f"paper broker: order {broker_order_id} kept changing, try again")

    def _cancel_once(self, broker_order_id: str) -> PaperOrderItem:
        current = self._store.get_order(self.account_id, broker_order_id)
        if current is None or not current.leg_order_ids or current.status is not OrderStatus.WORKING:
            return self._store.cancel_order(self.account_id, broker_order_id, updated_at=_utc_now())
        legs = [self._store.get_order(self.account_id, leg_id) for leg_id in current.leg_order_ids]
        working_legs = [
            leg.broker_order_id for leg in legs if leg is not None and leg.status is OrderStatus.WORKING
        ]
        return self._store.cancel_entry(self.account_id, broker_order_id, working_legs, updated_at=_utc_now())

    def flatten(self, command: FlattenPosition) -> FlattenResult:
        """Cancels every working order in the symbol and closes the position with a market order
        carrying the command's client order id, all in one transaction; a retried flatten returns
        the first result and never closes twice. The closing fill price is the symbol's latest
        mark, else the last fill price seen in it, else the position's average price."""
        self._refuse_if_simulated()
        symbol, client_order_id = command.symbol, command.client_order_id
        cancelled_early: list[str] = []
        with _store_reachable():
            for _ in _attempts():
                claim = self._store.get_claim(self.account_id, client_order_id)
                if claim is not None:
                    return self._replay_flatten(claim)
                working = [
                    item.broker_order_id for item in self._store.list_working_orders(self.account_id, symbol)
                ]
                # More than fit in one transaction: cancel the excess first, one by one.
                while len(working) > MAX_CANCELS_PER_TRANSACTION:
                    broker_order_id = working.pop()
                    try:
                        self._store.cancel_order(self.account_id, broker_order_id, updated_at=_utc_now())
                    except OrderNotWorking:
                        continue
                    cancelled_early.append(broker_order_id)
                position = self._store.get_position(self.account_id, symbol)
                closing: PaperOrderItem | None = None
                try:
                    if position.qty == 0:
                        self._store.record_flat_flatten(
                            self.account_id,
                            client_order_id,
                            position=position,
                            cancel_order_ids=working,
                            already_cancelled_ids=cancelled_early,
                            updated_at=_utc_now(),
                        )
                    else:
                        side = Side.SELL if position.qty > 0 else Side.BUY
                        price = self._market_price(position)
                        closing = PaperOrderItem(
                            broker_order_id=new_broker_order_id(),
                            client_order_id=client_order_id,
                            symbol=symbol,
                            side=side,
                            qty=abs(position.qty),
                            order_type=OrderType.MARKET,
                            status=OrderStatus.FILLED,
                            created_at=_utc_now(),
                            fill_price=price,
                        )
                        self._store.add_order(
                            self.account_id,
                            closing,
                            position=apply_fill(position, side, abs(position.qty), price),
                            expected_version=position.version,
                            realized_pnl=realized_pnl(position, side, abs(position.qty), price),
                            claim_kind=ClaimKind.FLATTEN,
                            cancel_order_ids=working,
                            already_cancelled_ids=cancelled_early,
                        )
                except (ClientOrderIdTaken, WriteConflict):
                    continue  # re-read: the claim (a concurrent flatten won) or the changed state
                closing_order = None if closing is None else self._accepted(_to_broker_order(closing))
                return FlattenResult(
                    cancelled_order_ids=[*cancelled_early, *working], closing_order=closing_order
                )
        raise self._busy(symbol)

    # --- the market --------------------------------------------------------------------------

    def mark(self, symbol: str, price: Decimal) -> list[BrokerOrder]:
        """``price`` is now the market price of ``symbol``: stores it, then fills every working
        order it crosses (one transaction per fill) until none is left; returns those fills, in
        the order they happened. A fill that loses a race to a place, modify, cancel or another
        mark is re-read and re-judged, never written twice."""
        self._refuse_if_disconnected()
        if not price.is_finite() or price <= 0:
            raise BrokerRejected(f"cannot mark {symbol} at {price}: a price is positive")
        filled: list[BrokerOrder] = []
        with _store_reachable():
            self._store.put_mark(self.account_id, MarkItem(symbol=symbol, price=price, marked_at=_utc_now()))
            conflicts = 0
            while conflicts < _MAX_ATTEMPTS:
                book = self._store.symbol_book(self.account_id, symbol)
                try:
                    step = self._mark_step(book, price)
                except WriteConflict:
                    conflicts += 1
                    time.sleep(secrets.randbelow(min(_MAX_PAUSE_MS, 5 * 2**conflicts)) / 1000)
                    continue
                if step is None:
                    self._positions_read[symbol] = book.position
                    return filled
                if step.status is OrderStatus.FILLED:
                    filled.append(_to_broker_order(step))
        raise self._busy(symbol)

    def _mark_step(self, book: SymbolBook, price: Decimal) -> PaperOrderItem | None:
        """Fills (or triggers) the first working order of ``book`` that ``price`` crosses and
        returns it; ``None`` when it crosses none. Raises ``WriteConflict`` when something changed
        since ``book`` was read."""
        working = sorted(book.working, key=lambda item: (item.created_at, item.broker_order_id))
        for item in working:
            if not item.can_fill:
                continue
            crossing = cross(
                item.side,
                item.order_type,
                price,
                limit_price=item.limit_price,
                stop_price=item.stop_price,
                triggered=item.triggered,
            )
            if crossing.fill_price is not None:
                working_ids = {order.broker_order_id for order in working}
                return self._fill(item, crossing.fill_price, book.position, working_ids)
            if crossing.triggers:
                self._store.trigger_order(self.account_id, item, updated_at=_utc_now())
                return replace(item, triggered=True)
        return None

    def _fill(
        self, item: PaperOrderItem, fill_price: Decimal, position: PaperPosition, working_ids: set[str]
    ) -> PaperOrderItem:
        sibling = item.sibling_order_id
        return self._store.fill_order(
            self.account_id,
            item,
            fill_price=fill_price,
            position=apply_fill(position, item.side, item.qty, fill_price),
            expected_version=position.version,
            realized_pnl=realized_pnl(position, item.side, item.qty, fill_price),
            cancel_order_ids=[sibling] if sibling is not None and sibling in working_ids else [],
            release_order_ids=[leg for leg in item.leg_order_ids if leg in working_ids],
            updated_at=_utc_now(),
        )

    # --- reads ---------------------------------------------------------------------------------

    def position(self, symbol: str) -> BrokerPosition:
        """The position in ``symbol``; qty 0 and no average when flat. One read."""
        self._refuse_if_disconnected()
        with _store_reachable():
            item = self._store.get_position(self.account_id, symbol)
        return BrokerPosition(
            symbol=symbol, qty=item.qty, avg_price=item.avg_price if item.qty != 0 else None
        )

    def snapshot(self) -> AccountSnapshot:
        """Balance (starting balance + realized P&L), unrealized P&L at the latest marks (at the
        last fill price for a symbol never marked), no fees, and the open positions."""
        self._refuse_if_disconnected()
        with _store_reachable():
            positions = self._store.list_positions(self.account_id)
            marks = {mark.symbol: mark.price for mark in self._store.list_marks(self.account_id)}
            realized = self._store.get_realized_pnl(self.account_id)
        figures = account_figures(self.starting_balance, realized, positions, marks)
        return AccountSnapshot(
            balance=figures.balance,
            unrealized_pnl=figures.unrealized_pnl,
            fees=Decimal(0),
            positions=figures.positions,
        )

    def positions(self) -> list[BrokerPosition]:
        """Open positions (signed, non-zero), by symbol."""
        with _store_reachable():
            items = self._store.list_positions(self.account_id)
        return [
            BrokerPosition(symbol=item.symbol, qty=item.qty, avg_price=item.avg_price)
            for item in items
            if item.qty != 0
        ]

    def orders(self) -> list[BrokerOrder]:
        """Every order of the account, newest first."""
        with _store_reachable():
            items = self._store.list_orders(self.account_id)
        items.sort(key=lambda item: (item.created_at, item.broker_order_id), reverse=True)
        return [_to_broker_order(item) for item in items]

    def find_by_client_order_id(self, client_order_id: str) -> BrokerOrder | None:
        with _store_reachable():
            claim = self._store.get_claim(self.account_id, client_order_id)
            if claim is None or claim.broker_order_id is None:
                return None
            item = self._store.get_order(self.account_id, claim.broker_order_id)
        return None if item is None else _to_broker_order(item)

    # --- helpers -------------------------------------------------------------------------------

    def _new_order(
        self,
        order: FollowerOrder,
        status: OrderStatus,
        *,
        fill_price: Decimal | None = None,
        reject_reason: str | None = None,
    ) -> PaperOrderItem:
        return PaperOrderItem(
            broker_order_id=new_broker_order_id(),  # new on every attempt: a collision is retried
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            order_type=order.order_type,
            status=status,
            created_at=_utc_now(),
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            fill_price=fill_price,
            reject_reason=reject_reason,
        )

    def _market_price(self, position: PaperPosition) -> Decimal | None:
        """What a market order without a reference price fills at: the latest mark, else the
        last fill price, else the average price, else unknown."""
        mark = self._store.get_mark(self.account_id, position.symbol)
        if mark is not None:
            return mark.price
        return position.last_fill_price or position.avg_price

    def _bracket(self, entry: PaperOrderItem, legs: list[PaperOrderItem]) -> BracketOrders:
        by_leg = {leg.leg: _to_broker_order(leg) for leg in legs}
        return BracketOrders(
            entry=self._accepted(_to_broker_order(entry)),
            take_profit=by_leg.get(Leg.TAKE_PROFIT),
            stop_loss=by_leg.get(Leg.STOP_LOSS),
        )

    def _bracket_claimed_by(self, client_order_id: str) -> BracketOrders:
        """The orders a claimed client order id placed (an entry with its legs, or one order)."""
        claim = self._store.get_claim(self.account_id, client_order_id)
        if claim is None:  # the entry's id is free, so a leg's was taken
            raise BrokerRejected(
                f"the client order id of a leg of {client_order_id} is already used by another order"
            )
        entry = self._claimed_item(claim)
        legs = [self._store.get_order(self.account_id, leg_id) for leg_id in entry.leg_order_ids]
        if any(leg is None for leg in legs):
            raise BrokerUnreachable(f"a leg of order {entry.broker_order_id} is missing")
        return self._bracket(entry, [leg for leg in legs if leg is not None])

    def _claimed_item(self, claim: ClaimItem) -> PaperOrderItem:
        client_order_id = claim.client_order_id
        if claim.broker_order_id is None:
            raise BrokerRejected(
                f"client_order_id {client_order_id} was used by a flatten that placed no order"
            )
        item = self._store.get_order(self.account_id, claim.broker_order_id)
        if item is None:  # the claim and its order are written together; this is a damaged table
            raise BrokerUnreachable(
                f"order {claim.broker_order_id} of client_order_id {client_order_id} missing"
            )
        return item

    def _order_claimed_by(self, client_order_id: str) -> BrokerOrder:
        claim = self._store.get_claim(self.account_id, client_order_id)
        if claim is None:
            raise BrokerRejected(
                f"client_order_id {client_order_id} was used by a flatten that placed no order"
            )
        return _to_broker_order(self._claimed_item(claim))

    def _replay_flatten(self, claim: ClaimItem) -> FlattenResult:
        if claim.kind is not ClaimKind.FLATTEN:
            raise BrokerRejected(
                f"client_order_id {claim.client_order_id} is already used by order {claim.broker_order_id}"
            )
        closing = None if claim.broker_order_id is None else self._order_claimed_by(claim.client_order_id)
        return FlattenResult(
            cancelled_order_ids=list(claim.cancelled_order_ids),
            closing_order=None if closing is None else self._accepted(closing),
        )

    def _accepted(self, order: BrokerOrder) -> BrokerOrder:
        if order.status is OrderStatus.REJECTED:
            raise BrokerRejected(order.reject_reason or f"order {order.broker_order_id} was rejected")
        if self._after_accept is not None:
            self._after_accept(order)
        return order

    def _refuse_if_disconnected(self) -> None:
        if self.simulate is Simulate.DISCONNECT:
            raise BrokerUnreachable(SIMULATED_DISCONNECT)

    def _refuse_if_simulated(self) -> None:
        self._refuse_if_disconnected()
        if self.simulate is Simulate.REJECT:
            raise BrokerRejected(SIMULATED_REJECTION)

    @staticmethod
    def _busy(symbol: str) -> BrokerUnreachable:
        return BrokerUnreachable(f"paper broker: {symbol} kept changing under concurrent orders, try again")


def _with_legs(entry: PaperOrderItem, order: FollowerOrder) -> tuple[PaperOrderItem, list[PaperOrderItem]]:
    """The entry linked to the legs of ``order.bracket`` (none without one): held until the entry
    fills, working at once when it already has (a market entry)."""
    bracket = order.bracket
    if bracket is None:
        return entry, []
    held = entry.status is not OrderStatus.FILLED
    terms = [
        (Leg.TAKE_PROFIT, OrderType.LIMIT, bracket.take_profit, None),
        (Leg.STOP_LOSS, OrderType.STOP, None, bracket.stop_loss),
    ]
    legs = [
        PaperOrderItem(
            broker_order_id=new_broker_order_id(),
            client_order_id=bracket_leg_client_order_id(entry.client_order_id, leg),
            symbol=entry.symbol,
            side=entry.side.opposite,
            qty=bracket.qty,
            order_type=order_type,
            status=OrderStatus.WORKING,
            created_at=_utc_now(),
            limit_price=limit_price,
            stop_price=stop_price,
            parent_order_id=entry.broker_order_id,
            leg=leg,
            held=held,
        )
        for leg, order_type, limit_price, stop_price in terms
        if (limit_price or stop_price) is not None
    ]
    if len(legs) == 2:  # one cancels the other
        legs = [
            replace(legs[0], sibling_order_id=legs[1].broker_order_id),
            replace(legs[1], sibling_order_id=legs[0].broker_order_id),
        ]
    return replace(entry, leg_order_ids=tuple(leg.broker_order_id for leg in legs)), legs
