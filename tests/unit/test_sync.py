"""Sync, pure: the expected position (same sizing and mapping as copies), the status, the catch-up
decision per policy and the leader's position from webhook events, table by table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecopier.domain.accounts import Follower
from tradecopier.domain.enums import Rounding, Side
from tradecopier.domain.events import OrderFilled, OrderPlaced, PositionFlattened
from tradecopier.domain.leader_position import LeaderPosition, LotChange, average_price, leader_update
from tradecopier.domain.sizing import size_copy
from tradecopier.domain.sync import (
    CatchUp,
    CatchUpRules,
    Refused,
    SyncPolicy,
    SyncStatus,
    catch_up_client_order_id,
    decide_catch_up,
    expected_position,
    sync_status,
)


def _follower(**settings: object) -> Follower:
    return Follower.model_validate({"account_id": "EVAL-1", **settings})


def _leader(
    qty: int, avg: str | None = "21450", last: str | None = "21450", symbol: str = "NQZ6"
) -> LeaderPosition:
    return LeaderPosition(
        symbol=symbol,
        qty=qty,
        avg_price=None if avg is None else Decimal(avg),
        last_price=None if last is None else Decimal(last),
        as_of="L-1",
    )


@pytest.mark.parametrize(
    ("leader_qty", "settings", "max_position", "symbol", "qty"),
    [
        (2, {}, None, "NQZ6", 2),
        (-2, {}, None, "NQZ6", -2),
        (0, {"multiplier": 3}, None, "NQZ6", 0),
        (3, {"multiplier": "0.5"}, None, "NQZ6", 2),  # 1.5 half_up
        (3, {"multiplier": "0.5", "rounding": "floor"}, None, "NQZ6", 1),
        (3, {"multiplier": "0.5", "rounding": "ceil"}, None, "NQZ6", 2),
        (5, {"max_qty": 3}, None, "NQZ6", 3),
        (2, {"inverse": True}, None, "NQZ6", -2),
        (-2, {"inverse": True}, None, "NQZ6", 2),
        (2, {"symbol_map": {"NQ": "MNQ"}, "multiplier": 10}, None, "MNQZ6", 20),
        (2, {"multiplier": 4}, 5, "NQZ6", 5),  # capped by the risk rule max_position
        (-9, {}, 5, "NQZ6", -5),
        (1, {"multiplier": "0.1"}, None, "NQZ6", 0),  # sizes to 0: expected flat
    ],
)
def test_expected_position(
    leader_qty: int, settings: dict[str, object], max_position: int | None, symbol: str, qty: int
) -> None:
    expected = expected_position(_leader(leader_qty), _follower(**settings), max_position=max_position)
    assert (expected.symbol, expected.qty, expected.leader_qty) == (symbol, qty, leader_qty)


def test_micro_weight_counts_micros_toward_max_position() -> None:
    follower = _follower(symbol_map={"NQ": "MNQ"}, multiplier=10)
    expected = expected_position(_leader(2), follower, max_position=1, micro_weight=Decimal("0.1"))
    assert expected.qty == 10


@given(
    leader_qty=st.integers(min_value=-1000, max_value=1000),
    multiplier=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(50), places=2),
    rounding=st.sampled_from(list(Rounding)),
    max_qty=st.none() | st.integers(min_value=1, max_value=500),
)
def test_expected_is_size_copy_of_the_leader_position(
    leader_qty: int, multiplier: Decimal, rounding: Rounding, max_qty: int | None
) -> None:
    follower = _follower(multiplier=multiplier, rounding=rounding, max_qty=max_qty)
    expected = expected_position(_leader(leader_qty), follower)
    sized = size_copy(abs(leader_qty), multiplier, rounding, max_qty).qty if leader_qty else 0
    assert expected.qty == sized * (1 if leader_qty >= 0 else -1)


@pytest.mark.parametrize(
    ("expected_qty", "actual", "status"),
    [(2, 2, SyncStatus.IN_SYNC), (2, 1, SyncStatus.OUT_OF_SYNC), (0, -1, SyncStatus.OUT_OF_SYNC)],
)
def test_status(expected_qty: int, actual: int, status: SyncStatus) -> None:
    expected = expected_position(_leader(expected_qty), _follower())
    assert sync_status(expected, actual) is status


def test_status_unknown_without_leader_or_broker() -> None:
    assert sync_status(None, 2) is SyncStatus.UNKNOWN
    assert sync_status(expected_position(_leader(1), _follower()), None) is SyncStatus.UNKNOWN


ALERT = CatchUpRules(SyncPolicy.ALERT, 8, may_only_reduce=False)
CLOSE = CatchUpRules(SyncPolicy.CLOSE_ONLY, 8, may_only_reduce=False)
MIRROR = CatchUpRules(SyncPolicy.MIRROR, 8, may_only_reduce=False)
LOCKED_MIRROR = CatchUpRules(SyncPolicy.MIRROR, 8, may_only_reduce=True, lock_reason="daily loss")


@pytest.mark.parametrize(
    ("rules", "leader_qty", "actual", "last", "action"),
    [
        (ALERT, 0, 2, "21450", None),
        (ALERT, 2, 0, "21450", None),
        (CLOSE, 0, 2, "21450", (Side.SELL, 2, 0)),
        (CLOSE, 0, -3, "21450", (Side.BUY, 3, 0)),
        (CLOSE, 2, 0, "21450", None),  # close_only never opens
        (CLOSE, 2, -1, "21450", (Side.BUY, 1, 0)),  # the wrong side is a position the leader lacks
        (CLOSE, 2, 3, "21450", None),  # more than the leader: reported only
        (MIRROR, 2, 0, "21450", (Side.BUY, 0, 2)),
        (MIRROR, 2, 1, "21452", (Side.BUY, 0, 1)),  # 8 ticks exactly: allowed
        (MIRROR, 2, 0, "21452.25", None),  # 9 ticks: refused
        (MIRROR, -2, 0, "21447.75", None),  # 9 ticks the other way
        (MIRROR, 2, -1, "21450", (Side.BUY, 1, 2)),  # close and open in one order
        (MIRROR, 2, -1, "21460", (Side.BUY, 1, 0)),  # price moved: only the close
        (MIRROR, 0, 4, "21460", (Side.SELL, 4, 0)),  # closing ignores the price
        (MIRROR, 2, 5, "21460", (Side.SELL, 3, 0)),  # trims an excess (an exit: price ignored)
        (MIRROR, -2, -3, "21450", (Side.BUY, 1, 0)),
        (LOCKED_MIRROR, 2, 5, "21450", (Side.SELL, 3, 0)),
        (LOCKED_MIRROR, 2, 0, "21450", None),  # a locked follower is never opened
        (LOCKED_MIRROR, 0, 2, "21450", (Side.SELL, 2, 0)),  # ...but may close
        (LOCKED_MIRROR, 2, -2, "21450", (Side.BUY, 2, 0)),
        (MIRROR, 2, 2, "21999", "in sync"),
    ],
)
def test_catch_up_per_policy(
    rules: CatchUpRules, leader_qty: int, actual: int, last: str, action: tuple[Side, int, int] | str | None
) -> None:
    leader = _leader(leader_qty, last=last)
    decision = decide_catch_up(expected_position(leader, _follower()), actual, rules, leader)
    if action == "in sync":
        assert decision is None
    elif action is None:
        assert isinstance(decision, Refused), decision
    else:
        assert isinstance(decision, CatchUp), decision
        assert (decision.side, decision.closing, decision.opening) == action


def test_refusals_say_why() -> None:
    leader = _leader(2, last="21460")
    expected = expected_position(leader, _follower())
    moved = decide_catch_up(expected, 0, MIRROR, leader)
    assert isinstance(moved, Refused) and "40 ticks" in moved.reason and "max_catchup_ticks 8" in moved.reason
    locked = decide_catch_up(expected, 0, LOCKED_MIRROR, _leader(2))
    assert isinstance(locked, Refused) and "locked (daily loss)" in locked.reason
    unknown = _leader(2, avg=None)
    no_price = decide_catch_up(expected_position(unknown, _follower()), 0, MIRROR, unknown)
    assert isinstance(no_price, Refused) and "not known" in no_price.reason


def test_ticks_are_the_follower_symbol_ticks() -> None:
    # CL ticks 0.01: 0.08 is 8 ticks; mapped symbols use their own tick.
    leader = _leader(1, avg="70.00", last="70.08", symbol="CLZ6")
    assert isinstance(decide_catch_up(expected_position(leader, _follower()), 0, MIRROR, leader), CatchUp)
    far = _leader(1, avg="70.00", last="70.09", symbol="CLZ6")
    assert isinstance(decide_catch_up(expected_position(far, _follower()), 0, MIRROR, far), Refused)


@given(
    leader_qty=st.integers(min_value=-50, max_value=50),
    actual=st.integers(min_value=-50, max_value=50),
    multiplier=st.sampled_from(["0.5", "1", "2", "3"]),
    inverse=st.booleans(),
    policy=st.sampled_from(list(SyncPolicy)),
    locked=st.booleans(),
    ticks=st.integers(min_value=0, max_value=12),
)
def test_a_catch_up_never_goes_beyond_the_leader_sized(
    leader_qty: int, actual: int, multiplier: str, inverse: bool, policy: SyncPolicy, locked: bool, ticks: int
) -> None:
    leader = _leader(leader_qty, last=str(Decimal("21450") + Decimal("0.25") * ticks))
    expected = expected_position(leader, _follower(multiplier=multiplier, inverse=inverse))
    decision = decide_catch_up(expected, actual, CatchUpRules(policy, 8, locked, "x"), leader)
    if not isinstance(decision, CatchUp):
        return
    after = actual + decision.side.sign * decision.qty
    assert abs(after) <= abs(expected.qty) or after == 0
    assert after == 0 or (after > 0) == (expected.qty > 0)  # never on the wrong side
    if locked or policy is not SyncPolicy.MIRROR or ticks > 8:
        assert decision.opening == 0


def test_catch_up_ids_are_deterministic() -> None:
    one = catch_up_client_order_id("g-1", "EVAL-1", "NQZ6", "L-1", 0)
    assert one == catch_up_client_order_id("g-1", "EVAL-1", "NQZ6", "L-1", 0)
    assert (
        len(
            {
                one,
                catch_up_client_order_id("g-1", "EVAL-1", "NQZ6", "L-2", 0),
                catch_up_client_order_id("g-1", "EVAL-1", "NQZ6", "L-1", 1),
                catch_up_client_order_id("g-1", "EVAL-2", "NQZ6", "L-1", 0),
            }
        )
        == 4
    )
    assert len(one) == 43


def _placed(
    qty: int, side: str, after: int | None, order_type: str = "market", price: str | None = "100"
) -> OrderPlaced:
    extra = {"limit_price": price} if order_type == "limit" else {}
    return OrderPlaced.model_validate(
        {
            "event_id": "e",
            "type": "order.placed",
            "order_id": "o",
            "symbol": "NQZ6",
            "side": side,
            "qty": qty,
            "order_type": order_type,
            "position_after": after,
            "price": price,
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("event", "qty", "change", "lot"),
    [
        (_placed(2, "buy", 2), 2, LotChange.RESTART, 2),
        (_placed(1, "buy", 3), 3, LotChange.ADD, 1),
        (_placed(1, "sell", 2), 2, LotChange.KEEP, 0),
        (_placed(2, "sell", 0), 0, LotChange.RESTART, 0),
        (_placed(3, "sell", -1), -1, LotChange.RESTART, 1),  # reversal: the new lot is |after|
        (_placed(2, "sell", -4), -4, LotChange.ADD, 2),
    ],
)
def test_leader_update(event: OrderPlaced, qty: int, change: LotChange, lot: int) -> None:
    update = leader_update(event)
    assert update is not None and (update.qty, update.change, update.lot_qty) == (qty, change, lot)


def test_leader_update_only_from_what_the_leader_holds() -> None:
    assert leader_update(_placed(2, "buy", None)) is None
    assert leader_update(_placed(2, "buy", 2, order_type="limit")) is None  # not held until filled
    filled = OrderFilled.model_validate(
        {
            "event_id": "f",
            "type": "order.filled",
            "order_id": "o",
            "symbol": "NQZ6",
            "side": "buy",
            "qty": 1,
            "price": 101,
            "position_after": 1,
        }
    )
    assert leader_update(filled) is not None
    flat = leader_update(
        PositionFlattened.model_validate({"event_id": "x", "type": "position.flattened", "symbol": "NQZ6"})
    )
    assert flat is not None and flat.qty == 0


def test_average_price() -> None:
    assert average_price([(2, Decimal(100)), (1, Decimal(103))]) == Decimal(101)
    assert average_price([(2, Decimal(100)), (1, None)]) is None
    assert average_price([]) is None
