"""The paper broker's rules, on an in-process DynamoDB (moto); concurrency against DynamoDB Local
lives in tests/integration/test_paper_broker_dynamodb.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from moto import mock_aws

from tradecopier import aws
from tradecopier.brokers.base import (
    BROKER_CAPABILITIES,
    BrokerCapabilities,
    BrokerOrder,
    BrokerPosition,
    BrokerRejected,
    BrokerUnreachable,
)
from tradecopier.brokers.paper import broker as paper_module
from tradecopier.brokers.paper.broker import (
    SIMULATED_DISCONNECT,
    SIMULATED_REJECTION,
    PaperBroker,
    new_broker_order_id,
)
from tradecopier.brokers.paper.fills import PaperPosition
from tradecopier.brokers.paper.store import PaperStore
from tradecopier.brokers.registry import BROKER_FACTORIES, UnsupportedBroker, clear_cache, open_broker
from tradecopier.domain.enums import BrokerName, Leg, OrderStatus, OrderType, Side, Simulate
from tradecopier.domain.orders import CancelOrder, FlattenPosition, FollowerOrder, ModifyOrder
from tradecopier.settings import ExecutorSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ACCOUNT = "EVAL-1"
TABLE = "paper-unit"


@pytest.fixture
def client() -> Iterator[DynamoDBClient]:
    with mock_aws():
        aws.clear_clients("dynamodb")
        dynamodb = aws.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb
    aws.clear_clients("dynamodb")


@pytest.fixture
def store(client: DynamoDBClient) -> PaperStore:
    return PaperStore(TABLE)


@pytest.fixture
def broker(store: PaperStore) -> PaperBroker:
    return PaperBroker(ACCOUNT, store)


def order(
    client_order_id: str,
    side: str = "buy",
    qty: int = 1,
    order_type: str = "market",
    *,
    symbol: str = "NQZ6",
    account_id: str = ACCOUNT,
    **prices: Any,
) -> FollowerOrder:
    return FollowerOrder.model_validate(
        {
            "client_order_id": client_order_id,
            "account_id": account_id,
            "symbol": symbol,
            "side": side,
            "qty": qty,
            "order_type": order_type,
            **prices,
        }
    )


def position_of(broker: PaperBroker, symbol: str = "NQZ6") -> tuple[int, Decimal | None] | None:
    found = [(p.qty, p.avg_price) for p in broker.positions() if p.symbol == symbol]
    return found[0] if found else None


# --- market orders and positions ---------------------------------------------------------------


def test_market_order_fills_at_reference_price_and_opens_position(broker: PaperBroker) -> None:
    placed = broker.place(order("c-1", "buy", 2, reference_price=Decimal("21450.25")))
    assert placed.status is OrderStatus.FILLED
    assert placed.fill_price == Decimal("21450.25")
    assert re.fullmatch(r"P-[A-Z2-7]{10}", placed.broker_order_id)
    assert placed.client_order_id == "c-1" and placed.qty == 2 and placed.side is Side.BUY
    assert position_of(broker) == (2, Decimal("21450.25"))


def test_adding_in_same_direction_weights_the_average_price(broker: PaperBroker) -> None:
    broker.place(order("c-1", "buy", 1, reference_price=Decimal("100.25")))
    broker.place(order("c-2", "buy", 3, reference_price=Decimal("101.50")))
    assert position_of(broker) == (4, Decimal("101.1875"))


def test_short_position_is_negative_and_averages_too(broker: PaperBroker) -> None:
    broker.place(order("c-1", "sell", 2, reference_price=Decimal("50")))
    broker.place(order("c-2", "sell", 2, reference_price=Decimal("52")))
    assert position_of(broker) == (-4, Decimal("51"))


def test_partial_close_keeps_the_average_price(broker: PaperBroker) -> None:
    broker.place(order("c-1", "buy", 3, reference_price=Decimal("100")))
    broker.place(order("c-2", "buy", 1, reference_price=Decimal("104")))
    broker.place(order("c-3", "sell", 2, reference_price=Decimal("110")))
    assert position_of(broker) == (2, Decimal("101"))


def test_flip_sets_average_to_the_flipping_fill_price(broker: PaperBroker) -> None:
    broker.place(order("c-1", "buy", 2, reference_price=Decimal("100")))
    broker.place(order("c-2", "sell", 5, reference_price=Decimal("95.75")))
    assert position_of(broker) == (-3, Decimal("95.75"))


def test_closing_to_flat_leaves_no_open_position(broker: PaperBroker) -> None:
    broker.place(order("c-1", "buy", 2, reference_price=Decimal("100")))
    broker.place(order("c-2", "sell", 2, reference_price=Decimal("101")))
    assert broker.positions() == []
    broker.place(order("c-3", "buy", 1, reference_price=Decimal("90")))
    assert position_of(broker) == (1, Decimal("90")), "a new position starts a new average"


def test_positions_are_kept_per_symbol(broker: PaperBroker) -> None:
    broker.place(order("c-1", "buy", 2, symbol="NQZ6", reference_price=Decimal("100")))
    broker.place(order("c-2", "sell", 7, symbol="MNQZ6", reference_price=Decimal("100")))
    assert {(p.symbol, p.qty) for p in broker.positions()} == {("NQZ6", 2), ("MNQZ6", -7)}


def test_uneven_average_is_rounded_to_eight_decimals(broker: PaperBroker) -> None:
    broker.place(order("c-1", "buy", 1, reference_price=Decimal("100")))
    broker.place(order("c-2", "buy", 2, reference_price=Decimal("101")))
    assert position_of(broker) == (3, Decimal("100.66666667"))


def test_average_never_has_more_than_eight_decimals(broker: PaperBroker) -> None:
    broker.place(order("c-1", "buy", 1023, reference_price=Decimal("0.25")))
    broker.place(order("c-2", "buy", 1, reference_price=Decimal("1.25")))
    assert position_of(broker) == (1024, Decimal("0.25097656"))  # 257 / 1024 = 0.2509765625 exactly
    broker.place(order("c-3", "buy", 1024, reference_price=Decimal("0.25")))
    assert position_of(broker) == (2048, Decimal("0.25048828"))  # 513 / 2048, rounded


def test_prices_stay_exact_decimals_in_the_table(broker: PaperBroker, client: DynamoDBClient) -> None:
    broker.place(order("c-1", "buy", 1, reference_price=Decimal("0.1")))
    broker.place(order("c-2", "buy", 1, reference_price=Decimal("0.2")))
    assert position_of(broker) == (2, Decimal("0.15"))  # 0.1 + 0.2 in floats is 0.30000000000000004
    raw = client.get_item(
        TableName=TABLE, Key={"pk": {"S": f"ACCOUNT#{ACCOUNT}"}, "sk": {"S": "POSITION#NQZ6"}}
    )
    assert raw["Item"]["avg_price"] == {"N": "0.15"}
    assert raw["Item"]["qty"] == {"N": "2"}


def test_market_order_without_reference_price_fills_at_last_fill_price(broker: PaperBroker) -> None:
    broker.place(order("c-1", "buy", 1, reference_price=Decimal("200.5")))
    placed = broker.place(order("c-2", "buy", 1))
    assert placed.fill_price == Decimal("200.5")
    assert position_of(broker) == (2, Decimal("200.5"))


def test_market_order_without_any_known_price_fills_unpriced(broker: PaperBroker) -> None:
    placed = broker.place(order("c-1", "sell", 3))
    assert placed.status is OrderStatus.FILLED and placed.fill_price is None
    assert position_of(broker) == (-3, None)
    broker.place(order("c-2", "buy", 1, reference_price=Decimal("10")))
    assert position_of(broker) == (-2, None), "quantities stay right while the average is unknown"


# --- resting orders and validation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_type", "prices"),
    [
        ("limit", {"limit_price": Decimal("21400")}),
        ("stop", {"stop_price": Decimal("21500")}),
        ("stop_limit", {"stop_price": Decimal("21500"), "limit_price": Decimal("21505")}),
    ],
)
def test_non_market_orders_rest_working_and_leave_position_flat(
    broker: PaperBroker, order_type: str, prices: dict[str, Any]
) -> None:
    placed = broker.place(order("c-1", "buy", 2, order_type, **prices))
    assert placed.status is OrderStatus.WORKING and placed.fill_price is None
    assert placed.limit_price == prices.get("limit_price") and placed.stop_price == prices.get("stop_price")
    assert broker.positions() == []


def test_limit_order_without_limit_price_is_recorded_rejected(broker: PaperBroker) -> None:
    with pytest.raises(BrokerRejected, match="a limit order needs limit_price"):
        broker.place(order("c-1", "buy", 1, "limit"))
    (recorded,) = broker.orders()
    assert (
        recorded.status is OrderStatus.REJECTED
        and recorded.reject_reason == "a limit order needs limit_price"
    )


def test_order_for_another_account_is_refused_and_records_nothing(broker: PaperBroker) -> None:
    with pytest.raises(BrokerRejected, match="sent to account EVAL-1"):
        broker.place(order("c-1", account_id="EVAL-2"))
    assert broker.orders() == [] and PaperBroker("EVAL-2", broker._store).orders() == []


# --- idempotency -------------------------------------------------------------------------------


def test_place_twice_with_same_client_order_id_returns_first_order(broker: PaperBroker) -> None:
    first = broker.place(order("c-1", "buy", 2, reference_price=Decimal("100")))
    again = broker.place(order("c-1", "buy", 2, reference_price=Decimal("105")))
    assert again == first
    assert len(broker.orders()) == 1
    assert position_of(broker) == (2, Decimal("100")), "the position counts the order once"


def test_place_that_loses_the_client_order_id_race_returns_the_winners_order(store: PaperStore) -> None:
    broker = PaperBroker(ACCOUNT, store)
    rival = PaperBroker(ACCOUNT, PaperStore(TABLE))
    winner: list[BrokerOrder] = []
    read_position = store.get_position

    def rival_places_first(account_id: str, symbol: str) -> PaperPosition:
        position = read_position(account_id, symbol)
        if not winner:  # between our read and our write
            winner.append(rival.place(order("c-1", "buy", 1, reference_price=Decimal("100"))))
        return position

    store.get_position = rival_places_first  # type: ignore[method-assign]
    placed = broker.place(order("c-1", "buy", 1, reference_price=Decimal("100")))
    assert placed == winner[0]
    assert len(broker.orders()) == 1 and position_of(broker) == (1, Decimal("100"))


def test_position_changed_between_read_and_write_is_recomputed(store: PaperStore) -> None:
    broker = PaperBroker(ACCOUNT, store)
    rival = PaperBroker(ACCOUNT, PaperStore(TABLE))
    read_position = store.get_position
    reads = 0

    def rival_fills_in_between(account_id: str, symbol: str) -> PaperPosition:
        nonlocal reads
        reads += 1
        position = read_position(account_id, symbol)
        if reads == 1:
            rival.place(order("rival", "buy", 3, reference_price=Decimal("100")))
        return position

    store.get_position = rival_fills_in_between  # type: ignore[method-assign]
    broker.place(order("c-1", "buy", 1, reference_price=Decimal("104")))
    assert reads == 2, "the stale write was refused and the position read again"
    assert position_of(broker) == (4, Decimal("101"))


def test_find_by_client_order_id(broker: PaperBroker) -> None:
    placed = broker.place(order("c-1", "buy", 1, "limit", limit_price=Decimal("99")))
    assert broker.find_by_client_order_id("c-1") == placed
    assert broker.find_by_client_order_id("nope") is None


# --- modify and cancel -------------------------------------------------------------------------


def test_modify_working_order_keeps_its_id_and_changes_only_given_fields(broker: PaperBroker) -> None:
    placed = broker.place(
        order("c-1", "buy", 2, "stop_limit", stop_price=Decimal("101"), limit_price=Decimal("102"))
    )
    modified = broker.modify(
        ModifyOrder(
            broker_order_id=placed.broker_order_id,
            client_order_id="c-1m",
            qty=3,
            limit_price=Decimal("102.25"),
        )
    )
    assert modified.broker_order_id == placed.broker_order_id
    assert (modified.qty, modified.limit_price, modified.stop_price) == (3, Decimal("102.25"), Decimal("101"))
    assert modified.status is OrderStatus.WORKING and modified.client_order_id == "c-1"
    assert broker.orders() == [modified]


def test_modify_filled_order_is_rejected(broker: PaperBroker) -> None:
    filled = broker.place(order("c-1", reference_price=Decimal("100")))
    with pytest.raises(BrokerRejected) as rejected:
        broker.modify(ModifyOrder(broker_order_id=filled.broker_order_id, client_order_id="m", qty=2))
    assert rejected.value.reason == f"order {filled.broker_order_id} is filled, cannot modify"
    assert broker.orders() == [filled]


def test_modify_cancelled_or_unknown_order_is_rejected(broker: PaperBroker) -> None:
    placed = broker.place(order("c-1", "buy", 1, "limit", limit_price=Decimal("99")))
    broker.cancel(CancelOrder(placed.broker_order_id))
    with pytest.raises(BrokerRejected, match="is cancelled, cannot modify"):
        broker.modify(ModifyOrder(broker_order_id=placed.broker_order_id, client_order_id="m", qty=2))
    with pytest.raises(BrokerRejected, match="order P-NOPE not found"):
        broker.modify(ModifyOrder(broker_order_id="P-NOPE", client_order_id="m", qty=2))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"stop_price": Decimal("98")}, "it takes no stop_price"),
        ({"qty": 0}, "cannot be modified to qty 0"),
        ({"limit_price": Decimal("99.123456789")}, "cannot be modified"),
        ({"limit_price": Decimal("-1")}, "cannot be modified"),
    ],
)
def test_invalid_modify_is_rejected_and_changes_nothing(
    broker: PaperBroker, change: dict[str, Any], reason: str
) -> None:
    placed = broker.place(order("c-1", "buy", 1, "limit", limit_price=Decimal("99")))
    arguments: dict[str, Any] = {"qty": None, "limit_price": None, "stop_price": None} | change
    with pytest.raises(BrokerRejected, match=reason):
        broker.modify(ModifyOrder(broker_order_id=placed.broker_order_id, client_order_id="m", **arguments))
    assert broker.orders() == [placed]


def test_cancel_working_order_then_again_returns_it_unchanged(broker: PaperBroker) -> None:
    placed = broker.place(order("c-1", "sell", 1, "stop", stop_price=Decimal("95")))
    cancelled = broker.cancel(CancelOrder(placed.broker_order_id))
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.broker_order_id == placed.broker_order_id
    assert broker.cancel(CancelOrder(placed.broker_order_id)) == cancelled


def test_cancel_filled_or_unknown_order_is_rejected(broker: PaperBroker) -> None:
    filled = broker.place(order("c-1", reference_price=Decimal("100")))
    with pytest.raises(BrokerRejected, match=f"order {filled.broker_order_id} is filled, cannot cancel"):
        broker.cancel(CancelOrder(filled.broker_order_id))
    with pytest.raises(BrokerRejected, match="not found"):
        broker.cancel(CancelOrder("P-NOPE"))


# --- flatten -----------------------------------------------------------------------------------


def test_flatten_cancels_working_orders_in_that_symbol_only_and_closes_the_position(
    broker: PaperBroker,
) -> None:
    broker.place(order("c-1", "buy", 3, reference_price=Decimal("100")))
    broker.place(order("c-2", "sell", 1, reference_price=Decimal("102.5")))
    stop = broker.place(order("c-3", "sell", 2, "stop", stop_price=Decimal("95")))
    target = broker.place(order("c-4", "sell", 2, "limit", limit_price=Decimal("110")))
    other = broker.place(order("c-5", "buy", 1, "limit", symbol="ESZ6", limit_price=Decimal("6000")))

    result = broker.flatten(FlattenPosition("NQZ6", "flat-1"))

    assert sorted(result.cancelled_order_ids) == sorted([stop.broker_order_id, target.broker_order_id])
    closing = result.closing_order
    assert closing is not None
    assert (closing.side, closing.qty, closing.order_type) == (Side.SELL, 2, OrderType.MARKET)
    assert closing.status is OrderStatus.FILLED and closing.client_order_id == "flat-1"
    assert closing.fill_price == Decimal("102.5"), "the last fill price seen in the symbol"
    assert broker.positions() == []
    statuses = {o.broker_order_id: o.status for o in broker.orders()}
    assert statuses[other.broker_order_id] is OrderStatus.WORKING
    assert statuses[stop.broker_order_id] is statuses[target.broker_order_id] is OrderStatus.CANCELLED


def test_flatten_closes_a_short_with_a_buy(broker: PaperBroker) -> None:
    broker.place(order("c-1", "sell", 4, reference_price=Decimal("100")))
    closing = broker.flatten(FlattenPosition("NQZ6", "flat-1")).closing_order
    assert closing is not None and (closing.side, closing.qty) == (Side.BUY, 4)
    assert broker.positions() == []


def test_retried_flatten_returns_first_result_and_never_closes_twice(broker: PaperBroker) -> None:
    broker.place(order("c-1", "buy", 2, reference_price=Decimal("100")))
    working = broker.place(order("c-2", "sell", 2, "limit", limit_price=Decimal("110")))
    first = broker.flatten(FlattenPosition("NQZ6", "flat-1"))
    # The follower trades again before the retry arrives: the retry must not touch any of it.
    broker.place(order("c-3", "sell", 1, reference_price=Decimal("101")))
    later = broker.place(order("c-4", "buy", 1, "limit", limit_price=Decimal("90")))

    again = broker.flatten(FlattenPosition("NQZ6", "flat-1"))

    assert again == first and first.cancelled_order_ids == [working.broker_order_id]
    assert position_of(broker) == (-1, Decimal("101"))
    assert broker.find_by_client_order_id(later.client_order_id) == later
    assert len(broker.orders()) == 5


def test_flatten_when_flat_places_nothing_and_is_remembered(broker: PaperBroker) -> None:
    working = broker.place(order("c-1", "buy", 1, "limit", limit_price=Decimal("90")))
    result = broker.flatten(FlattenPosition("NQZ6", "flat-1"))
    assert result.closing_order is None and result.cancelled_order_ids == [working.broker_order_id]
    broker.place(order("c-2", "buy", 1, reference_price=Decimal("91")))
    assert broker.flatten(FlattenPosition("NQZ6", "flat-1")) == result
    assert position_of(broker) == (1, Decimal("91"))
    assert broker.find_by_client_order_id("flat-1") is None
    with pytest.raises(BrokerRejected, match="used by a flatten that placed no order"):
        broker.place(order("flat-1", reference_price=Decimal("91")))


def test_flatten_with_a_client_order_id_used_by_an_order_is_rejected(broker: PaperBroker) -> None:
    placed = broker.place(order("c-1", "buy", 1, reference_price=Decimal("100")))
    with pytest.raises(BrokerRejected, match=f"already used by order {placed.broker_order_id}"):
        broker.flatten(FlattenPosition("NQZ6", "c-1"))
    assert position_of(broker) == (1, Decimal("100"))


def test_flatten_with_more_working_orders_than_one_transaction_holds(
    broker: PaperBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paper_module, "MAX_CANCELS_PER_TRANSACTION", 2)
    broker.place(order("c-0", "buy", 1, reference_price=Decimal("100")))
    ids = {
        broker.place(order(f"c-{i}", "sell", 1, "stop", stop_price=Decimal(90 + i))).broker_order_id
        for i in range(1, 6)
    }
    result = broker.flatten(FlattenPosition("NQZ6", "flat-1"))
    assert set(result.cancelled_order_ids) == ids and len(result.cancelled_order_ids) == 5
    assert all(o.status is not OrderStatus.WORKING for o in broker.orders())
    assert broker.positions() == [] and broker.flatten(FlattenPosition("NQZ6", "flat-1")) == result


# --- simulate ----------------------------------------------------------------------------------


def test_simulate_reject_records_a_rejected_order_and_raises(store: PaperStore) -> None:
    broker = PaperBroker(ACCOUNT, store, simulate=Simulate.REJECT)
    for _ in range(2):
        with pytest.raises(BrokerRejected) as rejected:
            broker.place(order("c-1", reference_price=Decimal("100")))
        assert rejected.value.reason == SIMULATED_REJECTION
    (recorded,) = broker.orders()
    assert recorded.status is OrderStatus.REJECTED and recorded.reject_reason == SIMULATED_REJECTION
    assert broker.positions() == []


def test_simulate_reject_refuses_modify_cancel_and_flatten_and_changes_nothing(store: PaperStore) -> None:
    live = PaperBroker(ACCOUNT, store)
    live.place(order("c-1", "buy", 1, reference_price=Decimal("100")))
    working = live.place(order("c-2", "sell", 1, "limit", limit_price=Decimal("110")))
    rejecting = PaperBroker(ACCOUNT, store, simulate=Simulate.REJECT)
    calls: list[Callable[[], object]] = [
        lambda: rejecting.modify(
            ModifyOrder(broker_order_id=working.broker_order_id, client_order_id="m", qty=2)
        ),
        lambda: rejecting.cancel(CancelOrder(working.broker_order_id)),
        lambda: rejecting.flatten(FlattenPosition("NQZ6", "flat-1")),
    ]
    before = live.orders()
    for call in calls:
        with pytest.raises(BrokerRejected, match=re.escape(SIMULATED_REJECTION)):
            call()
    assert rejecting.orders() == before and position_of(rejecting) == (1, Decimal("100"))


def test_simulate_disconnect_raises_unreachable_and_records_nothing(store: PaperStore) -> None:
    live = PaperBroker(ACCOUNT, store)
    working = live.place(order("c-1", "sell", 1, "limit", limit_price=Decimal("110")))
    down = PaperBroker(ACCOUNT, store, simulate=Simulate.DISCONNECT)
    calls: list[Callable[[], object]] = [
        lambda: down.place(order("c-2", reference_price=Decimal("100"))),
        lambda: down.modify(ModifyOrder(broker_order_id=working.broker_order_id, client_order_id="m", qty=2)),
        lambda: down.cancel(CancelOrder(working.broker_order_id)),
        lambda: down.flatten(FlattenPosition("NQZ6", "flat-1")),
    ]
    for call in calls:
        with pytest.raises(BrokerUnreachable, match=re.escape(SIMULATED_DISCONNECT)):
            call()
    assert down.orders() == [working] and down.positions() == []
    assert down.find_by_client_order_id("c-2") is None


def bracketed(client_order_id: str, **fields: Any) -> FollowerOrder:
    """A buy limit at 100 with a take-profit at 110 and a stop-loss at 95."""
    return order(
        client_order_id,
        "buy",
        1,
        "limit",
        limit_price=Decimal("100"),
        bracket={"qty": 1, "take_profit": Decimal("110"), "stop_loss": Decimal("95")},
        **fields,
    )


def test_simulate_reject_records_a_bracket_as_its_rejected_entry_alone(store: PaperStore) -> None:
    rejecting = PaperBroker(ACCOUNT, store, simulate=Simulate.REJECT)
    for call in (rejecting.place_bracket, rejecting.place):
        with pytest.raises(BrokerRejected, match=re.escape(SIMULATED_REJECTION)):
            call(bracketed("c-1"))
    (recorded,) = rejecting.orders()
    assert recorded.status is OrderStatus.REJECTED and recorded.leg is None


def test_a_rejecting_broker_still_has_a_market(store: PaperStore) -> None:
    working = PaperBroker(ACCOUNT, store).place(order("c-1", "buy", 1, "limit", limit_price=Decimal("100")))
    rejecting = PaperBroker(ACCOUNT, store, simulate=Simulate.REJECT)
    assert [filled.broker_order_id for filled in rejecting.mark("NQZ6", Decimal("99"))] == [
        working.broker_order_id
    ]
    assert rejecting.position("NQZ6").qty == 1 and rejecting.snapshot().positions == {"NQZ6": 1}


def test_simulate_disconnect_refuses_the_market_calls_and_records_nothing(store: PaperStore) -> None:
    live = PaperBroker(ACCOUNT, store)
    working = live.place(order("c-1", "buy", 1, "limit", limit_price=Decimal("100")))
    down = PaperBroker(ACCOUNT, store, simulate=Simulate.DISCONNECT)
    calls: list[Callable[[], object]] = [
        lambda: down.place_bracket(bracketed("c-2")),
        lambda: down.place(bracketed("c-3")),
        lambda: down.mark("NQZ6", Decimal("99")),
        lambda: down.position("NQZ6"),
        down.snapshot,
    ]
    for call in calls:
        with pytest.raises(BrokerUnreachable, match=re.escape(SIMULATED_DISCONNECT)):
            call()
    assert live.orders() == [working] and live.snapshot().positions == {}


def test_mark_at_a_price_that_is_not_positive_is_refused(broker: PaperBroker) -> None:
    for price in (Decimal(0), Decimal(-1), Decimal("NaN")):
        with pytest.raises(BrokerRejected):
            broker.mark("NQZ6", price)


def test_position_of_a_symbol_never_traded_is_flat(broker: PaperBroker) -> None:
    assert broker.position("ESH7") == BrokerPosition(symbol="ESH7", qty=0, avg_price=None)


def test_bracket_with_only_a_stop_loss_places_one_leg(broker: PaperBroker) -> None:
    placed = broker.place_bracket(
        order(
            "c-1", "sell", 2, reference_price=Decimal("100"), bracket={"qty": 2, "stop_loss": Decimal("104")}
        )
    )
    assert placed.take_profit is None and placed.stop_loss is not None
    assert (placed.stop_loss.side, placed.stop_loss.qty, placed.stop_loss.client_order_id) == (
        Side.BUY,
        2,
        "c-1:sl",
    )
    assert [filled.leg for filled in broker.mark("NQZ6", Decimal("104"))] == [Leg.STOP_LOSS]
    assert broker.snapshot().balance == Decimal("49840.00")  # 2 NQ x -4 points x 20


def test_a_leg_whose_client_order_id_is_taken_refuses_the_bracket(broker: PaperBroker) -> None:
    broker.place(order("c-1:tp", "sell", 1, "limit", limit_price=Decimal("120")))
    with pytest.raises(BrokerRejected, match="leg of c-1 is already used"):
        broker.place_bracket(bracketed("c-1"))
    assert len(broker.orders()) == 1


# --- fault injection ---------------------------------------------------------------------------


def test_response_lost_after_accept_then_retry_returns_the_same_order(store: PaperStore) -> None:
    seen: list[BrokerOrder] = []

    def lose_first_response(accepted: BrokerOrder) -> None:
        seen.append(accepted)
        if len(seen) == 1:
            raise BrokerUnreachable("response lost")

    broker = PaperBroker(ACCOUNT, store, after_accept=lose_first_response)
    with pytest.raises(BrokerUnreachable, match="response lost"):
        broker.place(order("c-1", "buy", 2, reference_price=Decimal("100")))
    assert broker.find_by_client_order_id("c-1") == seen[0], "committed before the hook ran"

    assert broker.place(order("c-1", "buy", 2, reference_price=Decimal("100"))) == seen[0]
    assert len(broker.orders()) == 1 and position_of(broker) == (2, Decimal("100"))


def test_flatten_response_lost_then_retry_closes_once(store: PaperStore) -> None:
    lost: list[BrokerOrder] = []

    def lose_closing_once(accepted: BrokerOrder) -> None:
        if accepted.client_order_id == "flat-1" and not lost:
            lost.append(accepted)
            raise BrokerUnreachable("response lost")

    broker = PaperBroker(ACCOUNT, store, after_accept=lose_closing_once)
    broker.place(order("c-1", "sell", 3, reference_price=Decimal("100")))
    with pytest.raises(BrokerUnreachable):
        broker.flatten(FlattenPosition("NQZ6", "flat-1"))
    assert broker.flatten(FlattenPosition("NQZ6", "flat-1")).closing_order == lost[0]
    assert broker.positions() == [] and len(broker.orders()) == 2


def test_after_accept_is_not_called_for_rejected_orders(store: PaperStore) -> None:
    seen: list[BrokerOrder] = []
    broker = PaperBroker(ACCOUNT, store, simulate=Simulate.REJECT, after_accept=seen.append)
    with pytest.raises(BrokerRejected):
        broker.place(order("c-1"))
    assert seen == []


# --- reads, outages, ids -----------------------------------------------------------------------


def test_orders_are_listed_newest_first(broker: PaperBroker) -> None:
    placed = [
        broker.place(order(f"c-{i}", "buy", 1, "limit", limit_price=Decimal(100 + i))) for i in range(5)
    ]
    assert [o.client_order_id for o in broker.orders()] == [o.client_order_id for o in reversed(placed)]


def test_accounts_never_see_each_others_orders(store: PaperStore) -> None:
    PaperBroker(ACCOUNT, store).place(order("c-1", reference_price=Decimal("100")))
    other = PaperBroker("EVAL-2", store)
    assert other.orders() == [] and other.positions() == [] and other.find_by_client_order_id("c-1") is None


def test_missing_table_is_reported_as_unreachable(client: DynamoDBClient) -> None:
    broker = PaperBroker(ACCOUNT, PaperStore("no-such-table"))
    with pytest.raises(BrokerUnreachable, match="store unavailable"):
        broker.place(order("c-1", reference_price=Decimal("100")))
    with pytest.raises(BrokerUnreachable):
        broker.orders()


def test_broker_order_ids_are_short_and_unique() -> None:
    ids = {new_broker_order_id() for _ in range(10_000)}
    assert len(ids) == 10_000 and all(re.fullmatch(r"P-[A-Z2-7]{10}", i) for i in ids)


# --- registry ----------------------------------------------------------------------------------

SETTINGS = ExecutorSettings(copier_table_name="copier-unit", paper_table_name=TABLE, resource_prefix="unit")


def test_open_broker_gives_a_cached_paper_broker_per_account_and_simulate() -> None:
    clear_cache()
    first = open_broker(ACCOUNT, BrokerName.PAPER, None, SETTINGS)
    assert isinstance(first, PaperBroker) and first.account_id == ACCOUNT
    assert open_broker(ACCOUNT, BrokerName.PAPER, None, SETTINGS) is first
    rejecting = open_broker(ACCOUNT, BrokerName.PAPER, Simulate.REJECT, SETTINGS)
    assert rejecting is not first and isinstance(rejecting, PaperBroker)
    assert rejecting.simulate is Simulate.REJECT
    assert open_broker("EVAL-2", BrokerName.PAPER, None, SETTINGS) is not first


def test_open_broker_refuses_a_broker_without_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradecopier.brokers import registry

    without = {name: f for name, f in BROKER_FACTORIES.items() if name is not BrokerName.PROJECTX}
    monkeypatch.setattr(registry, "BROKER_FACTORIES", without)
    with pytest.raises(UnsupportedBroker, match="no adapter for broker 'projectx'") as refused:
        open_broker(ACCOUNT, BrokerName.PROJECTX, None, SETTINGS)
    assert isinstance(refused.value, BrokerRejected)


def test_registry_paper_broker_uses_the_settings_table(client: DynamoDBClient) -> None:
    clear_cache()
    broker = open_broker(ACCOUNT, BrokerName.PAPER, None, SETTINGS)
    broker.place(order("c-1", reference_price=Decimal("100")))
    assert PaperBroker(ACCOUNT, PaperStore(TABLE)).find_by_client_order_id("c-1") is not None


def test_every_broker_has_a_factory_and_declares_its_capabilities() -> None:
    assert set(BROKER_FACTORIES) == set(BrokerName) == set(BROKER_CAPABILITIES)
    assert BROKER_CAPABILITIES[BrokerName.PAPER] == BrokerCapabilities(
        native_brackets=True, modify_in_place=True, lookup_by_client_order_id=True, simulated_market=True
    )
