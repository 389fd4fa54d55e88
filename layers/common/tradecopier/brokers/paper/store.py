"""The paper broker's state in DynamoDB (table ``settings.paper_table_name``, key ``pk``/``sk``).

One partition per account, ``pk = ACCOUNT#{account_id}``:

- ``sk = ORDER#{broker_order_id}``    one order (side, qty, type, prices, status, fill price, created_at)
                                     and ``revision`` (+1 on every modify, so a fill computed from an
                                     order read before a modify never lands). A bracket entry has
                                     ``leg_order_ids``; a leg has ``parent_order_id``, ``leg``,
                                     ``sibling_order_id`` (its OCO partner) and ``held`` (true until
                                     its entry fills: it cannot fill yet). A stop-limit whose stop a
                                     mark crossed has ``triggered`` (it rests as a limit).
- ``sk = CLIENT#{client_order_id}``   the claim of a client order id: which order (and, for a flatten,
                                     which orders it cancelled). Written with ``attribute_not_exists``
                                     in the same transaction as what it claims, so one client order id
                                     can never produce two orders, however many callers race.
- ``sk = POSITION#{symbol}``          signed qty, cost (what the open qty cost: the exact basis of
                                     the average), avg_price, last_fill_price and a ``version`` for
                                     optimistic concurrency (read, compute, write if unchanged).
- ``sk = MARK#{symbol}``              the latest market price of the symbol (``price``, ``marked_at``).
- ``sk = ACCOUNT``                    ``realized_pnl``: cumulative realized P&L in USD, added to (ADD)
                                     in the same transaction as the fill that realized it.

Every fill is one transaction: the order (only if still working, not held, at the revision read),
the position (at the version read), the realized P&L, the OCO sibling's cancellation and the legs'
release. So a mark racing a place, modify, cancel or another mark can lose a race and retry, but
can never fill an order twice, fill both legs of one bracket or drop a change.

Every read is strongly consistent: the paper broker answers for state it has just written.
This module knows items, keys and conditions; the trading rules live in ``broker.py`` and the
position arithmetic in ``fills.py``. A broker's own store is the one place outside ``dal/``
allowed to touch DynamoDB.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tradecopier import aws
from tradecopier.brokers.paper.fills import PaperPosition
from tradecopier.dal.dynamodb import as_int, from_item, to_attr, to_item
from tradecopier.domain.enums import Leg, OrderStatus, OrderType, Side
from tradecopier.domain.orders import ModifyOrder

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef, TransactWriteItemTypeDef

# TransactWriteItems takes at most 100 actions; a flatten also writes its claim, the closing order
# and the position, so at most this many cancellations fit in the same transaction.
MAX_CANCELS_PER_TRANSACTION = 96
# The account item: one per partition, beside the orders, claims, positions and marks.
_ACCOUNT_SK = "ACCOUNT"


class PaperStoreError(Exception):
    """Base of the errors this store raises."""


class PaperStoreUnavailable(PaperStoreError):
    """DynamoDB could not be reached or refused the call (throttling, timeout, network)."""


class ClientOrderIdTaken(PaperStoreError):
    """The client order id is already claimed: nothing was written; read the claim back."""


class WriteConflict(PaperStoreError):
    """Something read before the write changed (position version, order status, id collision or a
    concurrent transaction): nothing was written; read again and retry."""


class OrderNotWorking(PaperStoreError):
    """A conditional change of a working order found it missing or no longer working."""

    def __init__(self, current: PaperOrderItem | None) -> None:
        super().__init__("order missing" if current is None else f"order is {current.status}")
        self.current = current


class ClaimKind(StrEnum):
    ORDER = "order"
    FLATTEN = "flatten"


@dataclass(frozen=True, slots=True)
class PaperOrderItem:
    broker_order_id: str
    client_order_id: str
    symbol: str
    side: Side
    qty: int
    order_type: OrderType
    status: OrderStatus
    created_at: str
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    fill_price: Decimal | None = None
    reject_reason: str | None = None
    revision: int = 0
    parent_order_id: str | None = None
    leg: Leg | None = None
    sibling_order_id: str | None = None
    leg_order_ids: tuple[str, ...] = ()
    held: bool = False
    triggered: bool = False

    @property
    def can_fill(self) -> bool:
        """Working and not a leg still waiting for its entry."""
        return self.status is OrderStatus.WORKING and not self.held


@dataclass(frozen=True, slots=True)
class MarkItem:
    symbol: str
    price: Decimal
    marked_at: str


@dataclass(frozen=True, slots=True)
class SymbolBook:
    """What one read of a symbol finds: its working orders (held legs too) and its position."""

    working: tuple[PaperOrderItem, ...]
    position: PaperPosition


@dataclass(frozen=True, slots=True)
class ClaimItem:
    client_order_id: str
    kind: ClaimKind
    broker_order_id: str | None = None
    cancelled_order_ids: tuple[str, ...] = ()


def _pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def _order_sk(broker_order_id: str) -> str:
    return f"ORDER#{broker_order_id}"


def _claim_sk(client_order_id: str) -> str:
    return f"CLIENT#{client_order_id}"


def _position_sk(symbol: str) -> str:
    return f"POSITION#{symbol}"


def _mark_sk(symbol: str) -> str:
    return f"MARK#{symbol}"


def _key(account_id: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": _pk(account_id)}, "sk": {"S": sk}}


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _order_from(values: dict[str, Any]) -> PaperOrderItem:
    return PaperOrderItem(
        broker_order_id=values["broker_order_id"],
        client_order_id=values["client_order_id"],
        symbol=values["symbol"],
        side=Side(values["side"]),
        qty=int(values["qty"]),
        order_type=OrderType(values["order_type"]),
        status=OrderStatus(values["status"]),
        created_at=values["created_at"],
        limit_price=_decimal(values.get("limit_price")),
        stop_price=_decimal(values.get("stop_price")),
        fill_price=_decimal(values.get("fill_price")),
        reject_reason=values.get("reject_reason"),
        revision=as_int(values.get("revision")) or 0,
        parent_order_id=values.get("parent_order_id"),
        leg=None if values.get("leg") is None else Leg(values["leg"]),
        sibling_order_id=values.get("sibling_order_id"),
        leg_order_ids=tuple(values.get("leg_order_ids") or ()),
        held=bool(values.get("held", False)),
        triggered=bool(values.get("triggered", False)),
    )


def _position_from(values: dict[str, Any]) -> PaperPosition:
    return PaperPosition(
        symbol=values["symbol"],
        qty=int(values["qty"]),
        avg_price=_decimal(values.get("avg_price")),
        cost=_decimal(values.get("cost")),
        last_fill_price=_decimal(values.get("last_fill_price")),
        version=as_int(values["version"]) or 0,
    )


def _mark_from(values: dict[str, Any]) -> MarkItem:
    return MarkItem(symbol=values["symbol"], price=Decimal(values["price"]), marked_at=values["marked_at"])


def _claim_from(values: dict[str, Any]) -> ClaimItem:
    return ClaimItem(
        client_order_id=values["client_order_id"],
        kind=ClaimKind(values["kind"]),
        broker_order_id=values.get("broker_order_id"),
        cancelled_order_ids=tuple(values.get("cancelled_order_ids") or ()),
    )


class PaperStore:
    """All DynamoDB access of the paper broker, for one table."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @property
    def _client(self) -> DynamoDBClient:
        # Looked up on every call (it is cached): tests swap endpoints with clear_clients().
        return aws.client("dynamodb")

    # --- reads ---------------------------------------------------------------------------------

    def get_order(self, account_id: str, broker_order_id: str) -> PaperOrderItem | None:
        values = self._get(account_id, _order_sk(broker_order_id))
        return None if values is None else _order_from(values)

    def get_claim(self, account_id: str, client_order_id: str) -> ClaimItem | None:
        values = self._get(account_id, _claim_sk(client_order_id))
        return None if values is None else _claim_from(values)

    def get_position(self, account_id: str, symbol: str) -> PaperPosition:
        values = self._get(account_id, _position_sk(symbol))
        return PaperPosition(symbol=symbol) if values is None else _position_from(values)

    def list_orders(self, account_id: str) -> list[PaperOrderItem]:
        return [_order_from(values) for values in self._query(account_id, "ORDER#")]

    def list_working_orders(self, account_id: str, symbol: str) -> list[PaperOrderItem]:
        """Working orders (held legs too) in ``symbol``. The query reads the account's orders and
        DynamoDB filters them: paper accounts hold few enough orders for that to stay cheap."""
        filtered = self._query(
            account_id,
            "ORDER#",
            filter_expression="#status = :working AND #symbol = :symbol",
            names={"#status": "status", "#symbol": "symbol"},
            values={":working": to_attr(OrderStatus.WORKING.value), ":symbol": to_attr(symbol)},
        )
        return [_order_from(values) for values in filtered]

    def symbol_book(self, account_id: str, symbol: str) -> SymbolBook:
        """The working orders (held legs too) and the position in ``symbol``, in one Query: the sort
        keys from ``MARK#{symbol}`` to ``POSITION#{symbol}`` span every order, and DynamoDB keeps
        the working orders and the position (and the mark) of ``symbol`` alone. What a mark needs
        to judge every working order, and what the fill or the market order after it starts from
        (its writes are conditioned on the position's version, so a read that went stale loses)."""
        working: list[PaperOrderItem] = []
        position = PaperPosition(symbol=symbol)
        for values in self._query(
            account_id,
            (_mark_sk(symbol), _position_sk(symbol)),
            filter_expression="#symbol = :symbol AND (attribute_not_exists(#status) OR #status = :working)",
            names={"#status": "status", "#symbol": "symbol"},
            values={":working": to_attr(OrderStatus.WORKING.value), ":symbol": to_attr(symbol)},
        ):
            sk = values["sk"]
            if sk.startswith("ORDER#"):
                working.append(_order_from(values))
            elif sk == _position_sk(symbol):
                position = _position_from(values)
        return SymbolBook(working=tuple(working), position=position)

    def list_positions(self, account_id: str) -> list[PaperPosition]:
        return [_position_from(values) for values in self._query(account_id, "POSITION#")]

    def get_mark(self, account_id: str, symbol: str) -> MarkItem | None:
        values = self._get(account_id, _mark_sk(symbol))
        return None if values is None else _mark_from(values)

    def list_marks(self, account_id: str) -> list[MarkItem]:
        return [_mark_from(values) for values in self._query(account_id, "MARK#")]

    def get_realized_pnl(self, account_id: str) -> Decimal:
        values = self._get(account_id, _ACCOUNT_SK)
        return Decimal(0) if values is None else Decimal(values.get("realized_pnl", 0))

    # --- writes --------------------------------------------------------------------------------

    def add_order(
        self,
        account_id: str,
        order: PaperOrderItem,
        *,
        legs: Sequence[PaperOrderItem] = (),
        position: PaperPosition | None = None,
        expected_version: int = 0,
        realized_pnl: Decimal = Decimal(0),
        claim_kind: ClaimKind = ClaimKind.ORDER,
        cancel_order_ids: Sequence[str] = (),
        already_cancelled_ids: Sequence[str] = (),
    ) -> None:
        """Writes ``order`` (and its bracket ``legs``) with the claim of each client order id in one
        transaction, with the new ``position`` (if given, only if its stored version is still
        ``expected_version``), the ``realized_pnl`` of the fill and the cancellation of
        ``cancel_order_ids`` (each only if still working). The claim records
        ``already_cancelled_ids`` + ``cancel_order_ids`` (what a flatten cancelled).

        Raises ``ClientOrderIdTaken`` if a client order id is already claimed, ``WriteConflict``
        if anything else changed since it was read; in both cases nothing was written.
        """
        claims = [
            ClaimItem(
                client_order_id=order.client_order_id,
                kind=claim_kind,
                broker_order_id=order.broker_order_id,
                cancelled_order_ids=(*already_cancelled_ids, *cancel_order_ids),
            ),
            *(
                ClaimItem(
                    client_order_id=leg.client_order_id,
                    kind=ClaimKind.ORDER,
                    broker_order_id=leg.broker_order_id,
                )
                for leg in legs
            ),
        ]
        actions: list[TransactWriteItemTypeDef] = [
            *(self._claim_action(account_id, claim) for claim in claims),
            *self._cancel_actions(account_id, cancel_order_ids, order.created_at),
            *(self._order_put(account_id, item) for item in (order, *legs)),
        ]
        if position is not None:
            actions.append(self._position_put(account_id, position, expected_version))
        if realized_pnl:
            actions.append(self._realized_action(account_id, realized_pnl, order.created_at))
        self._transact(actions, claims=len(claims))

    def fill_order(
        self,
        account_id: str,
        order: PaperOrderItem,
        *,
        fill_price: Decimal,
        position: PaperPosition,
        expected_version: int,
        realized_pnl: Decimal,
        cancel_order_ids: Sequence[str] = (),
        release_order_ids: Sequence[str] = (),
        updated_at: str,
    ) -> PaperOrderItem:
        """Fills the working ``order`` at ``fill_price`` in one transaction with the new ``position``
        (at ``expected_version``), its ``realized_pnl``, the cancellation of ``cancel_order_ids``
        (an OCO sibling) and the release of ``release_order_ids`` (the legs of a filled entry),
        each only if still working. The order must still be working, not held, and at the
        revision read. Raises ``WriteConflict`` (nothing written) if anything changed."""
        revision_condition, revision_values = _revision_condition(order.revision)
        actions: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _key(account_id, _order_sk(order.broker_order_id)),
                    "UpdateExpression": "SET #status = :filled, #fill_price = :price, #updated_at = :now",
                    "ConditionExpression": (
                        f"#status = :working AND (attribute_not_exists(#held) OR #held = :false) "
                        f"AND {revision_condition}"
                    ),
                    "ExpressionAttributeNames": {
                        "#status": "status",
                        "#fill_price": "fill_price",
                        "#updated_at": "updated_at",
                        "#held": "held",
                        "#revision": "revision",
                    },
                    "ExpressionAttributeValues": {
                        ":filled": to_attr(OrderStatus.FILLED.value),
                        ":working": to_attr(OrderStatus.WORKING.value),
                        ":price": to_attr(fill_price),
                        ":now": to_attr(updated_at),
                        ":false": to_attr(False),
                        **revision_values,
                    },
                }
            },
            self._position_put(account_id, position, expected_version),
            *self._cancel_actions(account_id, cancel_order_ids, updated_at),
            *(
                self._working_update(
                    account_id,
                    broker_order_id,
                    "SET #held = :false",
                    {"#held": "held"},
                    {":false": to_attr(False)},
                    updated_at,
                )
                for broker_order_id in release_order_ids
            ),
        ]
        if realized_pnl:
            actions.append(self._realized_action(account_id, realized_pnl, updated_at))
        self._transact(actions, claims=0)
        return replace(order, status=OrderStatus.FILLED, fill_price=fill_price, held=False)

    def trigger_order(self, account_id: str, order: PaperOrderItem, *, updated_at: str) -> None:
        """Marks a working stop-limit triggered (it now rests as a limit), only at the revision read.
        Raises ``WriteConflict`` if it changed."""
        revision_condition, revision_values = _revision_condition(order.revision)
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=_key(account_id, _order_sk(order.broker_order_id)),
                UpdateExpression="SET #triggered = :true, #updated_at = :now",
                ConditionExpression=f"#status = :working AND {revision_condition}",
                ExpressionAttributeNames={
                    "#triggered": "triggered",
                    "#updated_at": "updated_at",
                    "#status": "status",
                    "#revision": "revision",
                },
                ExpressionAttributeValues={
                    ":true": to_attr(True),
                    ":now": to_attr(updated_at),
                    ":working": to_attr(OrderStatus.WORKING.value),
                    **revision_values,
                },
            )
        except ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                raise WriteConflict(str(error)) from error
            raise PaperStoreUnavailable(str(error)) from error
        except BotoCoreError as error:
            raise PaperStoreUnavailable(str(error)) from error

    def put_mark(self, account_id: str, mark: MarkItem) -> None:
        """The latest price of the symbol; racing marks: the last write is the latest."""
        values = {"symbol": mark.symbol, "price": mark.price, "marked_at": mark.marked_at}
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={**_key(account_id, _mark_sk(mark.symbol)), **to_item(values)},
            )
        except (BotoCoreError, ClientError) as error:
            raise PaperStoreUnavailable(str(error)) from error

    def cancel_entry(
        self, account_id: str, broker_order_id: str, leg_order_ids: Sequence[str], *, updated_at: str
    ) -> PaperOrderItem:
        """Cancels a working bracket entry and its ``leg_order_ids`` (those read as working) in one
        transaction. Raises ``OrderNotWorking`` if the entry is not working, ``WriteConflict`` if
        a leg changed since it was read."""
        actions = self._cancel_actions(account_id, [broker_order_id, *leg_order_ids], updated_at)
        try:
            self._transact(actions, claims=0)
        except WriteConflict as conflict:
            current = self.get_order(account_id, broker_order_id)
            if current is None or current.status is not OrderStatus.WORKING:
                raise OrderNotWorking(current) from conflict
            raise
        current = self.get_order(account_id, broker_order_id)
        assert current is not None, "an order just cancelled exists"
        return current

    def record_flat_flatten(
        self,
        account_id: str,
        client_order_id: str,
        *,
        position: PaperPosition,
        cancel_order_ids: Sequence[str],
        already_cancelled_ids: Sequence[str] = (),
        updated_at: str,
    ) -> None:
        """A flatten that found no position: cancels ``cancel_order_ids`` and claims the client
        order id, only if the position is still at the version read (so it is still flat).

        The unchanged position is written back with the next version rather than checked with a
        ConditionCheck: same guarantee, and it needs no permission beyond PutItem/UpdateItem."""
        claim = ClaimItem(
            client_order_id=client_order_id,
            kind=ClaimKind.FLATTEN,
            cancelled_order_ids=(*already_cancelled_ids, *cancel_order_ids),
        )
        actions: list[TransactWriteItemTypeDef] = [
            self._claim_action(account_id, claim),
            *self._cancel_actions(account_id, cancel_order_ids, updated_at),
            self._position_put(account_id, position, position.version),
        ]
        self._transact(actions)

    def cancel_order(self, account_id: str, broker_order_id: str, *, updated_at: str) -> PaperOrderItem:
        """Working → cancelled. Raises ``OrderNotWorking`` (with the current order, if any)."""
        return self._update_working(
            account_id,
            broker_order_id,
            "SET #status = :cancelled, #updated_at = :now",
            {":cancelled": to_attr(OrderStatus.CANCELLED.value), ":now": to_attr(updated_at)},
            {"#updated_at": "updated_at"},
        )

    def modify_order(self, account_id: str, command: ModifyOrder, *, updated_at: str) -> PaperOrderItem:
        """Changes the fields ``command`` sets on a working order, in place (same id). Raises
        ``OrderNotWorking`` (with the current order, if any)."""
        changes: dict[str, Any] = {
            "qty": command.qty,
            "limit_price": command.limit_price,
            "stop_price": command.stop_price,
            "modify_client_order_id": command.client_order_id,
            "updated_at": updated_at,
        }
        present = {name: value for name, value in changes.items() if value is not None}
        # The revision moves with every modify: a fill computed from the old prices then fails.
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in present) + " ADD #revision :one"
        names = {f"#{name}": name for name in present} | {"#revision": "revision"}
        values = {f":{name}": to_attr(value) for name, value in present.items()} | {":one": to_attr(1)}
        return self._update_working(account_id, command.broker_order_id, expression, values, names)

    # --- plumbing ------------------------------------------------------------------------------

    def _get(self, account_id: str, sk: str) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(
                TableName=self.table_name, Key=_key(account_id, sk), ConsistentRead=True
            )
        except (BotoCoreError, ClientError) as error:
            raise PaperStoreUnavailable(str(error)) from error
        item = response.get("Item")
        return None if item is None else from_item(item)

    def _query(
        self,
        account_id: str,
        sk_range: str | tuple[str, str],
        *,
        filter_expression: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The items of the account's partition whose ``sk`` starts with ``sk_range`` (a prefix) or
        lies between the two keys of ``sk_range`` (inclusive), after ``filter_expression``."""
        if isinstance(sk_range, str):
            condition, bounds = "begins_with(sk, :prefix)", {":prefix": to_attr(sk_range)}
        else:
            condition = "sk BETWEEN :low AND :high"
            bounds = {":low": to_attr(sk_range[0]), ":high": to_attr(sk_range[1])}
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": f"pk = :pk AND {condition}",
            "ExpressionAttributeValues": {":pk": to_attr(_pk(account_id)), **bounds, **(values or {})},
            "ConsistentRead": True,
        }
        if filter_expression is not None:
            arguments["FilterExpression"] = filter_expression
            arguments["ExpressionAttributeNames"] = names or {}
        try:
            while True:
                response = self._client.query(**arguments)
                for item in response.get("Items", []):
                    yield from_item(item)
                if "LastEvaluatedKey" not in response:
                    return
                arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except (BotoCoreError, ClientError) as error:
            raise PaperStoreUnavailable(str(error)) from error

    def _claim_action(self, account_id: str, claim: ClaimItem) -> TransactWriteItemTypeDef:
        values: dict[str, Any] = {
            "client_order_id": claim.client_order_id,
            "kind": claim.kind.value,
            "broker_order_id": claim.broker_order_id,
            "cancelled_order_ids": list(claim.cancelled_order_ids) or None,
        }
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": {**_key(account_id, _claim_sk(claim.client_order_id)), **to_item(values)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _cancel_actions(
        self, account_id: str, broker_order_ids: Sequence[str], updated_at: str
    ) -> list[TransactWriteItemTypeDef]:
        return [
            self._working_update(
                account_id,
                broker_order_id,
                "SET #status = :cancelled",
                {"#status": "status"},
                {":cancelled": to_attr(OrderStatus.CANCELLED.value)},
                updated_at,
            )
            for broker_order_id in broker_order_ids
        ]

    def _working_update(
        self,
        account_id: str,
        broker_order_id: str,
        expression: str,
        names: dict[str, str],
        values: dict[str, Any],
        updated_at: str,
    ) -> TransactWriteItemTypeDef:
        """A transaction action changing an order only while it is working."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(account_id, _order_sk(broker_order_id)),
                "UpdateExpression": f"{expression}, #updated_at = :now",
                "ConditionExpression": "#status = :working",
                "ExpressionAttributeNames": {**names, "#status": "status", "#updated_at": "updated_at"},
                "ExpressionAttributeValues": {
                    **values,
                    ":working": to_attr(OrderStatus.WORKING.value),
                    ":now": to_attr(updated_at),
                },
            }
        }

    def _order_put(self, account_id: str, order: PaperOrderItem) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self.table_name,
                # An id collision (50 random bits) fails here and is retried with a new id.
                "Item": {**_key(account_id, _order_sk(order.broker_order_id)), **_order_attrs(order)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _realized_action(
        self, account_id: str, realized_pnl: Decimal, updated_at: str
    ) -> TransactWriteItemTypeDef:
        # ADD in the fill's own transaction: counted exactly once, whoever else is filling.
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(account_id, _ACCOUNT_SK),
                "UpdateExpression": "ADD #realized :realized SET #updated_at = :now",
                "ExpressionAttributeNames": {"#realized": "realized_pnl", "#updated_at": "updated_at"},
                "ExpressionAttributeValues": {
                    ":realized": to_attr(realized_pnl),
                    ":now": to_attr(updated_at),
                },
            }
        }

    def _position_put(
        self, account_id: str, position: PaperPosition, expected_version: int
    ) -> TransactWriteItemTypeDef:
        values: dict[str, Any] = {
            "symbol": position.symbol,
            "qty": position.qty,
            "avg_price": position.avg_price,
            "cost": position.cost,
            "last_fill_price": position.last_fill_price,
            "version": expected_version + 1,
        }
        # Optimistic concurrency: written only if the stored version is still the one read.
        put: PutTypeDef = {
            "TableName": self.table_name,
            "Item": {**_key(account_id, _position_sk(position.symbol)), **to_item(values)},
            "ConditionExpression": "attribute_not_exists(pk)",  # never traded: still no item
        }
        if expected_version:
            put["ConditionExpression"] = "#version = :version"
            put["ExpressionAttributeNames"] = {"#version": "version"}
            put["ExpressionAttributeValues"] = {":version": to_attr(expected_version)}
        return {"Put": put}

    def _transact(self, actions: list[TransactWriteItemTypeDef], *, claims: int = 1) -> None:
        """Runs ``actions`` (the first ``claims`` of them claims) as one transaction, translating a
        cancellation."""
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if aws.error_code(error) != "TransactionCanceledException":
                raise PaperStoreUnavailable(str(error)) from error
            reasons = [reason.get("Code") for reason in _cancellation_reasons(error)]
            failed = {index for index, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
            if failed & set(range(claims)):  # a claim
                raise ClientOrderIdTaken(str(error)) from error
            if failed or "TransactionConflict" in reasons:
                raise WriteConflict(str(error)) from error
            # Throttling, validation and the like: not something a retry with fresh reads fixes.
            raise PaperStoreUnavailable(str(error)) from error
        except BotoCoreError as error:
            raise PaperStoreUnavailable(str(error)) from error

    def _update_working(
        self,
        account_id: str,
        broker_order_id: str,
        expression: str,
        values: dict[str, Any],
        names: dict[str, str],
    ) -> PaperOrderItem:
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key=_key(account_id, _order_sk(broker_order_id)),
                UpdateExpression=expression,
                ConditionExpression="#status = :working",
                ExpressionAttributeNames={**names, "#status": "status"},
                ExpressionAttributeValues={**values, ":working": to_attr(OrderStatus.WORKING.value)},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                raise OrderNotWorking(self.get_order(account_id, broker_order_id)) from error
            raise PaperStoreUnavailable(str(error)) from error
        except BotoCoreError as error:
            raise PaperStoreUnavailable(str(error)) from error
        return _order_from(from_item(response["Attributes"]))


def _order_attrs(order: PaperOrderItem) -> dict[str, Any]:
    return to_item(
        {
            "broker_order_id": order.broker_order_id,
            "client_order_id": order.client_order_id,
            "symbol": order.symbol,
            "side": order.side.value,
            "qty": order.qty,
            "order_type": order.order_type.value,
            "status": order.status.value,
            "created_at": order.created_at,
            "updated_at": order.created_at,
            "limit_price": order.limit_price,
            "stop_price": order.stop_price,
            "fill_price": order.fill_price,
            "reject_reason": order.reject_reason,
            "revision": order.revision,
            "parent_order_id": order.parent_order_id,
            "leg": None if order.leg is None else order.leg.value,
            "sibling_order_id": order.sibling_order_id,
            "leg_order_ids": list(order.leg_order_ids) or None,
            "held": order.held or None,
            "triggered": order.triggered or None,
        }
    )


def _revision_condition(revision: int) -> tuple[str, dict[str, Any]]:
    # Orders written before revisions existed have none: they count as revision 0.
    condition = "#revision = :revision"
    if revision == 0:
        condition = f"(attribute_not_exists(#revision) OR {condition})"
    return condition, {":revision": to_attr(revision)}


def _cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    # botocore copies the modelled ``CancellationReasons`` of the error into the response.
    reasons: list[dict[str, Any]] = error.response.get("CancellationReasons", [])  # type: ignore[assignment]
    return reasons
