"""A copy the broker took whose record was lost (the process died between the two) is recorded
``placed`` when it is delivered again -- by SQS (attempt 2) or by home mode's restart (redriven) --
even when the redelivery is late enough to be "stale", or the position already shows it. Against
DynamoDB Local and the paper broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.conftest import CopierTables
from tradecopier.brokers.base import BrokerAccount, BrokerOrder
from tradecopier.brokers.registry import open_broker
from tradecopier.dal.copier import CopierStore
from tradecopier.domain.accounts import Account, Follower, Group
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.decide import client_order_id
from tradecopier.domain.enums import BrokerName, CopyStatus
from tradecopier.domain.events import AcceptedEvent, OrderPlaced
from tradecopier.logic.executor import Delivery, copy_event
from tradecopier.logic.services import reset_services
from tradecopier.logic.tokens import hash_token
from tradecopier.settings import ExecutorSettings

RECEIVED = datetime(2031, 3, 4, 14, 30, 0, tzinfo=UTC)
IN_TIME = RECEIVED + timedelta(milliseconds=40)
LATE = RECEIVED + timedelta(seconds=30)  # far past max_delay_ms: a fresh market entry is stale
GROUP = "g-redeliver001"
LEADER, FOLLOWER = "LEAD-1", "EVAL-1"


class Died(Exception):
    """The process was killed after the broker accepted, before the copy record was written."""


@pytest.fixture
def settings(copier_env: CopierTables) -> ExecutorSettings:
    reset_services()
    return ExecutorSettings(
        copier_table_name=copier_env.copier, paper_table_name=copier_env.paper, resource_prefix="tc-redeliver"
    )


@pytest.fixture
def store(settings: ExecutorSettings) -> CopierStore:
    store = CopierStore(settings.copier_table_name, clock=lambda: IN_TIME)
    group = Group(group_id=GROUP, name="redeliver", leader=Account(account_id=LEADER), created_at=RECEIVED)
    store.create_group(group, hash_token("secret"))
    store.create_follower(GROUP, Follower(account_id=FOLLOWER, max_delay_ms=1000))
    return store


class CountingBroker:
    """The paper broker, counting how often the executor asks it for an order by client order id."""

    def __init__(self, inner: BrokerAccount) -> None:
        self.inner = inner
        self.lookups = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def find_by_client_order_id(self, client_order_id: str) -> BrokerOrder | None:
        self.lookups += 1
        return self.inner.find_by_client_order_id(client_order_id)


def _entry(event_id: str, side: str = "buy", position_after: int | None = None) -> AcceptedEvent:
    event = OrderPlaced(
        event_id=event_id,
        type="order.placed",
        order_id=f"L-{event_id}",
        symbol="NQZ6",
        side=side,
        qty=2,
        order_type="market",
        price=Decimal("21000"),
        position_after=position_after,
    )
    return AcceptedEvent(group_id=GROUP, received_at=RECEIVED, event=event)


def _deliver(
    store: CopierStore,
    settings: ExecutorSettings,
    accepted: AcceptedEvent,
    *,
    at: datetime,
    attempt: int = 1,
    redriven: bool = False,
    opened: list[CountingBroker] | None = None,
) -> CopyRecord | None:
    def broker(follower: Follower) -> BrokerAccount:
        counting = CountingBroker(
            open_broker(follower.account_id, follower.broker, follower.simulate, settings)
        )
        if opened is not None:
            opened.append(counting)
        return counting  # type: ignore[return-value]

    delivery = Delivery(
        group_id=GROUP,
        account_id=FOLLOWER,
        accepted=accepted,
        attempt=attempt,
        max_attempts=3,
        redriven=redriven,
    )
    return copy_event(delivery, store=store, open_broker=broker, clock=lambda: at)


def _die_after_the_broker(
    store: CopierStore, settings: ExecutorSettings, accepted: AcceptedEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first delivery: the broker accepts, then the process dies before the record."""
    store.put_event(accepted, [FOLLOWER])

    def killed(*_: object, **__: object) -> None:
        raise Died

    with monkeypatch.context() as patch:
        patch.setattr(CopierStore, "record_copy", killed)
        with pytest.raises(Died):
            _deliver(store, settings, accepted, at=IN_TIME)


