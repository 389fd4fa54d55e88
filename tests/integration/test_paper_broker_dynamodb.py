"""The paper broker against DynamoDB Local: real transactions, conditions and racing callers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import boto3
import pytest

from tests.conftest import CopierTables
from tradecopier import aws
from tradecopier.brokers.base import BrokerRejected
from tradecopier.brokers.paper.broker import SIMULATED_REJECTION, PaperBroker
from tradecopier.brokers.paper.store import PaperStore
from tradecopier.brokers.registry import clear_cache, open_broker
from tradecopier.domain.enums import BrokerName, OrderStatus, Side, Simulate
from tradecopier.domain.orders import CancelOrder, FlattenPosition, FollowerOrder, ModifyOrder
from tradecopier.settings import ExecutorSettings

ACCOUNT = "EVAL-1"
RACERS = 20
T = TypeVar("T")


@pytest.fixture
def settings(copier_env: CopierTables) -> Iterator[ExecutorSettings]:
    aws.clear_clients("dynamodb")  # the cached client must see AWS_ENDPOINT_URL_DYNAMODB
    clear_cache()
    yield ExecutorSettings(
        copier_table_name=copier_env.copier, paper_table_name=copier_env.paper, resource_prefix="tc-paper"
    )
    aws.clear_clients("dynamodb")
    clear_cache()


@pytest.fixture
def broker(settings: ExecutorSettings) -> PaperBroker:
    return PaperBroker(ACCOUNT, PaperStore(settings.paper_table_name))


def order(
    client_order_id: str, side: str = "buy", qty: int = 1, order_type: str = "market", **fields: Any
) -> FollowerOrder:
    return FollowerOrder.model_validate(
        {
            "client_order_id": client_order_id,
            "account_id": ACCOUNT,
            "symbol": "NQZ6",
            "side": side,
            "qty": qty,
            "order_type": order_type,
            **fields,
        }
    )


def race(calls: list[Callable[[], T]]) -> list[T]:
    """Runs every call at once (released together by a barrier) and returns their results."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_market_fill_writes_order_claim_and_versioned_position(
    broker: PaperBroker, settings: ExecutorSettings
) -> None:
    placed = broker.place(order("c-1", "buy", 2, reference_price=Decimal("21450.25")))
    broker.place(order("c-2", "buy", 1, reference_price=Decimal("21460.50")))

    position = broker.positions()
    assert [(p.symbol, p.qty, p.avg_price) for p in position] == [("NQZ6", 3, Decimal("21453.66666667"))]
    client = boto3.client("dynamodb")
    items = client.query(
        TableName=settings.paper_table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ACCOUNT#{ACCOUNT}"}},
    )["Items"]
    by_sk = {item["sk"]["S"]: item for item in items}
    assert by_sk["CLIENT#c-1"]["broker_order_id"] == {"S": placed.broker_order_id}
    assert by_sk[f"ORDER#{placed.broker_order_id}"]["fill_price"] == {"N": "21450.25"}
    assert by_sk["POSITION#NQZ6"]["version"] == {"N": "2"}
    assert by_sk["POSITION#NQZ6"]["cost"] == {"N": "64361"}  # exact: 2 * 21450.25 + 21460.50
    assert len(by_sk) == 5


def test_twenty_threads_placing_one_client_order_id_create_exactly_one_order(
    settings: ExecutorSettings,
) -> None:
    # Each racer has its own adapter, as separate Lambda invocations would.
    brokers = [PaperBroker(ACCOUNT, PaperStore(settings.paper_table_name)) for _ in range(RACERS)]
    same = order("c-1", "buy", 2, reference_price=Decimal("100"))
    results = race([partial(b.place, same) for b in brokers])

    assert len({r.broker_order_id for r in results}) == 1, "every racer got the one order"
    assert len(brokers[0].orders()) == 1
    assert [(p.qty, p.avg_price) for p in brokers[0].positions()] == [(2, Decimal("100"))]


def test_twenty_threads_placing_one_limit_client_order_id_create_exactly_one_order(
    settings: ExecutorSettings,
) -> None:
    brokers = [PaperBroker(ACCOUNT, PaperStore(settings.paper_table_name)) for _ in range(RACERS)]
    same = order("c-1", "sell", 1, "limit", limit_price=Decimal("110"))
    results = race([partial(b.place, same) for b in brokers])
    assert len({r.broker_order_id for r in results}) == 1
    assert [o.status for o in brokers[0].orders()] == [OrderStatus.WORKING]


