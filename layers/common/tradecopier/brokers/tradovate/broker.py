"""The Tradovate ``BrokerAccount`` (REST; the user websocket belongs to the leader listener).

Exactly once without server-side dedupe (§3.12: ``clOrdId`` is only a tag, and not on ``Order``):
every order carries the copier's client order id as ``clOrdId`` and as ``text`` (echoed on
``orderVersion.text``, CAP); ``place`` looks the id up (``orderVersion/list``) before sending, so a
retry — in this invocation after a timeout, or a later SQS delivery — finds the first order.
Brackets are ``placeOSO`` at absolute prices, legs tagged ``<id>:tp`` / ``<id>:sl``.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from tradecopier.brokers.base import (
    BracketOrders,
    BrokerAccessDenied,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    FlattenResult,
    bracket_leg_client_order_id,
)
from tradecopier.brokers.http import BrokerTimeout
from tradecopier.brokers.tradovate import parsing
from tradecopier.brokers.tradovate.auth import SharedStore, connect
from tradecopier.brokers.tradovate.config import TradovateConfig
from tradecopier.brokers.tradovate.contracts import Contracts
from tradecopier.brokers.tradovate.enums import ACTION, ORDER_TYPE, TERMINAL, TIME_IN_FORCE
from tradecopier.brokers.tradovate.http import TradovateHttp
from tradecopier.brokers.tradovate.schemas import (
    Account,
    CashBalance,
    CashBalanceSnapshot,
    CommandResult,
    Fill,
    Order,
    OrderVersion,
    PlaceOrderResult,
    Position,
)
from tradecopier.domain.enums import Leg, OrderStatus
from tradecopier.domain.instruments import round_to_tick
from tradecopier.domain.orders import CancelOrder, FlattenPosition, FollowerOrder, ModifyOrder
from tradecopier.domain.risk.state import AccountSnapshot


def _wire_price(value: Decimal | None, symbol: str) -> float | None:
    return None if value is None else float(round_to_tick(value, symbol))


class TradovateBroker:
    """One Tradovate account (``config.broker_account``: its name or numeric id)."""

    def __init__(
        self,
        account_id: str,
        config: TradovateConfig,
        http: TradovateHttp | None = None,
        shared: SharedStore | None = None,
    ) -> None:
        self.account_id = account_id
        self.config = config
        self.http = http or connect(config, shared)
        self.contracts = Contracts(self.http)
        self._account: Account | None = None

    # --- the account ------------------------------------------------------------------------

    @property
    def account(self) -> Account:
        """The broker's account entity: the name users paste, the id orders need (§3.1)."""
        if self._account is None:
            wanted = self.config.broker_account.strip()
            rows = [Account.model_validate(row) for row in self.http.get("account/list") or []]
            found = next((a for a in rows if wanted in (a.name, str(a.id))), None)
            if found is None:
                raise BrokerAccessDenied(
                    f"tradovate user has no account {wanted!r} (it has {len(rows)})", code="account_not_found"
                )
            self._account = found
        return self._account

    def check(self) -> str:
        """Logs in (or uses the cached token) and finds the account: a live connection check."""
        return f"account {self.account.name} (id {self.account.id})"

    # --- reading ----------------------------------------------------------------------------

    def _versions(self, order_id: int) -> list[OrderVersion]:
        rows = self.http.get("orderVersion/deps", masterid=order_id) or []
        return [OrderVersion.model_validate(row) for row in rows]

    def _fills(self, order_id: int) -> list[Fill]:
        return [Fill.model_validate(row) for row in self.http.get("fill/deps", masterid=order_id) or []]

    def _read(self, order_id: int, client_order_id: str | None = None) -> BrokerOrder:
        body = self.http.get("order/item", not_found=True, id=order_id)
        if not body:
            raise BrokerRejected(f"tradovate order {order_id} not found")
        order = Order.model_validate(body)
        if order.account_id != self.account.id:
            raise BrokerRejected(f"tradovate order {order_id} is not on account {self.account.name}")
        versions = self._versions(order_id)
        if not versions:
            raise BrokerRejected(f"tradovate order {order_id} has no version")
        latest = parsing.latest_versions(versions)[order_id]
        tag = client_order_id or parsing.first_texts(versions).get(order_id)
        fills = self._fills(order_id) if order.ord_status in ("Filled", "Completed") else []
        symbol = self.contracts.by_id(order.contract_id).name if order.contract_id else "UNKNOWN"
        return parsing.broker_order(order, latest, symbol, fills, client_order_id=tag)

    def find_by_client_order_id(self, client_order_id: str) -> BrokerOrder | None:
        order_id = self._order_id_tagged(client_order_id)
        return None if order_id is None else self._read(order_id, client_order_id)

    def _order_id_tagged(self, client_order_id: str) -> int | None:
        versions = [OrderVersion.model_validate(row) for row in self.http.get("orderVersion/list") or []]
        tagged = [oid for oid, text in parsing.first_texts(versions).items() if text == client_order_id]
        if not tagged:
            return None
        own = {o["id"] for o in self.http.get("order/list") or [] if o.get("accountId") == self.account.id}
        mine = [oid for oid in tagged if oid in own]
        return min(mine) if mine else None

    def orders(self) -> list[BrokerOrder]:
        account_id = self.account.id
        rows = [Order.model_validate(row) for row in self.http.get("order/list") or []]
        rows = [order for order in rows if order.account_id == account_id]
        if not rows:
            return []
        versions = [OrderVersion.model_validate(row) for row in self.http.get("orderVersion/list") or []]
        latest, texts = parsing.latest_versions(versions), parsing.first_texts(versions)
        fills = parsing.fills_by_order(Fill.model_validate(row) for row in self.http.get("fill/list") or [])
        out = []
        for order in sorted(rows, key=lambda o: o.id, reverse=True):
            version = latest.get(order.id)
            if version is None:
                continue
            symbol = self.contracts.by_id(order.contract_id).name if order.contract_id else "UNKNOWN"
            out.append(
                parsing.broker_order(
                    order, version, symbol, fills.get(order.id, []), client_order_id=texts.get(order.id)
                )
            )
        return out

    def _positions(self) -> list[Position]:
        rows = [Position.model_validate(row) for row in self.http.get("position/list") or []]
        return [p for p in rows if p.account_id == self.account.id]

    def positions(self) -> list[BrokerPosition]:
        return [
            parsing.broker_position(p, self.contracts.by_id(p.contract_id).name)
            for p in self._positions()
            if p.net_pos != 0
        ]

    def position(self, symbol: str) -> BrokerPosition:
        contract = self.contracts.by_symbol(symbol)
        found = next((p for p in self._positions() if p.contract_id == contract.id), None)
        return (
            BrokerPosition(symbol=symbol, qty=0) if found is None else parsing.broker_position(found, symbol)
        )

    def snapshot(self) -> AccountSnapshot:
        """Cash balance snapshot (§3.9): balance = totalCashValue, unrealized = openPnL."""
        body = self.http.post("cashBalance/getcashbalancesnapshot", {"accountId": self.account.id})
        snap = CashBalanceSnapshot.model_validate(body or {})
        balance = snap.total_cash_value
        if balance is None:  # fields may be absent (§3.9): fall back to the cashBalance entity
            rows = [CashBalance.model_validate(r) for r in self.http.get("cashBalance/list") or []]
            balance = next((r.amount for r in rows if r.account_id == self.account.id), 0.0)
        return AccountSnapshot(
            balance=Decimal(repr(balance)),
            unrealized_pnl=Decimal(repr(snap.open_pnl or 0.0)),
            positions={p.symbol: p.qty for p in self.positions()},
        )

    def mark(self, symbol: str, price: Decimal) -> list[BrokerOrder]:
        return []  # Tradovate has its own market

    # --- placing ----------------------------------------------------------------------------

    def _order_body(self, order: FollowerOrder) -> dict[str, Any]:
        body: dict[str, Any] = {
            "accountSpec": self.account.name,
            "accountId": self.account.id,
            "clOrdId": order.client_order_id,
            "action": ACTION[order.side],
            "symbol": order.symbol,
            "orderQty": order.qty,
            "orderType": ORDER_TYPE[order.order_type],
            "timeInForce": TIME_IN_FORCE,
            "text": order.client_order_id,
            "isAutomated": True,  # exchange rule for anything not clicked by a human (§3.3)
        }
        if order.limit_price is not None:
            body["price"] = _wire_price(order.limit_price, order.symbol)
        if order.stop_price is not None:
            body["stopPrice"] = _wire_price(order.stop_price, order.symbol)
        return body

    def _send_place(self, path: str, body: dict[str, Any], client_order_id: str) -> PlaceOrderResult | None:
        """Sends a placement; None when it timed out and the lookup found nothing (not placed)."""
        try:
            result = PlaceOrderResult.model_validate(self.http.post(path, body))
        except BrokerTimeout as timeout:
            if not timeout.sent:
                raise
            # The request may still be in flight: give it a moment to land before looking (the
            # next SQS delivery looks again, a visibility timeout later).
            time.sleep(self.config.timeout_settle_s)
            if self._order_id_tagged(client_order_id) is not None:
                return None  # it reached the broker after all: the caller reads it back
            raise
        if result.order_id is None:
            raise BrokerRejected(f"{path}: no orderId in the answer")
        return result

    def place(self, order: FollowerOrder) -> BrokerOrder:
        if order.bracket is not None:
            return self.place_bracket(order).entry
        found = self.find_by_client_order_id(order.client_order_id)
        if found is not None:
            return found
        result = self._send_place("order/placeorder", self._order_body(order), order.client_order_id)
        if result is None or result.order_id is None:
            again = self.find_by_client_order_id(order.client_order_id)
            if again is None:
                raise BrokerRejected("placed order vanished")  # pragma: no cover - guarded above
            return again
        return self._read(result.order_id, order.client_order_id)

    def place_bracket(self, order: FollowerOrder) -> BracketOrders:
        bracket = order.bracket
        if bracket is None:
            return BracketOrders(entry=self.place(order))
        if bracket.qty != order.qty:
            raise BrokerRejected("tradovate bracket legs take the entry's quantity (placeOSO has no leg qty)")
        existing = self._existing_bracket(order)
        if existing is not None:
            return existing
        body = self._order_body(order)
        exit_action = ACTION[order.side.opposite]
        legs: list[tuple[Leg, dict[str, Any]]] = []
        if bracket.take_profit is not None:
            cid = bracket_leg_client_order_id(order.client_order_id, Leg.TAKE_PROFIT)
            legs.append(
                (
                    Leg.TAKE_PROFIT,
                    {
                        "action": exit_action,
                        "orderType": "Limit",
                        "price": _wire_price(bracket.take_profit, order.symbol),
                        "timeInForce": TIME_IN_FORCE,
                        "clOrdId": cid,
                        "text": cid,
                    },
                )
            )
        if bracket.stop_loss is not None:
            cid = bracket_leg_client_order_id(order.client_order_id, Leg.STOP_LOSS)
            legs.append(
                (
                    Leg.STOP_LOSS,
                    {
                        "action": exit_action,
                        "orderType": "Stop",
                        "stopPrice": _wire_price(bracket.stop_loss, order.symbol),
                        "timeInForce": TIME_IN_FORCE,
                        "clOrdId": cid,
                        "text": cid,
                    },
                )
            )
        if not legs:
            return BracketOrders(entry=self.place(order.model_copy(update={"bracket": None})))
        body["bracket1"] = legs[0][1]
        if len(legs) > 1:
            body["bracket2"] = legs[1][1]
        result = self._send_place("order/placeoso", body, order.client_order_id)
        if result is None:
            found = self._existing_bracket(order)
            if found is None:
                raise BrokerRejected("placed bracket vanished")  # pragma: no cover
            return found
        assert result.order_id is not None
        leg_ids = [result.oso1_id, result.oso2_id]
        placed: dict[Leg, BrokerOrder] = {}
        for (leg, leg_body), leg_id in zip(legs, leg_ids, strict=False):
            if leg_id is not None:
                placed[leg] = self._read(leg_id, leg_body["text"])
        return BracketOrders(
            entry=self._read(result.order_id, order.client_order_id),
            take_profit=placed.get(Leg.TAKE_PROFIT),
            stop_loss=placed.get(Leg.STOP_LOSS),
        )

    def _existing_bracket(self, order: FollowerOrder) -> BracketOrders | None:
        entry = self.find_by_client_order_id(order.client_order_id)
        if entry is None:
            return None
        legs = {
            leg: self.find_by_client_order_id(bracket_leg_client_order_id(order.client_order_id, leg))
            for leg in (Leg.TAKE_PROFIT, Leg.STOP_LOSS)
        }
        return BracketOrders(entry=entry, take_profit=legs[Leg.TAKE_PROFIT], stop_loss=legs[Leg.STOP_LOSS])

    # --- changing ---------------------------------------------------------------------------

    def modify(self, command: ModifyOrder) -> BrokerOrder:
        """Sends the full new version (qty + type + prices, §3.4) and reads the order back: the
        version the broker reports, not the one we asked for (modify may answer before applying)."""
        current = self._read(int(command.broker_order_id))
        if current.status is not OrderStatus.WORKING:
            raise BrokerRejected(f"order {command.broker_order_id} is {current.status}, not working")
        body: dict[str, Any] = {
            "orderId": int(command.broker_order_id),
            "clOrdId": command.client_order_id,
            "orderQty": command.qty or current.qty,
            "orderType": ORDER_TYPE[current.order_type],
            "timeInForce": TIME_IN_FORCE,
            "isAutomated": True,
        }
        limit = command.limit_price if command.limit_price is not None else current.limit_price
        stop = command.stop_price if command.stop_price is not None else current.stop_price
        if limit is not None:
            body["price"] = _wire_price(limit, current.symbol)
        if stop is not None:
            body["stopPrice"] = _wire_price(stop, current.symbol)
        try:
            CommandResult.model_validate(self.http.post("order/modifyorder", body))
        except BrokerTimeout as timeout:
            if not timeout.sent:
                raise
            after = self._read(int(command.broker_order_id), current.client_order_id)
            wanted = (body["orderQty"], body.get("price"), body.get("stopPrice"))
            seen = (
                after.qty,
                None if after.limit_price is None else float(after.limit_price),
                None if after.stop_price is None else float(after.stop_price),
            )
            if seen != wanted:
                raise  # not applied (yet): a retry sends the same absolute values again
            return after
        return self._read(int(command.broker_order_id), current.client_order_id)

    def cancel(self, command: CancelOrder) -> BrokerOrder:
        order_id = int(command.broker_order_id)
        body = self.http.get("order/item", not_found=True, id=order_id)
        if not body:
            raise BrokerRejected(f"tradovate order {order_id} not found")
        order = Order.model_validate(body)
        if order.ord_status in ("Canceled", "Expired"):
            return self._read(order_id)
        if order.ord_status in TERMINAL:
            raise BrokerRejected(f"order {order_id} is {order.ord_status}: nothing to cancel")
        try:
            CommandResult.model_validate(
                self.http.post("order/cancelorder", {"orderId": order_id, "isAutomated": True})
            )
        except BrokerTimeout as timeout:
            if not timeout.sent:
                raise
        return self._read(order_id)

    def flatten(self, command: FlattenPosition) -> FlattenResult:
        """``liquidateposition`` (cancels the contract's working orders, then closes the position;
        "a request, not a guarantee", §3.4) — then whatever is still working is cancelled one by
        one. Flat already: only the working orders are cancelled (a retry is a no-op)."""
        contract = self.contracts.by_symbol(command.symbol)
        working = [o for o in self.orders() if o.symbol == contract.name and o.status is OrderStatus.WORKING]
        position = self.position(contract.name)
        closing: BrokerOrder | None = None
        if position.qty != 0:
            result = PlaceOrderResult.model_validate(
                self.http.post(
                    "order/liquidateposition",
                    {
                        "accountId": self.account.id,
                        "contractId": contract.id,
                        "admin": False,
                        "customTag50": command.client_order_id[:50],
                    },
                )
            )
            if result.order_id is not None:
                closing = self._read(result.order_id, command.client_order_id)
        cancelled = []
        for order in working:
            current = self._read(int(order.broker_order_id))
            if current.status is OrderStatus.WORKING:
                current = self.cancel(CancelOrder(order.broker_order_id))
            if current.status is OrderStatus.CANCELLED:
                cancelled.append(order.broker_order_id)
        return FlattenResult(cancelled_order_ids=cancelled, closing_order=closing)
