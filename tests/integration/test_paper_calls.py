"""The paper broker's DynamoDB calls for what a copy does (a mark, then a market order), against
DynamoDB Local: how many, and that the position the mark read is never trusted past its version."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import CopierTables
from tradecopier import aws
from tradecopier.brokers.paper.broker import PaperBroker
from tradecopier.brokers.paper.store import PaperStore
from tradecopier.brokers.registry import clear_cache
from tradecopier.domain.enums import OrderStatus, OrderType
from tradecopier.domain.orders import FollowerOrder

ACCOUNT = "EVAL-CALLS"
SYMBOL = "NQZ6"
D = Decimal


@pytest.fixture
def table(copier_env: CopierTables) -> Iterator[str]:
    aws.clear_clients("dynamodb")  # the cached client must see AWS_ENDPOINT_URL_DYNAMODB
    clear_cache()
    yield copier_env.paper
    aws.clear_clients("dynamodb")
    clear_cache()


@pytest.fixture
def calls(table: str) -> Iterator[Counter[str]]:
    """DynamoDB operations the (cached) client makes from here on."""
    counted: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    client = aws.client("dynamodb")
    client.meta.events.register("before-call.dynamodb", count)
    yield counted
    client.meta.events.unregister("before-call.dynamodb", count)


def market(client_order_id: str, side: str, qty: int, price: str) -> FollowerOrder:
    return FollowerOrder.model_validate(
        {
            "client_order_id": client_order_id,
            "account_id": ACCOUNT,
            "symbol": SYMBOL,
            "side": side,
            "qty": qty,
            "order_type": "market",
            "reference_price": price,
        }
    )


def test_a_mark_then_a_market_order_is_one_read_and_two_writes(table: str, calls: Counter[str]) -> None:
    broker = PaperBroker(ACCOUNT, PaperStore(table))
    broker.place(market("open", "buy", 2, "100"))  # a position with a version to fill against
    calls.clear()

    assert broker.mark(SYMBOL, D("101")) == []
    placed = broker.place(market("copy", "sell", 1, "101"))

    assert placed.status is OrderStatus.FILLED
    assert calls == Counter({"PutItem": 1, "Query": 1, "TransactWriteItems": 1})
    position = broker.position(SYMBOL)
    assert (position.qty, position.avg_price) == (1, D("100"))
    assert broker.snapshot().balance == D(50000) + D(20)  # 1 NQ point = 20 USD realized


def test_a_position_that_changed_after_the_mark_read_it_is_read_again(
    table: str, calls: Counter[str]
) -> None:
    broker = PaperBroker(ACCOUNT, PaperStore(table))
    other = PaperBroker(ACCOUNT, PaperStore(table))  # another container, same account
    broker.place(market("open", "buy", 1, "100"))
    broker.mark(SYMBOL, D("100"))  # reads the position: long 1
    other.place(market("elsewhere", "buy", 2, "110"))  # now long 3, at a new version
    calls.clear()

    broker.place(market("copy", "sell", 3, "120"))

    # The fill written from the stale read lost on its version; the retry read the position again.
    assert calls["TransactWriteItems"] == 2 and calls["GetItem"] == 1
    position = broker.position(SYMBOL)
    assert position.qty == 0
    realized = (D(120) - D(100)) * 20 + (D(120) - D(110)) * 2 * 20
    assert broker.snapshot().balance == D(50000) + realized


def test_the_position_a_mark_read_serves_one_order_only(table: str, calls: Counter[str]) -> None:
    broker = PaperBroker(ACCOUNT, PaperStore(table))
    broker.mark(SYMBOL, D("100"))
    broker.place(market("first", "buy", 1, "100"))
    calls.clear()

    broker.place(market("second", "buy", 1, "100"))

    assert calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
    assert broker.position(SYMBOL).qty == 2


def test_a_mark_fills_a_working_order_from_the_same_read(table: str, calls: Counter[str]) -> None:
    broker = PaperBroker(ACCOUNT, PaperStore(table))
    broker.place(market("open", "buy", 1, "100"))
    stop = FollowerOrder.model_validate(
        {
            "client_order_id": "stop",
            "account_id": ACCOUNT,
            "symbol": SYMBOL,
            "side": "sell",
            "qty": 1,
            "order_type": "stop",
            "stop_price": "95",
        }
    )
    broker.place(stop)
    broker.place(market("other-symbol", "buy", 1, "50").model_copy(update={"symbol": "ESZ6"}))
    calls.clear()

    filled = broker.mark(SYMBOL, D("94"))

    assert [order.client_order_id for order in filled] == ["stop"]
    # the mark, a read, the fill, a read that finds nothing more to fill: no read of its own
    assert calls == Counter({"PutItem": 1, "Query": 2, "TransactWriteItems": 1})
    assert broker.position(SYMBOL).qty == 0
    assert broker.position("ESZ6").qty == 1


def test_an_order_that_is_not_filled_at_once_drops_what_the_mark_read(
    table: str, calls: Counter[str]
) -> None:
    broker = PaperBroker(ACCOUNT, PaperStore(table))
    broker.mark(SYMBOL, D("100"))
    limit = market("limit", "buy", 1, "100").model_copy(
        update={"order_type": OrderType.LIMIT, "limit_price": D("90")}
    )
    broker.place(limit)
    calls.clear()

    broker.place(market("later", "buy", 1, "100"))  # no mark in between: its own read

    assert calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
    assert broker.position(SYMBOL).qty == 1
