"""The copy decision, rule by rule: every case is pure input → decision."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter

from tradecopier.domain.accounts import AccountClaim, Follower
from tradecopier.domain.decide import Cancel, Flatten, Modify, NoCopy, Place, client_order_id, decide
from tradecopier.domain.enums import AccountRole, CopyStatus, FollowerState
from tradecopier.domain.events import AcceptedEvent, LeaderEvent
from tradecopier.domain.orders import OrderLink

GROUP = "g-aaaaaaaaaaaa"
NOW = datetime(2026, 11, 24, 14, 30, 1, tzinfo=UTC)
OTHER_GROUP = "g-bbbbbbbbbbbb"
events = TypeAdapter(LeaderEvent)


BASE: dict[str, dict[str, Any]] = {
    "order.placed": {
        "order_id": "L-42",
        "symbol": "NQZ6",
        "side": "buy",
        "qty": 2,
        "order_type": "market",
        "price": 21450.25,
    },
    "order.modified": {"order_id": "L-42"},
    "order.cancelled": {"order_id": "L-42"},
    "position.flattened": {},
}


def accepted(**fields: Any) -> AcceptedEvent:
    event_type = fields.get("type", "order.placed")
    body = {"event_id": "E-1", "type": event_type} | BASE[event_type] | fields
    return AcceptedEvent(group_id=GROUP, received_at=NOW, event=events.validate_python(body))


def follower(**fields: Any) -> Follower:
    return Follower.model_validate({"account_id": "EVAL-1"} | fields)


def claim(role: AccountRole = AccountRole.FOLLOWER, group_id: str = GROUP) -> AccountClaim:
    return AccountClaim(account_id="EVAL-1", group_id=group_id, role=role)


LINK = OrderLink(
    group_id=GROUP,
    leader_order_id="L-42",
    account_id="EVAL-1",
    broker_order_id="P-17",
    client_order_id="tc-x",
    symbol="NQZ6",
)
LOCKED = {"state": FollowerState.LOCKED, "lock_reason": "daily loss limit"}


def test_seed_example_sizes_each_follower_by_its_multiplier() -> None:
    whole = decide(accepted(), follower(multiplier=1), claim(), None, now=NOW)
    half = decide(accepted(), follower(multiplier=0.5), claim(), None, now=NOW)
    assert isinstance(whole, Place) and whole.order.qty == 2
    assert isinstance(half, Place) and half.order.qty == 1
    assert whole.order.side == "buy" and whole.order.symbol == "NQZ6"
    assert whole.order.reference_price == Decimal("21450.25")


def test_locked_follower_is_skipped_with_the_lock_reason() -> None:
    decision = decide(accepted(), follower(**LOCKED), claim(), None, now=NOW, position=0)
    assert decision == NoCopy(CopyStatus.SKIPPED, "follower locked: daily loss limit")


def test_locked_follower_still_flattens() -> None:
    decision = decide(
        accepted(type="position.flattened", symbol="NQZ6"), follower(**LOCKED), claim(), None, now=NOW
    )
    assert isinstance(decision, Flatten)
    assert decision.symbol == "NQZ6"
    assert decision.reason is not None and "never blocked" in decision.reason


@pytest.mark.parametrize(
    "account_claim",
    [None, claim(AccountRole.LEADER), claim(group_id=OTHER_GROUP)],
    ids=["unclaimed", "leader", "other-group"],
)
def test_leader_protection_refuses_anything_but_a_follower_of_this_group(
    account_claim: AccountClaim | None,
) -> None:
    for event in (accepted(), accepted(type="position.flattened", symbol="NQZ6")):
        decision = decide(event, follower(), account_claim, None, now=NOW)
        assert isinstance(decision, NoCopy)
        assert decision.status is CopyStatus.REJECTED
        assert "leader protection" in decision.reason


def test_removed_follower_is_skipped() -> None:
    decision = decide(accepted(), None, None, None, now=NOW)
    assert isinstance(decision, NoCopy) and decision.status is CopyStatus.SKIPPED
    assert "removed" in decision.reason


def test_size_zero_is_skipped_with_the_arithmetic_as_reason() -> None:
    decision = decide(accepted(qty=1), follower(multiplier=0.4, rounding="floor"), claim(), None, now=NOW)
    assert isinstance(decision, NoCopy) and decision.status is CopyStatus.SKIPPED
    assert "sized to 0" in decision.reason and "0.4" in decision.reason


def test_max_qty_caps_the_copy() -> None:
    decision = decide(accepted(qty=5), follower(multiplier=2, max_qty=3), claim(), None, now=NOW)
    assert isinstance(decision, Place) and decision.order.qty == 3
    assert "capped" in decision.sizing


def test_limit_prices_are_copied_as_they_are() -> None:
    event = accepted(order_type="stop_limit", limit_price=21400.5, stop_price=21401, qty=4)
    decision = decide(event, follower(multiplier=0.5), claim(), None, now=NOW)
    assert isinstance(decision, Place)
    assert (decision.order.limit_price, decision.order.stop_price) == (Decimal("21400.5"), Decimal("21401"))
    assert decision.order.qty == 2


def test_client_order_id_is_deterministic_and_fits_alpaca() -> None:
    first = decide(accepted(), follower(), claim(), None, now=NOW)
    again = decide(accepted(), follower(), claim(), None, now=NOW)
    assert isinstance(first, Place) and isinstance(again, Place)
    assert (
        first.order.client_order_id == again.order.client_order_id == client_order_id(GROUP, "E-1", "EVAL-1")
    )
    assert len(first.order.client_order_id) <= 48
    assert client_order_id(GROUP, "E-1", "EVAL-2") != first.order.client_order_id


def test_modify_scales_the_new_qty_and_copies_prices() -> None:
    event = accepted(type="order.modified", qty=4, limit_price=21000.25)
    decision = decide(event, follower(multiplier=0.5), claim(), LINK, now=NOW)
    assert isinstance(decision, Modify)
    assert (decision.command.qty, decision.command.limit_price, decision.link.broker_order_id) == (
        2,
        Decimal("21000.25"),
        "P-17",
    )


def test_modify_prices_only_keeps_qty() -> None:
    decision = decide(accepted(type="order.modified", stop_price=21000), follower(), claim(), LINK, now=NOW)
    assert isinstance(decision, Modify) and decision.command.qty is None


def test_modify_sizing_to_zero_cancels_the_follower_order() -> None:
    decision = decide(
        accepted(type="order.modified", qty=1), follower(multiplier=0.2), claim(), LINK, now=NOW
    )
    assert isinstance(decision, Cancel) and decision.reason is not None and "sizes to 0" in decision.reason


def test_cancel_acts_on_the_linked_follower_order() -> None:
    decision = decide(accepted(type="order.cancelled"), follower(), claim(), LINK, now=NOW)
    assert decision == Cancel(link=LINK)


@pytest.mark.parametrize("event_type", ["order.cancelled", "order.modified"])
def test_modify_or_cancel_without_a_follower_order_is_skipped(event_type: str) -> None:
    fields: dict[str, Any] = {"type": event_type} | ({"qty": 3} if event_type == "order.modified" else {})
    decision = decide(accepted(**fields), follower(), claim(), None, now=NOW)
    assert isinstance(decision, NoCopy) and decision.status is CopyStatus.SKIPPED
    assert "L-42" in decision.reason


def test_locked_follower_modify_and_cancel_are_skipped() -> None:
    for fields in ({"type": "order.cancelled"}, {"type": "order.modified", "qty": 1}):
        decision = decide(accepted(**fields), follower(**LOCKED), claim(), LINK, now=NOW)
        assert isinstance(decision, NoCopy) and decision.reason.startswith("follower locked")