def _orders(settings: ExecutorSettings) -> list[BrokerOrder]:
    return open_broker(FOLLOWER, BrokerName.PAPER, None, settings).orders()


@pytest.mark.parametrize(("attempt", "redriven"), [(2, False), (1, True)], ids=["sqs-retry", "home-restart"])
def test_a_late_redelivery_of_a_copy_the_broker_took_is_recorded_placed_not_stale(
    store: CopierStore,
    settings: ExecutorSettings,
    monkeypatch: pytest.MonkeyPatch,
    attempt: int,
    redriven: bool,
) -> None:
    accepted = _entry("E-1")
    _die_after_the_broker(store, settings, accepted, monkeypatch)
    placed = _orders(settings)
    assert [order.qty for order in placed] == [2]  # the broker took it; no record says so yet

    record = _deliver(store, settings, accepted, at=LATE, attempt=attempt, redriven=redriven)

    assert record is not None
    assert (record.status, record.qty, record.broker_order_id) == (
        CopyStatus.PLACED,
        2,
        placed[0].broker_order_id,
    )
    assert record.client_order_id == client_order_id(GROUP, "E-1", FOLLOWER)
    assert len(_orders(settings)) == 1  # found, not placed twice
    link = store.load_copy_inputs(GROUP, FOLLOWER, "E-1", "L-E-1").link
    assert link is not None and link.broker_order_id == placed[0].broker_order_id


def test_a_redelivered_exit_that_already_closed_is_recorded_placed_not_already_flat(
    store: CopierStore, settings: ExecutorSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = _entry("E-1")
    store.put_event(entry, [FOLLOWER])
    assert _deliver(store, settings, entry, at=IN_TIME) is not None  # the follower is long 2
    leader_flat = _entry("E-2", side="sell", position_after=0)  # the leader sold 2: flat
    _die_after_the_broker(store, settings, leader_flat, monkeypatch)
    assert open_broker(FOLLOWER, BrokerName.PAPER, None, settings).position("NQZ6").qty == 0

    record = _deliver(store, settings, leader_flat, at=IN_TIME, attempt=2)

    assert record is not None
    assert (record.status, record.qty, record.detail) == (CopyStatus.PLACED, 2, "leader flat: close all 2")
    assert len(_orders(settings)) == 2  # the entry and the one exit, not a second exit
    assert open_broker(FOLLOWER, BrokerName.PAPER, None, settings).position("NQZ6").qty == 0


def test_a_late_redelivery_the_broker_never_saw_is_still_skipped_stale(
    store: CopierStore, settings: ExecutorSettings
) -> None:
    accepted = _entry("E-1")
    store.put_event(accepted, [FOLLOWER])  # the first delivery died before the broker call

    record = _deliver(store, settings, accepted, at=LATE, attempt=2)

    assert record is not None and record.status is CopyStatus.SKIPPED
    assert record.reason is not None and record.reason.startswith("stale")
    assert _orders(settings) == []


def test_a_first_delivery_does_not_ask_the_broker_for_an_earlier_order(
    store: CopierStore, settings: ExecutorSettings
) -> None:
    opened: list[CountingBroker] = []
    for event_id, at in (("E-1", IN_TIME), ("E-2", LATE)):  # a plain copy, and a stale one
        accepted = _entry(event_id)
        store.put_event(accepted, [FOLLOWER])
        assert _deliver(store, settings, accepted, at=at, opened=opened) is not None
    assert opened and sum(broker.lookups for broker in opened) == 0
    assert [order.qty for order in _orders(settings)] == [2]