def test_twenty_threads_placing_different_orders_all_land_in_the_position(settings: ExecutorSettings) -> None:
    brokers = [PaperBroker(ACCOUNT, PaperStore(settings.paper_table_name)) for _ in range(RACERS)]
    results = race(
        [
            partial(b.place, order(f"c-{i}", "buy", 1, reference_price=Decimal(100 + i)))
            for i, b in enumerate(brokers)
        ]
    )

    assert len({r.broker_order_id for r in results}) == RACERS
    (position,) = brokers[0].positions()
    assert position.qty == RACERS, "no fill was lost to a concurrent read-modify-write"
    assert position.avg_price == Decimal("109.5")  # (100 + ... + 119) / 20, exact


def test_concurrent_flattens_with_one_client_order_id_close_once(settings: ExecutorSettings) -> None:
    brokers = [PaperBroker(ACCOUNT, PaperStore(settings.paper_table_name)) for _ in range(10)]
    brokers[0].place(order("c-1", "sell", 3, reference_price=Decimal("100")))
    stop = brokers[0].place(order("c-2", "buy", 3, "stop", stop_price=Decimal("105")))

    results = race([partial(b.flatten, FlattenPosition("NQZ6", "flat-1")) for b in brokers])

    assert all(r == results[0] for r in results)
    closing = results[0].closing_order
    assert closing is not None and (closing.side, closing.qty) == (Side.BUY, 3)
    assert results[0].cancelled_order_ids == [stop.broker_order_id]
    assert brokers[0].positions() == []
    assert len(brokers[0].orders()) == 3


def test_fill_racing_a_flatten_is_never_left_half_closed(settings: ExecutorSettings) -> None:
    brokers = [PaperBroker(ACCOUNT, PaperStore(settings.paper_table_name)) for _ in range(RACERS)]
    brokers[0].place(order("c-0", "buy", 5, reference_price=Decimal("100")))
    calls: list[Callable[[], object]] = [
        partial(b.place, order(f"c-{i}", "buy", 1, reference_price=Decimal("101")))
        for i, b in enumerate(brokers[1:], start=1)
    ]
    calls.append(partial(brokers[0].flatten, FlattenPosition("NQZ6", "flat-1")))
    race(calls)

    (flatten,) = [o for o in brokers[0].orders() if o.client_order_id == "flat-1"]
    bought = 5 + (RACERS - 1)
    assert 5 <= flatten.qty <= bought, "the flatten closed what was open when it committed"
    assert sum(p.qty for p in brokers[0].positions()) == bought - flatten.qty, "no fill lost or closed twice"


def test_modify_cancel_and_lifecycle_through_the_registry(settings: ExecutorSettings) -> None:
    broker = open_broker(ACCOUNT, BrokerName.PAPER, None, settings)
    placed = broker.place(order("c-1", "buy", 1, "limit", limit_price=Decimal("99.75")))
    modified = broker.modify(
        ModifyOrder(
            broker_order_id=placed.broker_order_id,
            client_order_id="c-1-m",
            qty=2,
            limit_price=Decimal("99.5"),
        )
    )
    assert (modified.broker_order_id, modified.qty, modified.limit_price) == (
        placed.broker_order_id,
        2,
        Decimal("99.5"),
    )
    cancelled = broker.cancel(CancelOrder(placed.broker_order_id))
    assert cancelled.status is OrderStatus.CANCELLED
    assert broker.cancel(CancelOrder(placed.broker_order_id)) == cancelled
    with pytest.raises(BrokerRejected, match="is cancelled, cannot modify"):
        broker.modify(ModifyOrder(broker_order_id=placed.broker_order_id, client_order_id="m2", qty=3))
    assert broker.find_by_client_order_id("c-1") == cancelled


def test_simulated_rejection_is_listed_with_the_accounts_orders(settings: ExecutorSettings) -> None:
    broker = open_broker(ACCOUNT, BrokerName.PAPER, Simulate.REJECT, settings)
    with pytest.raises(BrokerRejected, match=r"simulated rejection \(simulate=reject\)"):
        broker.place(order("c-1", reference_price=Decimal("100")))
    live = open_broker(ACCOUNT, BrokerName.PAPER, None, settings)
    (rejected,) = live.orders()
    assert rejected.status is OrderStatus.REJECTED and rejected.reject_reason == SIMULATED_REJECTION
    with pytest.raises(BrokerRejected):  # the same client order id stays rejected
        live.place(order("c-1", reference_price=Decimal("100")))
    assert live.positions() == [] and len(live.orders()) == 1
