"""Copying v2, rule by rule (API.md v2: symbols, follower settings, exits, brackets, fills, stale)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter

from tradecopier.domain.accounts import AccountClaim, Follower
from tradecopier.domain.decide import (
    Cancel,
    CopyDecision,
    Flatten,
    Modify,
    NeedPosition,
    NoCopy,
    Place,
    decide,
)
from tradecopier.domain.enums import AccountRole, CopyStatus, FollowerState, Leg, OrderType, Side
from tradecopier.domain.events import AcceptedEvent, LeaderEvent
from tradecopier.domain.orders import Bracket, OrderLink

GROUP = "g-aaaaaaaaaaaa"
ACCEPTED_AT = datetime(2026, 11, 24, 14, 30, 1, tzinfo=UTC)
IN_TIME = ACCEPTED_AT + timedelta(milliseconds=40)
events = TypeAdapter(LeaderEvent)
CLAIM = AccountClaim(account_id="EVAL-1", group_id=GROUP, role=AccountRole.FOLLOWER)
LOCKED = {"state": FollowerState.LOCKED, "lock_reason": "daily loss limit"}
LIQUIDATING = {"state": FollowerState.LIQUIDATE_ONLY, "lock_reason": "risk: daily loss limit"}


BASE: dict[str, dict[str, Any]] = {
    "order.placed": {"order_id": "L-42", "symbol": "NQZ6", "side": "buy", "qty": 2, "order_type": "market"},
    "order.filled": {"order_id": "L-42", "symbol": "NQZ6", "side": "buy", "qty": 2},
    "order.modified": {"order_id": "L-42"},
    "order.cancelled": {"order_id": "L-42"},
    "position.flattened": {"symbol": "NQZ6"},
}


def event(**fields: Any) -> AcceptedEvent:
    event_type = fields.get("type", "order.placed")
    body = {"event_id": "E-1", "type": event_type, "price": 21450.25} | BASE[event_type] | fields
    return AcceptedEvent(group_id=GROUP, received_at=ACCEPTED_AT, event=events.validate_python(body))


def follower(**fields: Any) -> Follower:
    return Follower.model_validate({"account_id": "EVAL-1"} | fields)


def run(
    accepted: AcceptedEvent,
    settings: Follower,
    position: int | None = None,
    *,
    link: OrderLink | None = None,
    now: datetime = IN_TIME,
) -> CopyDecision:
    """decide() as the executor calls it: again with the position when it asks for one."""
    decision = decide(accepted, settings, CLAIM, link, now=now)
    if isinstance(decision, NeedPosition):
        assert position is not None, f"decide asked for the position in {decision.symbol}"
        decision = decide(accepted, settings, CLAIM, link, now=now, position=position)
    assert not isinstance(decision, NeedPosition)
    return decision


def placed(decision: CopyDecision) -> tuple[Side, int, str]:
    assert isinstance(decision, Place), decision
    return decision.order.side, decision.order.qty, decision.order.symbol


def skipped(decision: CopyDecision) -> str:
    assert isinstance(decision, NoCopy) and decision.status is CopyStatus.SKIPPED, decision
    return decision.reason


# --- symbols and inverse -------------------------------------------------------------------------


def test_root_mapping_copies_nq_as_mnq_and_shows_the_arithmetic() -> None:
    decision = run(event(), follower(symbol_map={"NQ": "MNQ"}, multiplier=10))
    assert placed(decision) == (Side.BUY, 20, "MNQZ6")
    assert isinstance(decision, Place)
    assert decision.sizing == "NQZ6→MNQZ6; 2 × 10 = 20, half_up → 20"


def test_exact_symbol_key_wins_over_the_root_key() -> None:
    decision = run(event(), follower(symbol_map={"NQ": "MNQ", "NQZ6": "ESZ6"}))
    assert placed(decision)[2] == "ESZ6"


def test_inverse_follower_takes_the_opposite_side() -> None:
    decision = run(event(side="sell"), follower(inverse=True))
    assert placed(decision) == (Side.BUY, 2, "NQZ6")
    assert isinstance(decision, Place) and "inverse sell→buy" in decision.sizing


def test_prices_are_rounded_to_the_tick_of_the_mapped_symbol() -> None:
    decision = run(event(order_type="limit", limit_price=21400.3, price=21400.4), follower())
    assert isinstance(decision, Place)
    assert decision.order.limit_price == Decimal("21400.25")
    assert decision.order.reference_price == Decimal("21400.50")


def test_flatten_acts_on_the_mapped_symbol() -> None:
    decision = run(event(type="position.flattened"), follower(symbol_map={"NQ": "MNQ"}))
    assert isinstance(decision, Flatten) and decision.symbol == "MNQZ6"


# --- exits are never blocked, and never overshoot ------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "leader_side", "leader_qty", "position", "expected"),
    [
        (LOCKED, "sell", 2, 3, (Side.SELL, 2)),  # reducing: placed
        (LOCKED, "sell", 5, 3, (Side.SELL, 3)),  # reducing: capped at the position, never reversed
        (LIQUIDATING, "sell", 2, 3, (Side.SELL, 2)),
        (LOCKED, "buy", 1, -4, (Side.BUY, 1)),  # short follower: a buy reduces
    ],
    ids=["locked-reduces", "locked-capped", "liquidate-only-reduces", "locked-short-reduces"],
)
def test_restricted_follower_still_exits_capped_at_its_position(
    state: dict[str, Any], leader_side: str, leader_qty: int, position: int, expected: tuple[Side, int]
) -> None:
    decision = run(event(side=leader_side, qty=leader_qty), follower(**state), position)
    assert placed(decision)[:2] == expected
    assert isinstance(decision, Place)
    assert decision.reason == f"follower locked ({state['lock_reason']}): exits are never blocked"


@pytest.mark.parametrize("position", [0, 3], ids=["flat", "adding"])
def test_restricted_follower_never_opens_or_adds(position: int) -> None:
    assert (
        skipped(run(event(side="buy"), follower(**LOCKED), position)) == "follower locked: daily loss limit"
    )


def test_restricted_follower_position_is_only_loaded_because_a_rule_needs_it() -> None:
    first = decide(event(side="sell"), follower(**LOCKED), CLAIM, None, now=IN_TIME)
    assert first == NeedPosition("NQZ6")
    plain = decide(event(side="sell"), follower(), CLAIM, None, now=IN_TIME)
    assert isinstance(plain, Place)  # an active follower's plain copy costs no position read


@pytest.mark.parametrize("multiplier", [0.5, 1, 3, 10])
def test_position_after_zero_closes_the_whole_position_whatever_the_multiplier(multiplier: float) -> None:
    decision = run(event(side="sell", qty=3, position_after=0), follower(multiplier=multiplier), 7)
    assert placed(decision) == (Side.SELL, 7, "NQZ6")


def test_position_after_zero_closes_a_short_with_a_buy_for_an_inverse_follower() -> None:
    decision = run(event(side="sell", qty=2, position_after=0), follower(inverse=True), -2)
    assert placed(decision)[:2] == (Side.BUY, 2)


def test_position_after_zero_on_a_flat_follower_is_already_flat() -> None:
    assert skipped(run(event(side="sell", qty=3, position_after=0), follower(), 0)) == "already flat"


def test_partial_exit_is_capped_at_the_follower_position_and_never_reverses() -> None:
    # Leader 4 → 2; the follower (×2) should sell 4 but holds only 3.
    decision = run(event(side="sell", qty=2, position_after=2), follower(multiplier=2), 3)
    assert placed(decision)[:2] == (Side.SELL, 3)


def test_partial_exit_on_a_flat_follower_opens_nothing() -> None:
    assert skipped(run(event(side="sell", qty=2, position_after=2), follower(), 0)) == "already flat"


def test_reversal_closes_and_opens_in_one_order() -> None:
    # Leader long 2 sells 5 → short 3; the follower (×1) holds 2: sell 2 + 3 = 5.
    decision = run(event(side="sell", qty=5, position_after=-3), follower(), 2)
    assert placed(decision)[:2] == (Side.SELL, 5)
    assert isinstance(decision, Place) and decision.sizing.startswith("reversal: close 2 + open 3")


def test_reversal_on_a_locked_follower_only_closes() -> None:
    decision = run(event(side="sell", qty=5, position_after=-3), follower(**LOCKED), 2)
    assert placed(decision)[:2] == (Side.SELL, 2)


def test_rounding_never_leaves_a_remnant_when_the_leader_goes_flat() -> None:
    """Multiplier 0.5: leader 1 → 2 → 3 → flat. v1 left the follower holding 1; v2 ends flat."""
    settings = follower(multiplier=0.5)
    held = 0
    steps = [("buy", 1, 1), ("buy", 1, 2), ("buy", 1, 3), ("sell", 3, 0)]
    for number, (side, qty, position_after) in enumerate(steps):
        accepted = event(event_id=f"E-{number}", side=side, qty=qty, position_after=position_after)
        decision = run(accepted, settings, held)
        if isinstance(decision, Place):
            held += decision.order.side.sign * decision.order.qty
    assert held == 0


# --- brackets ---------------------------------------------------------------------------------------


BRACKET = {
    "take_profit": {"order_id": "L-42-tp", "price": 21500.3},
    "stop_loss": {"order_id": "L-42-sl", "price": 21400},
}


def test_bracket_entry_carries_both_legs_for_its_quantity_at_tick_prices() -> None:
    decision = run(event(**BRACKET), follower(multiplier=2))
    assert isinstance(decision, Place)
    assert decision.order.bracket == Bracket(
        qty=4, take_profit=Decimal("21500.25"), stop_loss=Decimal("21400.00")
    )
    assert decision.leg_leader_ids == ((Leg.TAKE_PROFIT, "L-42-tp"), (Leg.STOP_LOSS, "L-42-sl"))


def test_inverse_follower_swaps_the_bracket_legs() -> None:
    decision = run(event(**BRACKET), follower(inverse=True))
    assert isinstance(decision, Place) and decision.order.side is Side.SELL
    # The leader's stop-loss price is on the inverse follower's profit side, and the reverse.
    assert decision.order.bracket == Bracket(
        qty=2, take_profit=Decimal("21400.00"), stop_loss=Decimal("21500.25")
    )
    assert decision.leg_leader_ids == ((Leg.TAKE_PROFIT, "L-42-sl"), (Leg.STOP_LOSS, "L-42-tp"))


def test_an_exit_gets_no_bracket_legs() -> None:
    decision = run(event(side="sell", qty=2, **BRACKET), follower(**LOCKED), 2)
    assert isinstance(decision, Place) and decision.order.bracket is None


def _leg_link(leg: Leg) -> OrderLink:
    return OrderLink(
        group_id=GROUP,
        leader_order_id="L-42-sl",
        account_id="EVAL-1",
        broker_order_id="P-19",
        client_order_id="tc-y",
        symbol="NQZ6",
        leg=leg,
        parent_broker_order_id="P-17",
    )


def test_moving_a_leader_stop_loss_moves_the_follower_stop_price() -> None:
    decision = run(
        event(type="order.modified", order_id="L-42-sl", stop_price=21410.1),
        follower(),
        link=_leg_link(Leg.STOP_LOSS),
    )
    assert isinstance(decision, Modify)
    assert (decision.command.qty, decision.command.limit_price, decision.command.stop_price) == (
        None,
        None,
        Decimal("21410.00"),
    )


def test_inverse_follower_moves_its_take_profit_limit_when_the_leader_moves_its_stop() -> None:
    decision = run(
        event(type="order.modified", order_id="L-42-sl", stop_price=21410),
        follower(inverse=True),
        link=_leg_link(Leg.TAKE_PROFIT),
    )
    assert isinstance(decision, Modify)
    assert (decision.command.limit_price, decision.command.stop_price) == (Decimal("21410.00"), None)


def test_cancelling_a_leg_cancels_that_follower_leg() -> None:
    link = _leg_link(Leg.STOP_LOSS)
    assert run(event(type="order.cancelled", order_id="L-42-sl"), follower(), link=link) == Cancel(link=link)


# --- fills and copy modes ----------------------------------------------------------------------------


FILL = {"type": "order.filled", "qty": 1, "price": 21451}


def test_leader_fill_in_copy_mode_orders_places_nothing() -> None:
    reason = skipped(run(event(**FILL, position_after=1), follower()))
    assert reason.startswith("leader fill")


def test_copy_mode_fills_copies_each_fill_as_a_sized_market_order() -> None:
    decision = run(event(**FILL), follower(copy_mode="fills", multiplier=3))
    assert isinstance(decision, Place)
    assert (decision.order.order_type, decision.order.qty, decision.order.reference_price) == (
        OrderType.MARKET,
        3,
        Decimal("21451.00"),
    )


@pytest.mark.parametrize("event_type", ["order.placed", "order.modified", "order.cancelled"])
def test_copy_mode_fills_skips_orders(event_type: str) -> None:
    extra = {"qty": 3} if event_type != "order.cancelled" else {}
    reason = skipped(run(event(type=event_type, **extra), follower(copy_mode="fills")))
    assert reason == "copy mode fills: only the leader's fills are copied"


def test_copy_mode_fills_still_flattens() -> None:
    decision = run(event(type="position.flattened"), follower(copy_mode="fills"))
    assert isinstance(decision, Flatten)


# --- stale guard ----------------------------------------------------------------------------------------

LATE = ACCEPTED_AT + timedelta(milliseconds=10_001)


def test_late_market_entry_is_skipped_as_stale() -> None:
    reason = skipped(run(event(), follower(), 0, now=LATE))
    assert reason.startswith("stale:") and "10001 ms" in reason


def test_late_exit_is_never_stale() -> None:
    assert placed(run(event(side="sell"), follower(), 2, now=LATE))[:2] == (Side.SELL, 2)


def test_late_reversal_copies_only_its_exit() -> None:
    decision = run(event(side="sell", qty=5, position_after=-3), follower(), 2, now=LATE)
    assert placed(decision)[:2] == (Side.SELL, 2)
    assert (
        isinstance(decision, Place) and decision.reason is not None and decision.reason.startswith("stale:")
    )


def test_late_limit_order_is_not_stale() -> None:
    assert isinstance(run(event(order_type="limit", limit_price=21400), follower(), now=LATE), Place)


def test_max_delay_null_never_skips() -> None:
    assert isinstance(run(event(), follower(max_delay_ms=None), now=LATE), Place)


def test_copy_exactly_at_the_limit_is_in_time() -> None:
    at_limit = ACCEPTED_AT + timedelta(milliseconds=10_000)
    assert isinstance(decide(event(), follower(), CLAIM, None, now=at_limit), Place)
