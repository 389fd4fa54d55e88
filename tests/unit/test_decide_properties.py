"""decide() under random leader paths that carry ``position_after``: whatever the multiplier,
rounding, cap, mapping, inverse or lock, a follower is flat whenever the leader is flat, never holds
the opposite side of the leader (after inverse), and no order exceeds ``max_qty`` (plus a close)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from tradecopier.domain.accounts import AccountClaim, Follower
from tradecopier.domain.decide import NeedPosition, Place, decide
from tradecopier.domain.enums import AccountRole, FollowerState
from tradecopier.domain.events import AcceptedEvent, LeaderEvent

GROUP = "g-aaaaaaaaaaaa"
ACCEPTED_AT = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
CLAIM = AccountClaim(account_id="EVAL-1", group_id=GROUP, role=AccountRole.FOLLOWER)
events = TypeAdapter(LeaderEvent)

leader_paths = st.lists(st.integers(min_value=-6, max_value=6), min_size=1, max_size=25)
multipliers = st.sampled_from(
    [Decimal("0.1"), Decimal("0.3"), Decimal("0.5"), Decimal(1), Decimal(2), Decimal(10)]
)


@settings(max_examples=300)
@given(
    path=leader_paths,
    multiplier=multipliers,
    rounding=st.sampled_from(["half_up", "floor", "ceil"]),
    max_qty=st.none() | st.integers(min_value=1, max_value=8),
    inverse=st.booleans(),
    mapped=st.booleans(),
    locks=st.lists(st.booleans(), min_size=25, max_size=25),
)
def test_follower_tracks_the_leaders_side_and_is_flat_when_it_is(
    path: list[int],
    multiplier: Decimal,
    rounding: str,
    max_qty: int | None,
    inverse: bool,
    mapped: bool,
    locks: list[bool],
) -> None:
    leader = follower_position = 0
    symbol = "MNQZ6" if mapped else "NQZ6"
    for step, target in enumerate(path):
        if target == leader:
            continue
        side = "buy" if target > leader else "sell"
        body = {
            "event_id": f"E-{step}",
            "type": "order.placed",
            "order_id": f"L-{step}",
            "symbol": "NQZ6",
            "side": side,
            "qty": abs(target - leader),
            "order_type": "market",
            "position_after": target,
        }
        accepted = AcceptedEvent(group_id=GROUP, received_at=ACCEPTED_AT, event=events.validate_python(body))
        state = FollowerState.LOCKED if locks[step] else FollowerState.ACTIVE
        follower = Follower(
            account_id="EVAL-1",
            multiplier=multiplier,
            rounding=rounding,
            max_qty=max_qty,
            inverse=inverse,
            symbol_map={"NQ": "MNQ"} if mapped else {},
            state=state,
            lock_reason="risk" if locks[step] else None,
        )
        now = ACCEPTED_AT + timedelta(milliseconds=5)
        decision = decide(accepted, follower, CLAIM, None, now=now)
        if isinstance(decision, NeedPosition):
            assert decision.symbol == symbol
            decision = decide(accepted, follower, CLAIM, None, now=now, position=follower_position)
        if isinstance(decision, Place):
            order = decision.order
            assert order.symbol == symbol and order.account_id == "EVAL-1"
            closing = abs(follower_position) if order.side.sign * follower_position < 0 else 0
            assert max_qty is None or order.qty - closing <= max_qty
            follower_position += order.side.sign * order.qty
        leader = target
        expected_sign = (-1 if inverse else 1) * (leader > 0) - (-1 if inverse else 1) * (leader < 0)
        if leader == 0:
            assert follower_position == 0, (step, path)
        assert follower_position * expected_sign >= 0, (step, leader, follower_position)
