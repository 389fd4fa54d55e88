"""The paper broker: a complete ``BrokerAccount`` whose state lives in DynamoDB.

It backs paper followers in tests and on the local stack, and is a paper-trading mode on AWS.
Rules (what a simple futures broker does, without market data):

- Market orders fill at once, in full. The fill price is the order's ``reference_price``; without
  one, the last fill price seen in that symbol, else the position's average price, else unknown
  (``None``). Paper has no market data, so there is nothing better to fill at; an unknown price
  never stops a fill, so quantities stay right and only the average price becomes unknown.
- Limit, stop and stop-limit orders rest as ``working`` and never fill on their own.
- Positions are signed, with the standard futures average price (``fills.py``, pure).
- One client order id gives one order, whoever races: the order and the claim of its client
  order id are written in one transaction, and a loser reads the winner's order back.
- Modify changes a working order in place (same ``broker_order_id``; paper is not cancel/replace).
- ``simulate=reject``: a place is recorded as a ``rejected`` order (as a real broker shows it,
  so ``GET /accounts/{id}/orders`` lists it) and raises ``BrokerRejected``; modify, cancel and
  flatten raise ``BrokerRejected`` and change nothing. ``simulate=disconnect``: every
  order-changing call raises ``BrokerUnreachable`` and records nothing. Reads always work.
- Fault injection: ``after_accept`` is called with the order an order-changing call is about to
  return (place, modify, cancel, and a flatten's closing order), after the state is committed.
  A hook that raises ``BrokerUnreachable`` rehearses "the broker accepted it, then the response
  was lost"; it runs on idempotent replays too, so make it fail only as often as wanted.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import ValidationError

from tradecopier.brokers.base import (
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerUnreachable,
    FlattenResult,
)
from tradecopier.brokers.paper.fills import PaperPosition, apply_fill
from tradecopier.brokers.paper.store import (
    MAX_CANCELS_PER_TRANSACTION,
    ClaimItem,
    ClaimKind,
    ClientOrderIdTaken,
    OrderNotWorking,
    PaperOrderItem,
    PaperStore,
    PaperStoreUnavailable,
    WriteConflict,
)
from tradecopier.domain.enums import OrderStatus, OrderType, Side, Simulate
from tradecopier.domain.orders import (
    CancelOrder,
    FlattenPosition,
    FollowerOrder,
    ModifyOrder,
    price_rule_violation,
)

SIMULATED_REJECTION = "simulated rejection (simulate=reject)"
SIMULATED_DISCONNECT = "simulated disconnect (simulate=disconnect)"

# Optimistic concurrency: a write that lost a race re-reads and tries again, with a short jittered
# pause. Giving up is transient (BrokerUnreachable): the executor retries the whole copy.
_MAX_ATTEMPTS = 25
_MAX_PAUSE_MS = 200


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
    ) -> None:
        self.account_id = account_id
        self.simulate = simulate
        self._store = store
        self._after_accept = after_accept

    # --- order-changing calls ------------------------------------------------------------------

    def place(self, order: FollowerOrder) -> BrokerOrder:
        """Places ``order``; the same ``client_order_id`` again returns the first order (and raises
        ``BrokerRejected`` again if that one was rejected)."""
        self._refuse_if_disconnected()
        if order.account_id != self.account_id:
            raise BrokerRejected(f"order for account {order.account_id} sent to account {self.account_id}")
        reject_reason = (
            SIMULATED_REJECTION
            if self.simulate is Simulate.REJECT
            else price_rule_violation(order.order_type, order.limit_price, order.stop_price)
        )
        with _store_reachable():
            for _ in _attempts():
                position: PaperPosition | None = None
                filled: PaperPosition | None = None
                if reject_reason is not None:
                    item = self._new_order(order, OrderStatus.REJECTED, reject_reason=reject_reason)
                elif order.order_type is OrderType.MARKET:
                    position = self._store.get_position(self.account_id, order.symbol)
                    price = order.reference_price or position.last_fill_price or position.avg_price
                    item = self._new_order(order, OrderStatus.FILLED, fill_price=price)
                    filled = apply_fill(position, order.side, order.qty, price)
                else:
                    item = self._new_order(order, OrderStatus.WORKING)
                try:
                    self._store.add_order(
                        self.account_id,
                        item,
                        position=filled,
                        expected_version=position.version if position is not None else 0,
                    )
                except ClientOrderIdTaken:
                    return self._accepted(self._order_claimed_by(order.client_order_id))
                except WriteConflict:
                    continue
                return self._accepted(_to_broker_order(item))
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
        """Working → cancelled; an already cancelled order is returned as it is."""
        self._refuse_if_simulated()
        broker_order_id = command.broker_order_id
        with _store_reachable():
            try:
                item = self._store.cancel_order(self.account_id, broker_order_id, updated_at=_utc_now())
            except OrderNotWorking as not_working:
                current = not_working.current
                if current is None or current.status is not OrderStatus.CANCELLED:
                    raise _not_working(broker_order_id, current, "cancel") from not_working
                item = current
        return self._accepted(_to_broker_order(item))

    def flatten(self, command: FlattenPosition) -> FlattenResult:
        """Cancels every working order in the symbol and closes the position with a market order
        carrying the command's client order id, all in one transaction; a retried flatten returns
        the first result and never closes twice. The closing fill price is the last fill price seen
        in the symbol, else the position's average price: paper has no market data."""
        self._refuse_if_simulated()
        symbol, client_order_id = command.symbol, command.client_order_id
        cancelled_early: list[str] = []
        with _store_reachable():
            for _ in _attempts():
                claim = self._store.get_claim(self.account_id, client_order_id)
                if claim is not None:
                    return self._replay_flatten(claim)
                working = [
                    item.broker_order_id
                    for item in self._store.list_orders(self.account_id)
                    if item.symbol == symbol and item.status is OrderStatus.WORKING
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
                        price = position.last_fill_price or position.avg_price
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

    # --- reads ---------------------------------------------------------------------------------

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

    def _order_claimed_by(self, client_order_id: str) -> BrokerOrder:
        claim = self._store.get_claim(self.account_id, client_order_id)
        if claim is None or claim.broker_order_id is None:
            raise BrokerRejected(
                f"client_order_id {client_order_id} was used by a flatten that placed no order"
            )
        item = self._store.get_order(self.account_id, claim.broker_order_id)
        if item is None:  # the claim and its order are written together; this is a damaged table
            raise BrokerUnreachable(
                f"order {claim.broker_order_id} of client_order_id {client_order_id} missing"
            )
        return _to_broker_order(item)

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
