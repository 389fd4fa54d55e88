"""The paper broker as a market simulator, against DynamoDB Local: brackets, fills on marks, P&L,
the account snapshot, and marks racing places and cancels on one account."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from tests.conftest import CopierTables
from tradecopier import aws
from tradecopier.brokers.base import BracketOrders, BrokerOrder, BrokerPosition, BrokerRejected
from tradecopier.brokers.paper.broker import PaperBroker
from tradecopier.brokers.paper.store import PaperStore
from tradecopier.brokers.registry import clear_cache
from tradecopier.domain.enums import Leg, OrderStatus, OrderType, Side
from tradecopier.domain.instruments import pnl
from tradecopier.domain.orders import CancelOrder, FlattenPosition, FollowerOrder, ModifyOrder
from tradecopier.domain.risk.state import AccountSnapshot
from tradecopier.settings import ExecutorSettings

ACCOUNT = "EVAL-1"
SYMBOL = "NQZ6"
D = Decimal


@pytest.fixture
def settings(copier_env: CopierTables) -> Iterator[ExecutorSettings]:
    aws.clear_clients("dynamodb")  # the cached client must see AWS_ENDPOINT_URL_DYNAMODB
    clear_cache()
    yield ExecutorSettings(
        copier_table_name=copier_env.copier, paper_table_name=copier_env.paper, resource_prefix="tc-market"
    )
    aws.clear_clients("dynamodb")
    clear_cache()


@pytest.fixture
def broker(settings: ExecutorSettings) -> PaperBroker:
    return PaperBroker(ACCOUNT, PaperStore(settings.paper_table_name))


def order(
    client_order_id: str,
    side: str = "buy",
    qty: int = 1,
    order_type: str = "market",
    bracket: dict[str, Any] | None = None,
    **fields: Any,
) -> FollowerOrder:
    return FollowerOrder.model_validate(
        {
            "client_order_id": client_order_id,
            "account_id": ACCOUNT,
            "symbol": SYMBOL,
            "side": side,
            "qty": qty,
            "order_type": order_type,
            "bracket": bracket,
            **fields,
        }
    )


def bracket(qty: int, take_profit: str | None, stop_loss: str | None) -> dict[str, Any]:
    return {"qty": qty, "take_profit": take_profit, "stop_loss": stop_loss}


def by_id(broker: PaperBroker) -> dict[str, BrokerOrder]:
    return {item.broker_order_id: item for item in broker.orders()}


def status_of(broker: PaperBroker, *orders: BrokerOrder | None) -> list[OrderStatus]:
    current = by_id(broker)
    return [current[placed.broker_order_id].status for placed in orders if placed is not None]


def test_bracket_entry_fills_on_a_mark_then_take_profit_fills_and_cancels_the_stop_loss(
    broker: PaperBroker,
) -> None:
    placed = broker.place_bracket(
        order("c-1", "buy", 2, "limit", limit_price="21000", bracket=bracket(2, "21010", "20990"))
    )
    entry, take_profit, stop_loss = placed.entry, placed.take_profit, placed.stop_loss
    assert take_profit is not None and stop_loss is not None
    assert (entry.status, entry.leg, entry.parent_order_id) == (OrderStatus.WORKING, None, None)
    assert (take_profit.client_order_id, take_profit.leg, take_profit.parent_order_id) == (
        "c-1:tp",
        Leg.TAKE_PROFIT,
        entry.broker_order_id,
    )
    assert (take_profit.side, take_profit.order_type, take_profit.limit_price, take_profit.qty) == (
        Side.SELL,
        OrderType.LIMIT,
        D("21010"),
        2,
    )
    assert (stop_loss.client_order_id, stop_loss.leg, stop_loss.order_type, stop_loss.stop_price) == (
        "c-1:sl",
        Leg.STOP_LOSS,
        OrderType.STOP,
        D("20990"),
    )
    # Held legs show as working, with their parent, in GET /accounts/{id}/orders.
    assert status_of(broker, entry, take_profit, stop_loss) == [OrderStatus.WORKING] * 3

    assert broker.mark(SYMBOL, D("21015")) == []  # would cross the take-profit, but it is held
    filled = broker.mark(SYMBOL, D("20999.75"))
    assert [(f.broker_order_id, f.fill_price) for f in filled] == [(entry.broker_order_id, D("21000"))]
    assert broker.position(SYMBOL) == BrokerPosition(symbol=SYMBOL, qty=2, avg_price=D("21000"))
    assert broker.snapshot() == AccountSnapshot(
        balance=D("50000"), unrealized_pnl=D("-10.00"), positions={SYMBOL: 2}
    )

    filled = broker.mark(SYMBOL, D("21010.25"))
    assert [(f.broker_order_id, f.fill_price, f.leg) for f in filled] == [
        (take_profit.broker_order_id, D("21010"), Leg.TAKE_PROFIT)
    ]
    assert status_of(broker, entry, take_profit, stop_loss) == [
        OrderStatus.FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
    ]
    assert broker.position(SYMBOL) == BrokerPosition(symbol=SYMBOL, qty=0, avg_price=None)
    assert broker.snapshot() == AccountSnapshot(balance=D("50400.00"), unrealized_pnl=D(0), positions={})
    assert broker.mark(SYMBOL, D("20900")) == []  # the cancelled stop-loss never fills


def test_market_entry_has_working_legs_at_once_and_the_stop_loss_cancels_the_take_profit(
    broker: PaperBroker,
) -> None:
    placed = broker.place_bracket(
        order("c-1", "sell", 3, reference_price="21000", bracket=bracket(3, "20980", "21005"))
    )
    assert placed.entry.status is OrderStatus.FILLED and placed.entry.fill_price == D("21000")
    assert broker.position(SYMBOL).qty == -3
    filled = broker.mark(SYMBOL, D("21007"))  # gapped through the buy stop: fills at its stop
    assert placed.stop_loss is not None and placed.take_profit is not None
    assert [(f.broker_order_id, f.fill_price) for f in filled] == [
        (placed.stop_loss.broker_order_id, D("21005"))
    ]
    assert status_of(broker, placed.take_profit) == [OrderStatus.CANCELLED]
    snapshot = broker.snapshot()
    assert (snapshot.balance, snapshot.positions) == (D("49700.00"), {})  # 3 x -5 points x 20


def test_a_leg_the_entry_fill_releases_is_judged_at_the_same_price(broker: PaperBroker) -> None:
    placed = broker.place_bracket(
        order("c-1", "buy", 1, "limit", limit_price="21000", bracket=bracket(1, "21020", "20995"))
    )
    filled = broker.mark(SYMBOL, D("20990"))  # through the entry and the stop-loss at once
    assert [f.leg for f in filled] == [None, Leg.STOP_LOSS]
    assert [f.fill_price for f in filled] == [D("21000"), D("20995")]
    assert broker.snapshot().balance == D("49900.00")
    assert status_of(broker, placed.take_profit) == [OrderStatus.CANCELLED]


def test_cancelling_the_working_entry_cancels_both_legs(broker: PaperBroker) -> None:
    placed = broker.place_bracket(
        order("c-1", "buy", 1, "limit", limit_price="21000", bracket=bracket(1, "21010", "20990"))
    )
    cancelled = broker.cancel(CancelOrder(placed.entry.broker_order_id))
    assert cancelled.status is OrderStatus.CANCELLED
    assert (
        status_of(broker, placed.entry, placed.take_profit, placed.stop_loss) == [OrderStatus.CANCELLED] * 3
    )
    assert broker.mark(SYMBOL, D("20980")) == []
    assert broker.cancel(CancelOrder(placed.entry.broker_order_id)) == cancelled  # again: unchanged


def test_a_cancelled_leg_leaves_its_sibling_to_work_alone(broker: PaperBroker) -> None:
    placed = broker.place_bracket(
        order("c-1", "buy", 1, "limit", limit_price="21000", bracket=bracket(1, "21010", "20990"))
    )
    assert placed.take_profit is not None and placed.stop_loss is not None
    broker.cancel(CancelOrder(placed.take_profit.broker_order_id))
    assert [f.leg for f in broker.mark(SYMBOL, D("21000"))] == [None]
    assert broker.mark(SYMBOL, D("21011")) == []
    assert [f.leg for f in broker.mark(SYMBOL, D("20990"))] == [Leg.STOP_LOSS]
    assert broker.position(SYMBOL).qty == 0


def test_flatten_cancels_the_legs_with_every_working_order_and_closes_at_the_mark(
    broker: PaperBroker,
) -> None:
    placed = broker.place_bracket(
        order("c-1", "buy", 2, reference_price="21000", bracket=bracket(2, "21010", "20990"))
    )
    other = broker.place(order("c-2", "buy", 1, "limit", limit_price="20900"))
    broker.mark(SYMBOL, D("21004"))
    result = broker.flatten(FlattenPosition(SYMBOL, "flat-1"))
    assert placed.take_profit is not None and placed.stop_loss is not None
    assert set(result.cancelled_order_ids) == {
        placed.take_profit.broker_order_id,
        placed.stop_loss.broker_order_id,
        other.broker_order_id,
    }
    assert result.closing_order is not None and result.closing_order.fill_price == D("21004")
    assert broker.snapshot() == AccountSnapshot(balance=D("50160.00"), positions={})


def test_retried_place_bracket_returns_the_same_three_orders(broker: PaperBroker) -> None:
    request = order("c-1", "buy", 1, "limit", limit_price="21000", bracket=bracket(1, "21010", "20990"))
    first = broker.place_bracket(request)
    assert broker.place_bracket(request) == first
    assert broker.place(request) == first.entry
    assert broker.find_by_client_order_id("c-1:sl") == first.stop_loss
    assert len(broker.orders()) == 3


def test_racing_place_brackets_with_one_client_order_id_place_one_bracket(broker: PaperBroker) -> None:
    request = order("c-1", "buy", 1, "limit", limit_price="21000", bracket=bracket(1, "21010", "20990"))
    barrier = threading.Barrier(6)

    def place() -> BracketOrders:
        barrier.wait(timeout=30)
        return broker.place_bracket(request)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: place(), range(6)))
    assert all(result == results[0] for result in results)
    assert len(broker.orders()) == 3


def test_modify_moves_a_held_leg_and_a_working_leg(broker: PaperBroker) -> None:
    placed = broker.place_bracket(
        order("c-1", "buy", 1, "limit", limit_price="21000", bracket=bracket(1, "21010", "20990"))
    )
    assert placed.take_profit is not None and placed.stop_loss is not None
    moved = broker.modify(
        ModifyOrder(
            broker_order_id=placed.take_profit.broker_order_id, client_order_id="m-1", limit_price=D("21020")
        )
    )
    assert moved.limit_price == D("21020") and moved.status is OrderStatus.WORKING
    broker.mark(SYMBOL, D("21000"))  # the entry fills; the legs are working now
    broker.modify(
        ModifyOrder(
            broker_order_id=placed.stop_loss.broker_order_id, client_order_id="m-2", stop_price=D("20995")
        )
    )
    assert broker.mark(SYMBOL, D("21015")) == []  # below the moved take-profit
    assert [(f.leg, f.fill_price) for f in broker.mark(SYMBOL, D("20996"))] == []
    assert [(f.leg, f.fill_price) for f in broker.mark(SYMBOL, D("20995"))] == [(Leg.STOP_LOSS, D("20995"))]


def test_stop_limit_triggered_by_one_mark_rests_and_fills_at_its_limit_on_a_later_one(
    broker: PaperBroker,
) -> None:
    placed = broker.place(order("c-1", "buy", 1, "stop_limit", stop_price="21000", limit_price="21002"))
    assert broker.mark(SYMBOL, D("21005")) == []  # triggered, but above its limit
    assert broker.mark(SYMBOL, D("20990")) != []  # a limit now: below it fills, at its limit
    assert by_id(broker)[placed.broker_order_id].fill_price == D("21002")


def test_market_order_without_reference_price_fills_at_the_latest_mark(broker: PaperBroker) -> None:
    broker.mark(SYMBOL, D("21003.50"))
    assert broker.place(order("c-1")).fill_price == D("21003.50")


def test_snapshot_uses_the_starting_balance_given_and_values_open_positions_at_the_marks(
    settings: ExecutorSettings,
) -> None:
    broker = PaperBroker(ACCOUNT, PaperStore(settings.paper_table_name), starting_balance=D("100000"))
    broker.place(order("c-1", "buy", 2, reference_price="21000"))
    broker.place(order("c-2", "sell", 1, reference_price="21010"))  # +200 realized
    broker.place(order("c-3", "sell", 1, reference_price="6000", symbol="ESH7"))
    broker.mark(SYMBOL, D("20995"))
    broker.mark("ESH7", D("6001.25"))
    assert broker.snapshot() == AccountSnapshot(
        balance=D("100200.00"), unrealized_pnl=D("-100") + D("-62.50"), positions={SYMBOL: 1, "ESH7": -1}
    )


def _race(
    broker: PaperBroker, to_cancel: list[BrokerOrder], prices: list[list[Decimal]]
) -> tuple[list[list[BrokerOrder]], dict[str, str]]:
    """8 threads at once: 4 mark ``prices``, 2 place limits and brackets, 2 cancel ``to_cancel``.
    Returns what each mark filled and each cancel's outcome ("cancelled" / "refused")."""
    marked: list[list[BrokerOrder]] = []
    cancel_outcomes: dict[str, str] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def marker(index: int) -> None:
        barrier.wait(timeout=30)
        for price in prices[index]:
            filled = broker.mark(SYMBOL, price)
            with lock:
                marked.append(filled)

    def placer(index: int) -> None:
        barrier.wait(timeout=30)
        for n in range(4):
            price = str(20985 + 5 * ((index + n) % 6))
            if n % 2:
                broker.place_bracket(
                    order(
                        f"p{index}-{n}",
                        "sell",
                        1,
                        "limit",
                        limit_price=price,
                        bracket=bracket(1, "20980", "21020"),
                    )
                )
            else:
                broker.place(
                    order(f"p{index}-{n}", "buy" if index else "sell", 2, "limit", limit_price=price)
                )

    def canceller(index: int) -> None:
        barrier.wait(timeout=30)
        for placed in to_cancel[index::2]:
            try:
                broker.cancel(CancelOrder(placed.broker_order_id))
                outcome = "cancelled"
            except BrokerRejected:
                outcome = "refused"
            with lock:
                cancel_outcomes[placed.broker_order_id] = outcome

    calls: list[Callable[[], None]] = [
        *(partial(marker, i) for i in range(4)),
        *(partial(placer, i) for i in range(2)),
        *(partial(canceller, i) for i in range(2)),
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()
    return marked, cancel_outcomes


def test_marks_racing_places_and_cancels_never_lose_or_double_a_fill(broker: PaperBroker) -> None:
    """8 threads on one account: 4 mark prices, 2 place limits and brackets, 2 cancel. Afterwards
    the position is the sum of the filled orders, every fill was reported by exactly one mark,
    no bracket has both legs filled, and the realized P&L agrees with the cash flows."""
    rng = random.Random(12)
    setup = [
        broker.place_bracket(
            order(
                f"b-{i}",
                "buy",
                1,
                "limit",
                limit_price=str(20990 + 5 * i),
                bracket=bracket(1, "21015", "20985"),
            )
        )
        for i in range(3)
    ]
    to_cancel = [placed.entry for placed in setup[:2]] + [
        broker.place(order(f"s-{i}", "sell", 1, "limit", limit_price=str(21000 + 5 * i))) for i in range(3)
    ]
    prices = [[D(20980 + 5 * rng.randrange(9)) for _ in range(6)] for _ in range(4)]
    marked, cancel_outcomes = _race(broker, to_cancel, prices)

    orders = broker.orders()
    filled = [item for item in orders if item.status is OrderStatus.FILLED]
    reported = Counter(item.broker_order_id for batch in marked for item in batch)
    assert all(count == 1 for count in reported.values()), "an order was reported filled twice"
    assert set(reported) == {item.broker_order_id for item in filled}, "a fill no mark reported"

    position = broker.position(SYMBOL)
    assert position.qty == sum(item.side.sign * item.qty for item in filled)

    by_parent: dict[str, list[BrokerOrder]] = {}
    for item in orders:
        if item.parent_order_id is not None:
            by_parent.setdefault(item.parent_order_id, []).append(item)
    for legs in by_parent.values():
        assert sum(leg.status is OrderStatus.FILLED for leg in legs) <= 1, f"OCO broken: {legs}"
    current = {item.broker_order_id: item for item in orders}
    for parent_id, legs in by_parent.items():
        if current[parent_id].status is not OrderStatus.FILLED:
            assert all(leg.status is not OrderStatus.FILLED for leg in legs), "a held leg filled"

    for broker_order_id, outcome in cancel_outcomes.items():
        expected = OrderStatus.CANCELLED if outcome == "cancelled" else OrderStatus.FILLED
        assert current[broker_order_id].status is expected
        if current[broker_order_id].status is OrderStatus.CANCELLED:
            assert all(leg.status is OrderStatus.CANCELLED for leg in by_parent.get(broker_order_id, []))

    assert filled, "the race filled nothing: it proved nothing"
    snapshot = broker.snapshot()
    mark = D("21000")  # any price: realized + open P&L at it must equal the cash flows at it
    cash = sum((-item.side.sign * item.qty * (item.fill_price or D(0)) for item in filled), D(0))
    assert snapshot.positions == ({SYMBOL: position.qty} if position.qty else {})
    open_pnl = D(0) if position.avg_price is None else pnl(SYMBOL, position.qty, position.avg_price, mark)
    total = (cash + position.qty * mark) * 20
    realized = snapshot.balance - D(50000)
    assert abs(realized + open_pnl - total) <= D("0.01") * len(filled)
