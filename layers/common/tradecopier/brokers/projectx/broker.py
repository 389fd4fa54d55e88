"""The ProjectX ``BrokerAccount`` (REST; the user hub belongs to the leader listener).

Exactly once: every order carries the copier's client order id as ``customTag``, which the
gateway keeps on the order and refuses to reuse on the account — finished orders included (§3.3,
§3.9). ``place`` looks the tag up (``Order/search``) before sending — the adapter cannot tell a
first attempt from an SQS redelivery — after a timeout once sent (settle, then look again), and
after a refusal (a concurrent attempt may have won). A place whose tag exists returns that order.
Brackets are ``stopLossBracket`` / ``takeProfitBracket`` in signed ticks from the fill, which
needs the account in Auto OCO Brackets mode (otherwise the broker's own words say so).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradecopier.brokers.base import (
    BracketOrders,
    BrokerAccessDenied,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    FlattenResult,
)
from tradecopier.brokers.http import BrokerTimeout
from tradecopier.brokers.projectx import parsing
from tradecopier.brokers.projectx.auth import connect
from tradecopier.brokers.projectx.config import LOOKBACK, ProjectXConfig
from tradecopier.brokers.projectx.contracts import Contracts
from tradecopier.brokers.projectx.enums import (
    CANCELLED,
    EXPIRED,
    LIMIT,
    ORDER_TYPE,
    SIDE_WIRE,
    STOP,
    TERMINAL,
)
from tradecopier.brokers.projectx.http import ProjectXHttp
from tradecopier.brokers.projectx.schemas import Order, PlaceOrderResponse, Position, TradingAccount
from tradecopier.domain.enums import Leg, OrderStatus
from tradecopier.domain.instruments import round_to_tick
from tradecopier.domain.orders import CancelOrder, FlattenPosition, FollowerOrder, ModifyOrder
from tradecopier.domain.risk.state import AccountSnapshot


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class ProjectXBroker:
    """One ProjectX account (``config.broker_account``: its name or numeric id); ``http``
    defaults to the shared client of the config's user (token cached per environment)."""

    def __init__(self, account_id: str, config: ProjectXConfig, http: ProjectXHttp | None = None) -> None:
        self.account_id, self.config = account_id, config
        self.http = http if http is not None else connect(config)
        self.contracts = Contracts(self.http)
        self._account: TradingAccount | None = None  # found on first use (Account/search)

    @staticmethod
    def _price(value: Decimal | None, symbol: str) -> float | None:
        """A price on the wire: rounded to the tick (BROKERS.md), a JSON number."""
        return None if value is None else float(round_to_tick(value, symbol))

    # --- the account ------------------------------------------------------------------------

    def _accounts(self) -> list[TradingAccount]:
        body = self.http.post("Account/search", {"onlyActiveAccounts": False})
        return [TradingAccount.model_validate(row) for row in body.get("accounts") or []]

    @property
    def account(self) -> TradingAccount:
        """The broker's account: the name users paste (``50KTC-V2-…``), the id orders need (§3.1)."""
        if self._account is None:
            wanted = self.config.broker_account.strip()
            rows = self._accounts()
            found = next((a for a in rows if wanted in (a.name, str(a.id))), None)
            if found is None:
                raise BrokerAccessDenied(
                    f"projectx user has no account {wanted!r} (it has {len(rows)})", code="account_not_found"
                )
            self._account = found
        return self._account

    def check(self) -> str:
        """Logs in (or uses the cached token) and finds the account: a live connection check."""
        account = self.account
        trading = "can trade" if account.can_trade else "cannot trade now (canTrade false)"
        return f"account {account.name} (id {account.id}), {trading}"

    # --- reading ----------------------------------------------------------------------------

    def _search(self) -> list[Order]:
        start = datetime.now(UTC) - LOOKBACK
        body = self.http.post("Order/search", {"accountId": self.account.id, "startTimestamp": _stamp(start)})
        return [Order.model_validate(row) for row in body.get("orders") or []]

    def _tagged(self, client_order_id: str, rows: Iterable[Order] | None = None) -> Order | None:
        tag = parsing.custom_tag_of(client_order_id)
        found = [o for o in (self._search() if rows is None else rows) if o.custom_tag == tag]
        return min(found, key=lambda o: o.id) if found else None

    def _order(self, order_id: int) -> Order:
        found = next((o for o in self._search() if o.id == order_id), None)
        if found is None:
            raise BrokerRejected(f"projectx order {order_id} not found on account {self.account.name}")
        return found

    def _as_domain(self, order: Order) -> BrokerOrder:
        return parsing.broker_order(order, self.contracts.symbol(order.contract_id))

    def find_by_client_order_id(self, client_order_id: str) -> BrokerOrder | None:
        order = self._tagged(client_order_id)
        return None if order is None else self._as_domain(order)

    def orders(self) -> list[BrokerOrder]:
        return [self._as_domain(o) for o in sorted(self._search(), key=lambda o: o.id, reverse=True)]

    def _positions(self) -> list[Position]:
        body = self.http.post("Position/searchOpen", {"accountId": self.account.id})
        return [Position.model_validate(row) for row in body.get("positions") or []]

    def positions(self) -> list[BrokerPosition]:
        out = [parsing.broker_position(p, self.contracts.symbol(p.contract_id)) for p in self._positions()]
        return [p for p in out if p.qty != 0]

    def position(self, symbol: str) -> BrokerPosition:
        contract = self.contracts.by_symbol(symbol)
        found = next((p for p in self._positions() if p.contract_id == contract.id), None)
        return (
            BrokerPosition(symbol=symbol, qty=0) if found is None else parsing.broker_position(found, symbol)
        )

    def snapshot(self) -> AccountSnapshot:
        """``balance`` from ``Account/search`` (read fresh: it moves with every fill). ProjectX's
        REST has no open P&L (the Account model is id/name/balance/flags, §3.1): unrealized is 0
        here, and fees are taken as already in the balance (unconfirmed, docs/brokers.md)."""
        wanted = self.account.id
        account = next((a for a in self._accounts() if a.id == wanted), self.account)
        return AccountSnapshot(
            balance=Decimal(repr(account.balance)),
            positions={p.symbol: p.qty for p in self.positions()},
        )

    def mark(self, symbol: str, price: Decimal) -> list[BrokerOrder]:
        return []  # ProjectX has its own market

    # --- placing ----------------------------------------------------------------------------

    def _order_body(self, order: FollowerOrder) -> dict[str, Any]:
        kind = ORDER_TYPE.get(order.order_type)
        if kind is None:
            raise BrokerRejected(f"projectx adapter does not place {order.order_type} orders")
        body: dict[str, Any] = {
            "accountId": self.account.id,
            "contractId": self.contracts.by_symbol(order.symbol).id,
            "type": kind,
            "side": SIDE_WIRE[order.side],
            "size": order.qty,
            "limitPrice": self._price(order.limit_price, order.symbol),
            "stopPrice": self._price(order.stop_price, order.symbol),
            "customTag": parsing.custom_tag_of(order.client_order_id),
        }
        return body

    def _send_place(self, body: dict[str, Any], client_order_id: str) -> Order:
        """Sends a placement and returns the order the broker holds under its tag — ours, or the
        one an earlier attempt left (a timeout once sent, a refusal of the reused tag)."""
        try:
            answer = PlaceOrderResponse.model_validate(self.http.post("Order/place", body))
        except BrokerTimeout as timeout:
            if not timeout.sent:
                raise
            # The request may still be in flight: give it a moment to land before looking (the
            # next SQS delivery looks again, a visibility timeout later).
            time.sleep(self.config.timeout_settle_s)
            found = self._tagged(client_order_id)
            if found is None:
                raise
            return found
        except BrokerRejected:
            found = self._tagged(client_order_id)  # "customTag already exists": that is our order
            if found is None:
                raise
            return found
        if not answer.order_id:
            raise BrokerRejected("Order/place: no orderId in the answer")
        return self._order(answer.order_id)

    def place(self, order: FollowerOrder) -> BrokerOrder:
        if order.bracket is not None:
            return self.place_bracket(order).entry
        body = self._order_body(order)
        existing = self._tagged(order.client_order_id)
        if existing is not None:
            return self._as_domain(existing)
        return self._as_domain(self._send_place(body, order.client_order_id))

    def place_bracket(self, order: FollowerOrder) -> BracketOrders:
        bracket = order.bracket
        if bracket is None:
            return BracketOrders(entry=self.place(order))
        if bracket.qty != order.qty:
            raise BrokerRejected(
                "projectx bracket legs take the entry's quantity (Order/place has no leg size)"
            )
        if bracket.take_profit is None and bracket.stop_loss is None:
            return BracketOrders(entry=self.place(order.model_copy(update={"bracket": None})))
        body = self._order_body(order)
        reference = order.limit_price or order.stop_price or order.reference_price
        tick = self.contracts.tick(order.symbol)
        if reference is None or tick is None:
            raise BrokerRejected("projectx brackets are tick offsets: the entry needs a reference price")
        if bracket.stop_loss is not None:
            ticks = parsing.bracket_ticks(bracket.stop_loss, reference, tick)
            body["stopLossBracket"] = {"ticks": ticks, "type": STOP}
        if bracket.take_profit is not None:
            ticks = parsing.bracket_ticks(bracket.take_profit, reference, tick)
            body["takeProfitBracket"] = {"ticks": ticks, "type": LIMIT}
        entry = self._tagged(order.client_order_id)
        if entry is None:
            entry = self._send_place(body, order.client_order_id)
        return self._bracket_of(entry)

    def _bracket_of(self, entry: Order) -> BracketOrders:
        """The entry and its children (``parentOrderId``; suspended children are not returned by
        the searches until the entry fills, §3.6: the legs are then ``None``)."""
        rows = self._search()
        fresh = next((o for o in rows if o.id == entry.id), entry)
        legs: dict[Leg, BrokerOrder] = {}
        for child in rows:
            if child.parent_order_id == entry.id:
                domain = self._as_domain(child)
                if domain.leg is not None:
                    legs.setdefault(domain.leg, domain)
        return BracketOrders(
            entry=self._as_domain(fresh),
            take_profit=legs.get(Leg.TAKE_PROFIT),
            stop_loss=legs.get(Leg.STOP_LOSS),
        )

    # --- changing ---------------------------------------------------------------------------

    def modify(self, command: ModifyOrder) -> BrokerOrder:
        """``Order/modify`` in place (§3.4), then the order as the broker reports it. A modify
        that timed out is read back: applied if the order shows the new values."""
        order_id = int(command.broker_order_id)
        current = self._as_domain(self._order(order_id))
        if current.status is not OrderStatus.WORKING:
            raise BrokerRejected(f"order {command.broker_order_id} is {current.status}, not working")
        body: dict[str, Any] = {
            "accountId": self.account.id,
            "orderId": order_id,
            "size": command.qty or current.qty,
        }
        if command.limit_price is not None:
            body["limitPrice"] = self._price(command.limit_price, current.symbol)
        if command.stop_price is not None:
            body["stopPrice"] = self._price(command.stop_price, current.symbol)
        try:
            self.http.post("Order/modify", body)
        except BrokerTimeout as timeout:
            if not timeout.sent:
                raise
            after = self._as_domain(self._order(order_id))
            applied = after.qty == body["size"] and all(
                body.get(key) is None or (value is not None and float(value) == body[key])
                for key, value in (("limitPrice", after.limit_price), ("stopPrice", after.stop_price))
            )
            if not applied:
                raise
            return after
        return self._as_domain(self._order(order_id))

    def cancel(self, command: CancelOrder) -> BrokerOrder:
        order_id = int(command.broker_order_id)
        order = self._order(order_id)
        if order.status in (CANCELLED, EXPIRED):
            return self._as_domain(order)
        if order.status in TERMINAL:
            raise BrokerRejected(f"order {order_id} is {self._as_domain(order).status}: nothing to cancel")
        try:
            self.http.post("Order/cancel", {"accountId": self.account.id, "orderId": order_id})
        except BrokerTimeout as timeout:
            if not timeout.sent:
                raise
        return self._as_domain(self._order(order_id))

    def flatten(self, command: FlattenPosition) -> FlattenResult:
        """``Position/closeContract`` (a market order server-side, atomic: it can never reverse
        the position; it answers no orderId, §3.7), then whatever is still working in the
        contract is cancelled one by one. Flat already: only the working orders are cancelled."""
        contract = self.contracts.by_symbol(command.symbol)
        before = self._search()
        known = {o.id for o in before}
        working = [o for o in before if o.contract_id == contract.id and o.status not in TERMINAL]
        closing: BrokerOrder | None = None
        if any(p.contract_id == contract.id and p.size for p in self._positions()):
            self.http.post(
                "Position/closeContract", {"accountId": self.account.id, "contractId": contract.id}
            )
            after = self._search()
            new = [
                o for o in after if o.id not in known and o.contract_id == contract.id and not o.custom_tag
            ]
            if new:
                closing = self._as_domain(max(new, key=lambda o: o.id)).model_copy(
                    update={"client_order_id": command.client_order_id}
                )
        cancelled = []
        for order in working:
            current = self._order(order.id)
            if current.status not in TERMINAL:
                current_domain = self.cancel(CancelOrder(str(order.id)))
            else:
                current_domain = self._as_domain(current)
            if current_domain.status is OrderStatus.CANCELLED:
                cancelled.append(str(order.id))
        return FlattenResult(cancelled_order_ids=cancelled, closing_order=closing)
