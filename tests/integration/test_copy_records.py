"""Data layer v2, one write per copy: the copy record of an ``order.placed`` is its order link item
(``tradecopier.dal.copier.keys``), written once with the link it creates. Against DynamoDB Local,
through the executor and the store's readers (the event, the copy log, the removal skip path)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.conftest import CopierTables
from tradecopier import aws
from tradecopier.brokers.base import BrokerAccount
from tradecopier.brokers.registry import open_broker
from tradecopier.dal.copier import CopierStore, CopyAlreadyFinal
from tradecopier.domain.accounts import Account, Follower, Group
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.enums import CopyMode, CopyStatus
from tradecopier.domain.events import AcceptedEvent, LeaderEvent, OrderCancelled, OrderFilled, OrderPlaced
from tradecopier.domain.orders import OrderLink
from tradecopier.logic.executor import Delivery, copy_event
from tradecopier.logic.services import reset_services
from tradecopier.logic.tokens import hash_token
from tradecopier.settings import ExecutorSettings

RECEIVED = datetime(2031, 3, 4, 14, 30, 0, tzinfo=UTC)
GROUP = "g-onewrite0001"
LEADER, FOLLOWER = "LEAD-1", "EVAL-1"
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def _clock() -> datetime:
    return RECEIVED + timedelta(milliseconds=250)


@pytest.fixture
def settings(copier_env: CopierTables) -> ExecutorSettings:
    reset_services()
    return ExecutorSettings(
        copier_table_name=copier_env.copier, paper_table_name=copier_env.paper, resource_prefix="tc-onewrite"
    )


def _store(settings: ExecutorSettings, follower: Follower) -> CopierStore:
    store = CopierStore(settings.copier_table_name, clock=_clock)
    group = Group(group_id=GROUP, name="one write", leader=Account(account_id=LEADER), created_at=RECEIVED)
    store.create_group(group, hash_token("secret"))
    store.create_follower(GROUP, follower)
    return store


@pytest.fixture
def store(settings: ExecutorSettings) -> CopierStore:
    return _store(settings, Follower(account_id=FOLLOWER))


def _placed(event_id: str, order_id: str = "L-1", limit: str | None = "20000") -> AcceptedEvent:
    event = OrderPlaced(
        event_id=event_id,
        type="order.placed",
        order_id=order_id,
        symbol="NQZ6",
        side="buy",
        qty=2,
        order_type="limit" if limit else "market",
        limit_price=Decimal(limit) if limit else None,
    )
    return AcceptedEvent(group_id=GROUP, received_at=RECEIVED, event=event)


def _accepted(event: LeaderEvent) -> AcceptedEvent:
    return AcceptedEvent(group_id=GROUP, received_at=RECEIVED, event=event)


def _cancel(event_id: str, order_id: str = "L-1") -> AcceptedEvent:
    return _accepted(OrderCancelled(event_id=event_id, type="order.cancelled", order_id=order_id))


def _copy(store: CopierStore, settings: ExecutorSettings, accepted: AcceptedEvent) -> CopyRecord | None:
    """Accepts the event for the follower and copies it, as ingest and the executor would."""
    store.put_event(accepted, [FOLLOWER])

    def broker(follower: Follower) -> BrokerAccount:
        return open_broker(follower.account_id, follower.broker, follower.simulate, settings)

    delivery = Delivery(group_id=GROUP, account_id=FOLLOWER, accepted=accepted, attempt=1, max_attempts=3)
    return copy_event(delivery, store=store, open_broker=broker, clock=_clock)


def _raw(table: str, pk: str, sk: str) -> dict[str, Any] | None:
    answer = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    )
    item: dict[str, Any] | None = answer.get("Item")
    return item


def _table_of(params: dict[str, Any]) -> str:
    if "TableName" in params:
        return str(params["TableName"])
    if "RequestItems" in params:
        return str(next(iter(params["RequestItems"])))
    action = params["TransactItems"][0]
    return str(next(iter(action.values()))["TableName"])


@contextmanager
def copier_calls(table: str) -> Iterator[list[str]]:
    """The DynamoDB operations on ``table`` made meanwhile, in order."""
    seen: list[str] = []

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        if _table_of(params) == table:
            seen.append(model.name)

    events = aws.client("dynamodb").meta.events
    events.register("provide-client-params.dynamodb", note)
    try:
        yield seen
    finally:
        events.unregister("provide-client-params.dynamodb", note)


def test_a_placed_copy_is_one_write_after_the_broker_call(
    store: CopierStore, settings: ExecutorSettings
) -> None:
    with copier_calls(settings.copier_table_name) as calls:
        record = _copy(store, settings, _placed("E-1"))
    assert record is not None and record.status is CopyStatus.PLACED
    # put_event's PutItem is the first call; then the executor's one read and its one write.
    assert calls[1:] == ["BatchGetItem", "PutItem"], calls
    assert [call for call in calls[1:] if call in WRITES] == ["PutItem"]


def test_the_placed_copy_is_its_order_link_item(store: CopierStore, settings: ExecutorSettings) -> None:
    record = _copy(store, settings, _placed("E-1"))
    assert record is not None and record.broker_order_id is not None
    item = _raw(settings.copier_table_name, f"LINK#{GROUP}#L-1", f"FOLLOWER#{FOLLOWER}")
    assert item is not None
    assert (item["event_id"], item["status"]) == ({"S": "E-1"}, {"S": "placed"})
    assert item["link_broker_order_id"] == item["broker_order_id"] == {"S": record.broker_order_id}
    assert _raw(settings.copier_table_name, f"EVENT#{GROUP}#E-1", f"COPY#{FOLLOWER}") is None
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and stored.copies == [record]
    assert [event.copies for event in store.list_events(GROUP, 10)] == [[record]]
    assert store.pending_event_ids(GROUP, FOLLOWER) == []


def test_a_cancel_finds_the_link_the_placed_copy_wrote(
    store: CopierStore, settings: ExecutorSettings
) -> None:
    placed = _copy(store, settings, _placed("E-1"))
    cancelled = _copy(store, settings, _cancel("E-2"))
    assert placed is not None and cancelled is not None
    assert (cancelled.status, cancelled.broker_order_id) == (CopyStatus.PLACED, placed.broker_order_id)
    assert cancelled.detail == "cancelled"
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and stored.copies == [placed]  # the placed copy's record is untouched


def test_a_skipped_placed_copy_leaves_no_link(store: CopierStore, settings: ExecutorSettings) -> None:
    store.lock_follower(GROUP, FOLLOWER, "by hand")
    skipped = _copy(store, settings, _placed("E-1"))
    assert skipped is not None and skipped.status is CopyStatus.SKIPPED
    store.unlock_follower(GROUP, FOLLOWER)
    cancel = _copy(store, settings, _cancel("E-2"))
    assert cancel is not None and cancel.status is CopyStatus.SKIPPED
    assert cancel.reason == "no follower order copies leader order L-1 (it was never placed here)"
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and stored.copies == [skipped]


def test_a_leader_order_id_sent_again_keeps_both_records(
    store: CopierStore, settings: ExecutorSettings
) -> None:
    first = _copy(store, settings, _placed("E-1"))
    second = _copy(store, settings, _placed("E-2"))
    assert first is not None and second is not None
    assert first.status is second.status is CopyStatus.PLACED
    assert first.broker_order_id != second.broker_order_id
    # The link item keeps the first event's record; the second's is in its own partition.
    assert _raw(settings.copier_table_name, f"EVENT#{GROUP}#E-2", f"COPY#{FOLLOWER}") is not None
    for event_id, record in (("E-1", first), ("E-2", second)):
        stored = store.get_event(GROUP, event_id)
        assert stored is not None and stored.copies == [record], event_id
    assert [event.copies for event in store.list_events(GROUP, 10)] == [[second], [first]]
    # As before data layer v2, the link points at the newest follower order of that leader order.
    cancel = _copy(store, settings, _cancel("E-3"))
    assert cancel is not None and cancel.broker_order_id == second.broker_order_id
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and stored.copies == [first]


def test_a_link_from_a_fill_leaves_the_skipped_placed_record(settings: ExecutorSettings) -> None:
    store = _store(settings, Follower(account_id=FOLLOWER, copy_mode=CopyMode.FILLS))
    skipped = _copy(store, settings, _placed("E-1", limit=None))
    assert skipped is not None and skipped.status is CopyStatus.SKIPPED
    fill = OrderFilled(
        event_id="E-2",
        type="order.filled",
        order_id="L-1",
        symbol="NQZ6",
        side="buy",
        qty=2,
        price=Decimal("21450.25"),
    )
    filled = _copy(store, settings, _accepted(fill))
    assert filled is not None and filled.status is CopyStatus.PLACED
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and stored.copies == [skipped]
    inputs = store.load_copy_inputs(GROUP, FOLLOWER, "E-3", "L-1")
    assert inputs.link is not None and inputs.link.broker_order_id == filled.broker_order_id


def test_a_replaced_follower_order_moves_the_link_not_the_record(store: CopierStore) -> None:
    link = OrderLink(
        group_id=GROUP,
        leader_order_id="L-1",
        account_id=FOLLOWER,
        broker_order_id="B-1",
        client_order_id="C-1",
        symbol="NQZ6",
    )
    store.put_event(_placed("E-1"), [FOLLOWER])
    placed = CopyRecord(
        account_id=FOLLOWER, status=CopyStatus.PLACED, qty=2, broker_order_id="B-1", client_order_id="C-1"
    )
    store.record_copy(GROUP, "E-1", placed, order_id="L-1", link=link)
    store.update_link(link.model_copy(update={"broker_order_id": "B-2"}), _clock())
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and stored.copies == [placed]
    inputs = store.load_copy_inputs(GROUP, FOLLOWER, "E-2", "L-1")
    assert inputs.link == link.model_copy(update={"broker_order_id": "B-2"})


def test_a_pending_note_at_the_link_key_gives_way_to_the_outcome_once(store: CopierStore) -> None:
    store.put_event(_placed("E-1"), [FOLLOWER])
    note = CopyRecord(account_id=FOLLOWER, reason="attempt 1/3 failed: boom", attempts=1)
    store.record_copy(GROUP, "E-1", note, order_id="L-1")
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and stored.copies == [note]
    assert store.load_copy_inputs(GROUP, FOLLOWER, "E-2", "L-1").link is None  # a note is no link
    rejected = CopyRecord(
        account_id=FOLLOWER, status=CopyStatus.REJECTED, reason="broker rejected: no", attempts=2
    )
    store.record_copy(GROUP, "E-1", rejected, order_id="L-1")
    with pytest.raises(CopyAlreadyFinal):
        store.record_copy(GROUP, "E-1", note, order_id="L-1")
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and stored.copies == [rejected]


def test_a_removal_skips_the_placed_copy_where_the_executor_writes_it(
    store: CopierStore, settings: ExecutorSettings
) -> None:
    store.put_event(_placed("E-1"), [FOLLOWER])
    store.put_event(_cancel("E-2"), [FOLLOWER])
    assert sorted(store.pending_event_ids(GROUP, FOLLOWER)) == ["E-1", "E-2"]
    assert store.skip_pending_copies_of_removed(GROUP, FOLLOWER, "removed") == 2
    item = _raw(settings.copier_table_name, f"LINK#{GROUP}#L-1", f"FOLLOWER#{FOLLOWER}")
    assert item is not None and (item["status"], item["by_removal"]) == ({"S": "skipped"}, {"BOOL": True})
    assert store.pending_event_ids(GROUP, FOLLOWER) == []
    assert store.skip_pending_copies_of_removed(GROUP, FOLLOWER, "removed") == 0
    # The executor that was already placing the order records it over the removal's skip.
    placed = CopyRecord(account_id=FOLLOWER, status=CopyStatus.PLACED, qty=2, broker_order_id="B-1")
    store.record_copy(GROUP, "E-1", placed, order_id="L-1")
    stored = store.get_event(GROUP, "E-1")
    assert stored is not None and stored.copies == [placed]
