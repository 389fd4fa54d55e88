"""Sync under random leader paths with faults injected into some followers (real ``decide`` for
the copies, real ``check_group`` for the check, in-memory brokers and store): once the faults stop
and a check runs, every active ``mirror`` follower whose price guard allows it is ``in_sync``, and no
catch-up ever leaves a follower beyond the leader's sized position or on the other side.

Multipliers include 0.5: three copies of 1 each round to 1 (3 held) while the leader's 3 sizes to 2;
mirror trims that excess like a missed partial exit, so the in_sync half holds for it too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from tradecopier.brokers.base import BrokerAccount, BrokerOrder, BrokerPosition
from tradecopier.dal.copier import CopierStore, FollowerItem, GroupItem
from tradecopier.domain.accounts import Account, AccountClaim, Follower, Group
from tradecopier.domain.decide import NeedPosition, Place, decide
from tradecopier.domain.enums import AccountRole, OrderStatus
from tradecopier.domain.events import AcceptedEvent, OrderPlaced
from tradecopier.domain.leader_position import (
    LeaderPosition,
    LeaderUpdate,
    LotChange,
    average_price,
    leader_update,
)
from tradecopier.domain.orders import FollowerOrder
from tradecopier.domain.sync import SyncPolicy, SyncStatus, expected_position, price_guard
from tradecopier.logic.sync import Brokers, check_group

GROUP = "g-aaaaaaaaaaaa"
NOW = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


class FakeBroker:
    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.held: dict[str, int] = {}
        self.by_coid: dict[str, BrokerOrder] = {}

    def place(self, order: FollowerOrder) -> BrokerOrder:
        if order.client_order_id in self.by_coid:
            return self.by_coid[order.client_order_id]
        self.held[order.symbol] = self.held.get(order.symbol, 0) + order.side.sign * order.qty
        placed = BrokerOrder(
            broker_order_id=f"B-{len(self.by_coid)}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            order_type=order.order_type,
            status=OrderStatus.FILLED,
        )
        self.by_coid[order.client_order_id] = placed
        return placed

    def positions(self) -> list[BrokerPosition]:
        return [BrokerPosition(symbol=s, qty=q) for s, q in self.held.items() if q]

    def position(self, symbol: str) -> BrokerPosition:
        return BrokerPosition(symbol=symbol, qty=self.held.get(symbol, 0))


class FakeStore:
    """The sync part of ``CopierStore``, in memory (the lot arithmetic as ``dal.copier.sync`` stores it)."""

    def __init__(self) -> None:
        self.leader: dict[str, tuple[int, list[tuple[int, Decimal | None]], Decimal | None, str]] = {}
        self.entries: list[dict[str, Any]] = []

    def apply(self, update: LeaderUpdate, event_id: str) -> None:
        _, lots, last, _ = self.leader.get(update.symbol, (0, [], None, ""))
        lot = [(update.lot_qty, update.price)] if update.lot_qty else []
        lots = (
            lot
            if update.change is LotChange.RESTART
            else lots + lot
            if update.change is LotChange.ADD
            else lots
        )
        self.leader[update.symbol] = (update.qty, lots, update.price or last, event_id)

    def leader_positions(self, group_id: str) -> list[LeaderPosition]:
        return [
            LeaderPosition(symbol, qty, average_price(lots) if qty else None, last, as_of)
            for symbol, (qty, lots, last, as_of) in self.leader.items()
        ]

    def set_follower_sync(self, group_id: str, account_id: str, sync: dict[str, Any]) -> None:
        pass

    def put_sync_entry(self, group_id: str, account_id: str, entry_id: str, entry: dict[str, Any]) -> None:
        self.entries.append({**entry, "account_id": account_id})

    def get_claim(self, account_id: str) -> AccountClaim:
        return AccountClaim(account_id=account_id, group_id=GROUP, role=AccountRole.FOLLOWER)


steps = st.lists(
    st.tuples(st.integers(min_value=-3, max_value=3).filter(bool), st.integers(min_value=-12, max_value=12)),
    min_size=1,
    max_size=12,
)
follower_specs = st.lists(
    st.tuples(
        st.sampled_from(list(SyncPolicy)),
        st.sampled_from([Decimal(1), Decimal(2), Decimal(3), Decimal("0.5")]),
        st.booleans(),  # inverse
        st.lists(st.booleans(), min_size=12, max_size=12),  # fault per step
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60)
@given(path=steps, specs=follower_specs, ticks=st.integers(min_value=0, max_value=10))
def test_after_the_faults_a_check_brings_mirror_followers_in_sync_never_beyond(
    path: list[tuple[int, int]], specs: list[tuple[SyncPolicy, Decimal, bool, list[bool]]], ticks: int
) -> None:
    followers = [
        Follower(
            account_id=f"EVAL-{n}", multiplier=m, inverse=inv, sync_policy=policy, max_catchup_ticks=ticks
        )
        for n, (policy, m, inv, _) in enumerate(specs)
    ]
    brokers = {f.account_id: FakeBroker(f.account_id) for f in followers}
    store = FakeStore()
    claim = AccountClaim(account_id="x", group_id=GROUP, role=AccountRole.FOLLOWER)
    leader, price = 0, Decimal(21450)
    for index, (delta, move) in enumerate(path):
        leader, price = leader + delta, price + Decimal("0.25") * move
        event = OrderPlaced(
            event_id=f"E-{index}",
            type="order.placed",
            order_id=f"L-{index}",
            symbol="NQZ6",
            side="buy" if delta > 0 else "sell",
            qty=abs(delta),
            order_type="market",
            price=price,
            position_after=leader,
        )
        accepted = AcceptedEvent(group_id=GROUP, received_at=NOW, event=event)
        update = leader_update(event)
        assert update is not None
        store.apply(update, event.event_id)
        for follower, (_, _, _, faults) in zip(followers, specs, strict=True):
            if faults[index]:
                continue  # the follower's broker was unreachable: this copy never happened
            broker = brokers[follower.account_id]
            mine = claim.model_copy(update={"account_id": follower.account_id})
            decision = decide(accepted, follower, mine, None, now=NOW)
            if isinstance(decision, NeedPosition):
                held = broker.position(decision.symbol).qty
                decision = decide(accepted, follower, mine, None, now=NOW, position=held)
            if isinstance(decision, Place):
                broker.place(decision.order)

    before = {a: dict(b.held) for a, b in brokers.items()}
    group = GroupItem(
        Group(
            group_id=GROUP, name="p", leader=Account(account_id="LEAD"), followers=followers, created_at=NOW
        ),
        "hash",
        [],
        [FollowerItem(f, provisioned=True) for f in followers],
    )
    report = check_group(
        cast(CopierStore, store),
        group,
        Brokers(
            follower=lambda f: cast(BrokerAccount, brokers[f.account_id]),
            leader=lambda a: cast(BrokerAccount, None),
        ),
        now=NOW,
        act=True,
    )

    [known] = store.leader_positions(GROUP)
    by_account = {r.account_id: r for r in report.followers}
    for follower, (policy, _, _, _) in zip(followers, specs, strict=True):
        expected = expected_position(known, follower)
        after = brokers[follower.account_id].held.get(expected.symbol, 0)
        held_before = before[follower.account_id].get(expected.symbol, 0)
        # never beyond the leader's sized position, never on its other side, unless it already was
        if after != held_before:
            assert abs(after) <= abs(expected.qty) and (after == 0 or (after > 0) == (expected.qty > 0))
        guard_allows = expected.qty == 0 or price_guard(expected.symbol, known, ticks) is None
        if policy is SyncPolicy.MIRROR and guard_allows:
            assert by_account[follower.account_id].status is SyncStatus.IN_SYNC, (
                known,
                expected,
                before,
                after,
            )
        if policy is SyncPolicy.ALERT:
            assert after == held_before
