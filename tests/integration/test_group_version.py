"""The group's ``version`` against DynamoDB Local: every write that changes what ingest reads from
the group bumps it, so an event guarded by the version read before that write is refused
(``GroupChanged``, nothing written); the writes ingest does not read leave it alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.conftest import CopierTables
from tradecopier.dal.copier import CopierStore, EventExists, GroupChanged
from tradecopier.domain.accounts import Account, ConnectionState, Follower, Group
from tradecopier.domain.enums import CopyStatus
from tradecopier.domain.events import AcceptedEvent, OrderPlaced
from tradecopier.logic.services import reset_services
from tradecopier.logic.tokens import hash_token

NOW = datetime(2031, 3, 4, 14, 30, 0, tzinfo=UTC)
GROUP, LEADER = "g-versionver01", "LEAD-1"


@pytest.fixture
def store(copier_env: CopierTables) -> CopierStore:
    reset_services()
    store = CopierStore(copier_env.copier, clock=lambda: NOW)
    group = Group(group_id=GROUP, name="versions", leader=Account(account_id=LEADER), created_at=NOW)
    store.create_group(group, hash_token("secret"))
    store.create_follower(GROUP, Follower(account_id="EVAL-1"))
    store.mark_provisioned(GROUP, "EVAL-1", "queue-eval-1", {})
    return store


def _accepted(event_id: str) -> AcceptedEvent:
    event = OrderPlaced(
        event_id=event_id,
        type="order.placed",
        order_id="L-1",
        symbol="NQZ6",
        side="buy",
        qty=2,
        order_type="market",
    )
    return AcceptedEvent(group_id=GROUP, received_at=NOW, event=event)


def _version(store: CopierStore) -> int:
    group = store.get_group(GROUP)
    assert group is not None
    return group.version


CHANGES: dict[str, Callable[[CopierStore], object]] = {
    "token rotated": lambda s: s.set_token_hash(GROUP, hash_token("rotated")),
    "topics changed": lambda s: s.set_topic_arns(GROUP, ["arn:aws:sns:us-east-1:1:t-g-1-0.fifo"]),
    "follower created": lambda s: s.create_follower(GROUP, Follower(account_id="EVAL-2")),
    "follower provisioned": lambda s: s.mark_provisioned(GROUP, "EVAL-1", "queue-eval-1", {"queue": "q"}),
    "follower deleted": lambda s: s.delete_follower(GROUP, "EVAL-1", "queue-eval-1"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_ingest_reads_refuses_an_event_guarded_by_the_version_before_it(
    store: CopierStore, change: str
) -> None:
    before = _version(store)
    CHANGES[change](store)
    assert _version(store) == before + 1
    with pytest.raises(GroupChanged):
        store.put_event(_accepted("E-1"), ["EVAL-1"], group_version=before)
    assert store.get_event(GROUP, "E-1") is None
    store.put_event(_accepted("E-1"), ["EVAL-1"], group_version=before + 1)
    assert store.get_event(GROUP, "E-1") is not None


def test_changes_ingest_does_not_read_leave_the_version(store: CopierStore) -> None:
    before = _version(store)
    store.lock_follower(GROUP, "EVAL-1", "daily loss")
    store.unlock_follower(GROUP, "EVAL-1")
    store.update_follower_settings(GROUP, "EVAL-1", {"multiplier": 2})
    store.record_leader_connection(GROUP, ConnectionState(status="connected", checked_at=NOW, detail="ok"))
    assert _version(store) == before
    store.put_event(_accepted("E-1"), ["EVAL-1"], group_version=before)


def test_a_version_check_on_a_deleted_group_fails(store: CopierStore) -> None:
    group = store.get_group(GROUP)
    assert group is not None
    store.delete_follower(GROUP, "EVAL-1", "queue-eval-1")
    store.delete_group(group)
    with pytest.raises(GroupChanged):
        store.put_event(_accepted("E-1"), ["EVAL-1"], group_version=group.version + 1)
    assert store.get_event(GROUP, "E-1") is None


def test_a_guarded_duplicate_comes_back_decoded(store: CopierStore) -> None:
    version = _version(store)
    store.put_event(_accepted("E-1"), ["EVAL-1"], group_version=version)
    with pytest.raises(EventExists) as raised:
        store.put_event(_accepted("E-1"), ["EVAL-1"], group_version=version)
    stored = raised.value.stored
    assert stored is not None and stored.accepted == _accepted("E-1")
    assert [(c.account_id, c.status) for c in stored.copies] == [("EVAL-1", CopyStatus.PENDING)]


def test_a_duplicate_guarded_by_a_stale_version_is_a_changed_group(store: CopierStore) -> None:
    """The rotated-token case: a duplicate must not be answered from a stale group."""
    version = _version(store)
    store.put_event(_accepted("E-1"), ["EVAL-1"], group_version=version)
    store.set_token_hash(GROUP, hash_token("rotated"))
    with pytest.raises(GroupChanged):
        store.put_event(_accepted("E-1"), ["EVAL-1"], group_version=version)


def test_a_group_never_bumped_is_at_version_zero(store: CopierStore, copier_env: CopierTables) -> None:
    group = Group(
        group_id="g-versionver02", name="fresh", leader=Account(account_id="LEAD-2"), created_at=NOW
    )
    store.create_group(group, hash_token("secret"))
    fresh = store.get_group("g-versionver02")
    assert fresh is not None and fresh.version == 0
    accepted = AcceptedEvent(group_id="g-versionver02", received_at=NOW, event=_accepted("E-9").event)
    store.put_event(accepted, [], group_version=0)
    with pytest.raises(GroupChanged):
        store.put_event(
            AcceptedEvent(group_id="g-versionver02", received_at=NOW, event=_accepted("E-10").event),
            [],
            group_version=1,
        )


def test_many_followers_marked_provisioned_in_one_transaction_per_49(store: CopierStore) -> None:
    """Home mode's start re-records every follower: one bump per transaction, every follower and
    queue owner written as ``mark_provisioned`` writes them one by one."""
    accounts = [f"EVAL-M{i}" for i in range(60)]
    for account_id in accounts:
        store.create_follower(GROUP, Follower(account_id=account_id))
    before = _version(store)
    store.mark_provisioned_many(
        GROUP, [(account_id, f"queue-{account_id}", {"queue_url": account_id}) for account_id in accounts]
    )
    assert _version(store) == before + 2  # 49 + 11
    group = store.get_group(GROUP)
    assert group is not None
    marked = {
        item.follower.account_id: item for item in group.followers if item.follower.account_id in accounts
    }
    assert all(item.provisioned for item in marked.values()) and len(marked) == len(accounts)
    assert {account: item.resources for account, item in marked.items()} == {
        account: {"queue_url": account} for account in accounts
    }
    assert [store.queue_owner(f"queue-{account}") for account in accounts] == [(GROUP, a) for a in accounts]


def test_marking_many_followers_writes_nothing_when_one_is_gone(store: CopierStore) -> None:
    store.create_follower(GROUP, Follower(account_id="EVAL-2"))
    before = _version(store)
    with pytest.raises(Exception, match="ConditionalCheckFailed"):
        store.mark_provisioned_many(GROUP, [("EVAL-2", "queue-eval-2", {}), ("EVAL-GONE", "queue-gone", {})])
    assert _version(store) == before and store.queue_owner("queue-eval-2") is None
    group = store.get_group(GROUP)
    assert group is not None
    assert [item.provisioned for item in group.followers if item.follower.account_id == "EVAL-2"] == [False]
