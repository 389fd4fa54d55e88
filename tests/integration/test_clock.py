"""One injectable clock: what the copier stores, the executor, ingest and admin stamp on a record
comes from the clock they are given, never from the system clock. Against DynamoDB Local."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.conftest import CopierTables
from tradecopier.brokers.base import BrokerAccount
from tradecopier.brokers.registry import open_broker
from tradecopier.dal.copier import CopierStore, EventExists, StoredEvent
from tradecopier.domain.accounts import Account, Follower, Group
from tradecopier.domain.enums import CopyStatus, FollowerState
from tradecopier.domain.events import AcceptedEvent, OrderPlaced
from tradecopier.fanout.publish import SnsPublisher
from tradecopier.logic import admin
from tradecopier.logic.executor import Delivery, copy_event, give_up
from tradecopier.logic.ingest import ingest_event
from tradecopier.logic.services import AdminServices, reset_services
from tradecopier.logic.tokens import hash_token
from tradecopier.settings import AdminSettings

RECEIVED = datetime(2031, 3, 4, 14, 30, 0, tzinfo=UTC)
LATER = RECEIVED + timedelta(seconds=1, milliseconds=250)  # what the fixed clock says
GROUP = "g-clockclock01"
LEADER, FOLLOWER = "LEAD-1", "EVAL-1"


def fixed() -> datetime:
    return LATER


@pytest.fixture
def settings(copier_env: CopierTables) -> AdminSettings:
    reset_services()  # the DynamoDB client and paper brokers are rebuilt for DynamoDB Local
    return AdminSettings(
        copier_table_name=copier_env.copier,
        paper_table_name=copier_env.paper,
        resource_prefix="tc-clock",
        executor_function_name="tc-clock-executor",
    )


@pytest.fixture
def store(settings: AdminSettings) -> CopierStore:
    store = CopierStore(settings.copier_table_name, clock=fixed)
    group = Group(group_id=GROUP, name="clock", leader=Account(account_id=LEADER), created_at=RECEIVED)
    store.create_group(group, hash_token("secret"))
    store.create_follower(GROUP, Follower(account_id=FOLLOWER))
    store.mark_provisioned(GROUP, FOLLOWER, "queue-eval-1", {})
    return store


def _raw(table: str, pk: str, sk: str) -> dict[str, Any]:
    return boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"]


def _accepted(event_id: str = "E-1") -> AcceptedEvent:
    event = OrderPlaced(
        event_id=event_id,
        type="order.placed",
        order_id="L-1",
        symbol="NQZ6",
        side="buy",
        qty=2,
        order_type="market",
    )
    return AcceptedEvent(group_id=GROUP, received_at=RECEIVED, event=event)


def _delivery(accepted: AcceptedEvent, attempt: int = 1) -> Delivery:
    return Delivery(group_id=GROUP, account_id=FOLLOWER, accepted=accepted, attempt=attempt, max_attempts=3)


def test_the_store_stamps_a_follower_with_its_clock(store: CopierStore, settings: AdminSettings) -> None:
    item = _raw(settings.copier_table_name, f"GROUP#{GROUP}", f"FOLLOWER#{FOLLOWER}")
    assert item["created_at"] == {"S": "2031-03-04T14:30:01.250Z"}
    locked = store.lock_follower(GROUP, FOLLOWER, "by hand")
    assert locked.state is FollowerState.LOCKED and locked.locked_at == LATER


def test_a_placed_copy_and_its_link_follow_the_executor_clock(
    store: CopierStore, settings: AdminSettings
) -> None:
    accepted = _accepted()
    store.put_event(accepted, [FOLLOWER])

    def broker(follower: Follower) -> BrokerAccount:
        return open_broker(follower.account_id, follower.broker, follower.simulate, settings)

    record = copy_event(_delivery(accepted), store=store, open_broker=broker, clock=fixed)
    assert record is not None and record.status is CopyStatus.PLACED
    assert (record.updated_at, record.latency_ms) == (LATER, 1250)
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and stored.copies == [record]
    link = _raw(settings.copier_table_name, f"LINK#{GROUP}#L-1", f"FOLLOWER#{FOLLOWER}")
    assert link["expires_at"] == {"N": str(int((LATER + timedelta(days=30)).timestamp()))}


def test_a_skipped_copy_follows_the_executor_clock(store: CopierStore, settings: AdminSettings) -> None:
    accepted = _accepted()
    store.put_event(accepted, [FOLLOWER])
    store.lock_follower(GROUP, FOLLOWER, "by hand")

    def broker(follower: Follower) -> BrokerAccount:  # read: a locked follower may still exit
        return open_broker(follower.account_id, follower.broker, follower.simulate, settings)

    record = copy_event(_delivery(accepted), store=store, open_broker=broker, clock=fixed)
    assert record is not None and record.status is CopyStatus.SKIPPED
    assert (record.updated_at, record.latency_ms) == (LATER, 1250)


def test_giving_up_locks_and_records_with_the_injected_clocks(store: CopierStore) -> None:
    accepted = _accepted()
    store.put_event(accepted, [FOLLOWER])
    record = give_up(RuntimeError("broker down"), _delivery(accepted, attempt=3), store, fixed)
    assert record is not None and record.status is CopyStatus.FAILED and record.updated_at == LATER
    group = store.get_group(GROUP)
    assert group is not None and group.group.followers[0].locked_at == LATER


def test_copies_skipped_by_removal_follow_the_store_clock(store: CopierStore) -> None:
    store.put_event(_accepted(), [FOLLOWER])
    assert store.skip_pending_copies_of_removed(GROUP, FOLLOWER, "removed") == 1
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and [(c.status, c.updated_at) for c in stored.copies] == [
        (CopyStatus.SKIPPED, LATER)
    ]


def test_a_duplicate_event_comes_back_decoded(store: CopierStore) -> None:
    store.put_event(_accepted(), [FOLLOWER])
    with pytest.raises(EventExists) as raised:
        store.put_event(_accepted(), [FOLLOWER])
    stored = raised.value.stored
    assert isinstance(stored, StoredEvent) and stored.accepted == _accepted()
    assert [(c.account_id, c.status) for c in stored.copies] == [(FOLLOWER, CopyStatus.PENDING)]


def test_admin_and_ingest_take_the_services_clock(settings: AdminSettings) -> None:
    services = AdminServices(
        settings=settings,
        store=CopierStore(settings.copier_table_name, clock=fixed),
        publisher=SnsPublisher(),
        clock=fixed,
    )
    group, token = admin.create_group(services, "clock", Account(account_id=LEADER))
    assert group.created_at == LATER
    loaded = admin.load_group(services, group.group_id)
    assert loaded.group.created_at == LATER
    event = _accepted().event
    ingest_event(
        group.group_id, event, token, store=services.store, publisher=services.publisher, clock=fixed
    )
    stored = services.store.get_event(group.group_id, event.event_id)
    assert stored is not None and stored.accepted.received_at == LATER
