"""The executor's load for an ``order.placed`` (``load_copy_inputs(..., placed=True)``): four keys,
not five — its copy record is the link item — and the event's partition read only when the link
key holds another event's record or a link alone. Against DynamoDB Local: the answer is the same
as the five-key read in every case where a placed copy's record can be."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import CopierTables
from tradecopier.dal.copier import CopierStore
from tradecopier.domain.accounts import Account, Follower, Group
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.enums import CopyStatus
from tradecopier.domain.events import AcceptedEvent, OrderPlaced
from tradecopier.domain.orders import OrderLink
from tradecopier.logic.tokens import hash_token

RECEIVED = datetime(2031, 3, 4, 14, 30, 0, tzinfo=UTC)
GROUP = "g-placedload01"
LEADER, FOLLOWER = "LEAD-1", "EVAL-1"


def _clock() -> datetime:
    return RECEIVED + timedelta(milliseconds=250)


@pytest.fixture
def store(copier_env: CopierTables) -> CopierStore:
    store = CopierStore(copier_env.copier, clock=_clock)
    group = Group(group_id=GROUP, name="placed load", leader=Account(account_id=LEADER), created_at=RECEIVED)
    store.create_group(group, hash_token("secret"))
    store.create_follower(GROUP, Follower(account_id=FOLLOWER))
    return store


def _placed(event_id: str, order_id: str = "L-1") -> AcceptedEvent:
    event = OrderPlaced(
        event_id=event_id,
        type="order.placed",
        order_id=order_id,
        symbol="NQZ6",
        side="buy",
        qty=2,
        order_type="limit",
        limit_price=Decimal("20000"),
    )
    return AcceptedEvent(group_id=GROUP, received_at=RECEIVED, event=event)


def _link(broker_order_id: str) -> OrderLink:
    return OrderLink(
        group_id=GROUP,
        leader_order_id="L-1",
        account_id=FOLLOWER,
        broker_order_id=broker_order_id,
        client_order_id=f"C-{broker_order_id}",
        symbol="NQZ6",
    )


def _placed_record(broker_order_id: str) -> CopyRecord:
    return CopyRecord(
        account_id=FOLLOWER,
        status=CopyStatus.PLACED,
        qty=2,
        broker_order_id=broker_order_id,
        client_order_id=f"C-{broker_order_id}",
    )


@contextmanager
def _reads(store: CopierStore) -> Iterator[list[tuple[str, int]]]:
    """The read calls the store's client makes inside, with the number of keys of each."""
    seen: list[tuple[str, int]] = []

    def hook(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "BatchGetItem":
            seen.append((model.name, sum(len(r["Keys"]) for r in params["RequestItems"].values())))
        elif model.name in ("GetItem", "Query"):
            seen.append((model.name, 1))

    events = store._client.meta.events
    events.register("provide-client-params.dynamodb", hook)
    try:
        yield seen
    finally:
        events.unregister("provide-client-params.dynamodb", hook)


def _both(store: CopierStore, event_id: str) -> tuple[Any, list[tuple[str, int]]]:
    """The placed load and the reads it made; asserts it answers as the five-key load does."""
    with _reads(store) as reads:
        inputs = store.load_copy_inputs(GROUP, FOLLOWER, event_id, "L-1", placed=True)
    assert inputs == store.load_copy_inputs(GROUP, FOLLOWER, event_id, "L-1")
    return inputs, reads


def test_a_first_delivery_reads_four_keys_and_finds_the_copy_pending(store: CopierStore) -> None:
    store.put_event(_placed("E-1"), [FOLLOWER])
    inputs, reads = _both(store, "E-1")
    assert reads == [("BatchGetItem", 4)]
    assert inputs.event_found and inputs.copy == CopyRecord(account_id=FOLLOWER)
    assert inputs.follower is not None and inputs.claim is not None and inputs.link is None


def test_a_redelivery_finds_the_final_record_at_the_link_key_in_the_same_read(store: CopierStore) -> None:
    store.put_event(_placed("E-1"), [FOLLOWER])
    record = _placed_record("B-1")
    store.record_copy(GROUP, "E-1", record, order_id="L-1", link=_link("B-1"))
    inputs, reads = _both(store, "E-1")
    assert reads == [("BatchGetItem", 4)]
    assert inputs.copy == record and inputs.link == _link("B-1")


def test_a_reused_leader_order_id_reads_the_events_partition_once_more(store: CopierStore) -> None:
    store.put_event(_placed("E-1"), [FOLLOWER])
    store.record_copy(GROUP, "E-1", _placed_record("B-1"), order_id="L-1", link=_link("B-1"))
    store.put_event(_placed("E-2"), [FOLLOWER])
    pending, reads = _both(store, "E-2")  # the link key is E-1's: E-2's record would be elsewhere
    assert reads == [("BatchGetItem", 4), ("GetItem", 1)]
    assert pending.copy == CopyRecord(account_id=FOLLOWER)
    second = _placed_record("B-2")
    store.record_copy(GROUP, "E-2", second, order_id="L-1", link=_link("B-2"))  # moves to E-2's partition
    inputs, _ = _both(store, "E-2")
    assert inputs.copy == second and inputs.copy.status.is_final  # a redelivery sees it: no second order
    first, reads = _both(store, "E-1")
    assert reads == [("BatchGetItem", 4)] and first.copy == _placed_record("B-1")


def test_a_link_alone_at_the_key_sends_the_load_to_the_events_partition(store: CopierStore) -> None:
    store.update_link(_link("B-0"), _clock())  # a link without a record (no event_id) took the key
    store.put_event(_placed("E-1"), [FOLLOWER])
    record = _placed_record("B-1")
    store.record_copy(GROUP, "E-1", record, order_id="L-1", link=_link("B-1"))
    inputs, reads = _both(store, "E-1")
    assert reads == [("BatchGetItem", 4), ("GetItem", 1)]
    assert inputs.copy == record


def test_a_follower_who_joined_later_and_a_rolled_back_event_still_read_as_before(
    store: CopierStore,
) -> None:
    store.put_event(_placed("E-1"), ["SOMEONE-ELSE"])
    joined_later, _ = _both(store, "E-1")
    assert joined_later.event_found and joined_later.copy is None
    missing, reads = _both(store, "E-9")  # ingest's 503 removed it
    assert reads == [("BatchGetItem", 4)] and not missing.event_found and missing.copy is None
