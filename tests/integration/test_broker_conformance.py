"""The same tests through the ``BrokerAccount`` interface for every adapter: paper (DynamoDB
Local), Tradovate (against ``devstack.brokers.tradovate.FakeTradovate``) and ProjectX (against
``devstack.brokers.projectx.FakeProjectX``), both fakes over real sockets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from devstack.brokers.projectx import FakeProjectX
from devstack.brokers.tradovate import FakeTradovate
from tradecopier import aws
from tradecopier.brokers.base import BrokerAccount, BrokerRejected, BrokerUnreachable
from tradecopier.brokers.credentials import BrokerCredentials
from tradecopier.brokers.paper.broker import PaperBroker
from tradecopier.brokers.paper.store import PaperStore
from tradecopier.brokers.projectx import ProjectXBroker, ProjectXConfig
from tradecopier.brokers.projectx.parsing import symbol_of
from tradecopier.brokers.registry import clear_cache
from tradecopier.brokers.tradovate import TradovateBroker, TradovateConfig
from tradecopier.domain.enums import Leg, OrderStatus, Side, Simulate
from tradecopier.domain.orders import Bracket, CancelOrder, FlattenPosition, FollowerOrder, ModifyOrder
from tradecopier.settings import ExecutorSettings

ACCOUNT = "EVAL-1"
PRICE = Decimal("21500")


@dataclass
class Venue:
    """One broker under test, and the few knobs the suite needs from its market."""

    name: str
    broker: BrokerAccount
    symbol: str
    move: Callable[[Decimal], None]  # the market price of ``symbol`` is now ...
    reject_next: Callable[[], BrokerAccount]  # a broker whose next placement is refused
    fail_next: Callable[[], BrokerAccount]  # a broker whose next placement does not get through


def tradovate_credentials(base_url: str, **extra: Any) -> BrokerCredentials:
    values = {
        "broker": "tradovate",
        "api_url": base_url,
        "username": "alice",
        "password": "pw-1",
        "app_id": "copier",
        "app_version": "1.0",
        "cid": 8,
        "sec": "s3cr3t",
        "broker_account": "DEMO3701228",
        **extra,
    }
    return BrokerCredentials.model_validate(values)


def fake_tradovate() -> FakeTradovate:
    fake = FakeTradovate()
    user = fake.add_user("alice", "pw-1", app_id="copier", cid=8, sec="s3cr3t")
    fake.add_account(user, "DEMO3701228", balance=50_000)
    fake.start()
    return fake


@pytest.fixture
def tradovate_fake() -> Iterator[FakeTradovate]:
    clear_cache()
    fake = fake_tradovate()
    yield fake
    fake.stop()
    clear_cache()


def _tradovate(fake: FakeTradovate) -> Venue:
    symbol = str(fake.contract("NQ")["name"])
    fake.set_market_price(symbol, float(PRICE))
    broker = TradovateBroker(ACCOUNT, TradovateConfig.from_credentials(tradovate_credentials(fake.base_url)))

    def reject() -> BrokerAccount:
        fake.reject_next("MaxPosLimitReached", "Max position limit reached")
        return broker

    def fail() -> BrokerAccount:
        fake.fail_next("order/placeorder", "http500")
        return broker

    return Venue("tradovate", broker, symbol, lambda p: fake.set_market_price(symbol, float(p)), reject, fail)


PX_USER, PX_KEY, PX_ACCOUNT = "trader1", "px-key-1", "50KTC-V2-645601-97590973"


def projectx_credentials(base_url: str, **extra: Any) -> BrokerCredentials:
    values = {
        "broker": "projectx",
        "api_url": base_url,
        "username": PX_USER,
        "api_key": PX_KEY,
        "broker_account": PX_ACCOUNT,
        **extra,
    }
    return BrokerCredentials.model_validate(values)


def fake_projectx() -> FakeProjectX:
    """A started fake with one user and one account in Auto OCO Brackets mode (brackets allowed)."""
    fake = FakeProjectX()
    fake.add_user(PX_USER, PX_KEY)
    fake.add_account(PX_USER, PX_ACCOUNT, balance=50_000, auto_oco=True)
    fake.start()
    return fake


def projectx_orders(fake: FakeProjectX) -> list[dict[str, Any]]:
    """Every order the fake holds on the account (its own view, not the adapter's)."""
    [account_id] = [a.id for a in fake._accounts.values() if a.name == PX_ACCOUNT]
    return fake.orders(account_id)


@pytest.fixture
def projectx_fake() -> Iterator[FakeProjectX]:
    clear_cache()
    fake = fake_projectx()
    yield fake
    fake.stop()
    clear_cache()


def _projectx(fake: FakeProjectX) -> Venue:
    contract_id = fake.contract_id("NQ")
    fake.set_market_price(contract_id, PRICE)
    broker = ProjectXBroker(ACCOUNT, ProjectXConfig.from_credentials(projectx_credentials(fake.base_url)))

    def reject() -> BrokerAccount:
        fake.set_market_open(False)
        return broker

    def fail() -> BrokerAccount:
        fake.fail_next("/api/Order/place", "http500")
        return broker

    return Venue(
        "projectx",
        broker,
        symbol_of(contract_id),
        lambda p: fake.set_market_price(contract_id, p),
        reject,
        fail,
    )


def _paper(settings: ExecutorSettings) -> Venue:
    store = PaperStore(settings.paper_table_name)
    broker = PaperBroker(ACCOUNT, store)
    symbol = "NQZ6"
    broker.mark(symbol, PRICE)

    def move(price: Decimal) -> None:
        broker.mark(symbol, price)

    return Venue(
        "paper",
        broker,
        symbol,
        move,
        lambda: PaperBroker(ACCOUNT, store, simulate=Simulate.REJECT),
        lambda: PaperBroker(ACCOUNT, store, simulate=Simulate.DISCONNECT),
    )


@pytest.fixture(params=["paper", "tradovate", "projectx"])
def venue(request: pytest.FixtureRequest) -> Iterator[Venue]:
    if request.param == "paper":
        request.getfixturevalue("copier_env")
        aws.clear_clients("dynamodb")
        clear_cache()
        # The paper venue needs only its table; the prefix is what the executor's template would set.
        yield _paper(ExecutorSettings.from_env({**os.environ, "RESOURCE_PREFIX": "conformance"}))
        aws.clear_clients("dynamodb")
    elif request.param == "projectx":
        yield _projectx(request.getfixturevalue("projectx_fake"))
    else:
        yield _tradovate(request.getfixturevalue("tradovate_fake"))


def order(venue: Venue, cid: str, side: Side = Side.BUY, qty: int = 1, **fields: Any) -> FollowerOrder:
    values: dict[str, Any] = {
        "client_order_id": cid,
        "account_id": ACCOUNT,
        "symbol": venue.symbol,
        "side": side,
        "qty": qty,
        "order_type": "market",
        "reference_price": PRICE,
        **fields,
    }
    return FollowerOrder.model_validate(values)


def test_market_order_fills_and_reads_back(venue: Venue) -> None:
    placed = venue.broker.place(order(venue, "tc-market-1", qty=2))
    assert placed.status is OrderStatus.FILLED and placed.qty == 2 and placed.side is Side.BUY
    assert placed.client_order_id == "tc-market-1" and placed.fill_price == PRICE
    assert venue.broker.position(venue.symbol).qty == 2
    found = venue.broker.find_by_client_order_id("tc-market-1")
    assert found is not None and found.broker_order_id == placed.broker_order_id
    assert venue.broker.find_by_client_order_id("tc-never") is None
    assert [(p.symbol, p.qty) for p in venue.broker.positions()] == [(venue.symbol, 2)]
    assert placed.broker_order_id in [o.broker_order_id for o in venue.broker.orders()]


def test_place_is_idempotent_on_the_client_order_id(venue: Venue) -> None:
    first = venue.broker.place(order(venue, "tc-idem-1"))
    again = venue.broker.place(order(venue, "tc-idem-1"))
    assert again.broker_order_id == first.broker_order_id
    assert venue.broker.position(venue.symbol).qty == 1
    assert len(venue.broker.orders()) == 1


def test_short_position_is_signed(venue: Venue) -> None:
    venue.broker.place(order(venue, "tc-short-1", Side.SELL, 3))
    position = venue.broker.position(venue.symbol)
    assert position.qty == -3 and position.avg_price == PRICE
    assert venue.broker.snapshot().positions == {venue.symbol: -3}


def test_limit_order_works_modifies_and_cancels(venue: Venue) -> None:
    placed = venue.broker.place(order(venue, "tc-limit-1", order_type="limit", limit_price=Decimal("21400")))
    assert placed.status is OrderStatus.WORKING and placed.limit_price == Decimal("21400")
    moved = venue.broker.modify(
        ModifyOrder(
            broker_order_id=placed.broker_order_id,
            client_order_id="tc-mod-1",
            limit_price=Decimal("21450.25"),
            qty=2,
        )
    )
    assert moved.broker_order_id == placed.broker_order_id  # both modify in place
    assert (moved.limit_price, moved.qty, moved.status) == (Decimal("21450.25"), 2, OrderStatus.WORKING)
    cancelled = venue.broker.cancel(CancelOrder(placed.broker_order_id))
    assert cancelled.status is OrderStatus.CANCELLED
    assert venue.broker.cancel(CancelOrder(placed.broker_order_id)).status is OrderStatus.CANCELLED
    assert venue.broker.position(venue.symbol).qty == 0


def test_limit_fills_when_the_market_crosses_it(venue: Venue) -> None:
    placed = venue.broker.place(order(venue, "tc-limit-2", order_type="limit", limit_price=Decimal("21400")))
    venue.move(Decimal("21399"))
    found = venue.broker.find_by_client_order_id("tc-limit-2")
    assert found is not None and found.status is OrderStatus.FILLED
    assert found.broker_order_id == placed.broker_order_id
    assert venue.broker.position(venue.symbol).qty == 1
    with pytest.raises(BrokerRejected):
        venue.broker.cancel(CancelOrder(placed.broker_order_id))  # filled: a business "no"


def test_flatten_cancels_working_orders_and_closes_the_position(venue: Venue) -> None:
    venue.broker.place(order(venue, "tc-flat-1", qty=2))
    working = venue.broker.place(order(venue, "tc-flat-2", order_type="limit", limit_price=Decimal("21000")))
    result = venue.broker.flatten(FlattenPosition(venue.symbol, "tc-flat-3"))
    assert working.broker_order_id in result.cancelled_order_ids
    assert result.closing_order is not None and result.closing_order.qty == 2
    assert result.closing_order.side is Side.SELL
    assert venue.broker.position(venue.symbol).qty == 0
    assert venue.broker.positions() == []
    again = venue.broker.flatten(FlattenPosition(venue.symbol, "tc-flat-3"))
    assert (
        again.closing_order is None
        or again.closing_order.broker_order_id == result.closing_order.broker_order_id
    )
    assert venue.broker.position(venue.symbol).qty == 0


def test_bracket_legs_work_after_the_entry_fills_and_are_oco(venue: Venue) -> None:
    bracket = Bracket(qty=1, take_profit=Decimal("21550"), stop_loss=Decimal("21450"))
    placed = venue.broker.place_bracket(order(venue, "tc-br-1", bracket=bracket))
    assert placed.entry.status is OrderStatus.FILLED
    assert placed.take_profit is not None and placed.stop_loss is not None
    assert placed.take_profit.status is OrderStatus.WORKING and placed.stop_loss.status is OrderStatus.WORKING
    assert placed.take_profit.leg is Leg.TAKE_PROFIT and placed.stop_loss.leg is Leg.STOP_LOSS
    assert placed.take_profit.parent_order_id == placed.entry.broker_order_id
    assert placed.take_profit.side is Side.SELL and placed.take_profit.limit_price == Decimal("21550")
    assert placed.stop_loss.stop_price == Decimal("21450")
    again = venue.broker.place_bracket(order(venue, "tc-br-1", bracket=bracket))  # idempotent
    assert (
        again.take_profit is not None
        and again.take_profit.broker_order_id == placed.take_profit.broker_order_id
    )
    venue.move(Decimal("21551"))
    by_id = {o.broker_order_id: o for o in venue.broker.orders()}
    assert by_id[placed.take_profit.broker_order_id].status is OrderStatus.FILLED
    assert by_id[placed.stop_loss.broker_order_id].status is OrderStatus.CANCELLED
    assert venue.broker.position(venue.symbol).qty == 0


def test_rejected_is_a_business_no_with_the_brokers_words(venue: Venue) -> None:
    with pytest.raises(BrokerRejected) as rejected:
        venue.reject_next().place(order(venue, "tc-rej-1"))
    assert rejected.value.reason
    if venue.name == "tradovate":
        assert "MaxPosLimitReached" in rejected.value.reason
    if venue.name == "projectx":
        assert "Outside of trading hours." in rejected.value.reason
        assert "errorCode 5 OutsideTradingHours" in rejected.value.reason
    assert venue.broker.position(venue.symbol).qty == 0


def test_unreachable_is_transient_and_a_retry_places_once(venue: Venue) -> None:
    with pytest.raises(BrokerUnreachable):
        venue.fail_next().place(order(venue, "tc-down-1"))
    placed = venue.broker.place(order(venue, "tc-down-1"))
    assert placed.status is OrderStatus.FILLED
    assert venue.broker.position(venue.symbol).qty == 1
    assert venue.broker.mark(venue.symbol, PRICE) == [] or venue.name == "paper"
