"""End-to-end, copying v2 on the local stack: what a trader sees for mapping, inverse, exits that
never overshoot, brackets, fills and stale copies (API.md v2). One leader event at a time, each
waited for by polling its copies against a deadline."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.samples import (
    bracket,
    limit,
    market,
    order_cancelled,
    order_filled,
    order_modified,
    position_flattened,
)
from tests.e2e.conftest import Api, uid

pytestmark = pytest.mark.e2e


def _send(api: Api, group_id: str, token: str, event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    response = api.send(group_id, token, event)
    assert response.status_code == 202, response.text
    return api.wait_final(group_id, event["event_id"])


def _by_leg(orders: list[dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
    return {order["leg"]: order for order in orders}


def test_mapped_follower_copies_nq_as_mnq_times_ten(api: Api) -> None:
    group_id, token, leader = api.group()
    micro = uid("EVAL")
    api.follower(group_id, micro, symbol_map={"NQ": "MNQ"}, multiplier=10)
    copies = _send(api, group_id, token, market(uid("E"), uid("L"), qty=2))
    assert (copies[micro]["status"], copies[micro]["qty"]) == ("placed", 20)
    assert copies[micro]["detail"].startswith("NQZ6→MNQZ6; 2 × 10 = 20")
    assert api.positions(micro) == {"MNQZ6": 20}
    assert api.orders(leader) == []


def test_inverse_follower_sells_what_the_leader_buys(api: Api) -> None:
    group_id, token, _ = api.group()
    inverse = uid("EVAL")
    api.follower(group_id, inverse, inverse=True)
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2))
    assert api.positions(inverse) == {"NQZ6": -2}


def test_locked_follower_still_exits_capped_at_its_position(api: Api) -> None:
    group_id, token, _ = api.group()
    follower = uid("EVAL")
    api.follower(group_id, follower)
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2))
    api.ok("POST", f"/groups/{group_id}/followers/{follower}/lock", {"reason": "daily loss limit"})

    adding = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1))
    assert adding[follower]["status"] == "skipped"
    exit_copy = _send(api, group_id, token, market(uid("E"), uid("L"), qty=5, side="sell"))
    assert (exit_copy[follower]["status"], exit_copy[follower]["qty"]) == ("placed", 2)
    assert exit_copy[follower]["reason"] == "follower locked (daily loss limit): exits are never blocked"
    assert api.positions(follower) == {}


def test_position_after_zero_closes_every_follower_without_remnants(api: Api) -> None:
    group_id, token, _ = api.group()
    half, triple = uid("EVAL"), uid("EVAL")
    api.follower(group_id, half, multiplier=0.5)
    api.follower(group_id, triple, multiplier=3)
    for position_after in (1, 2, 3):
        _send(api, group_id, token, market(uid("E"), uid("L"), qty=1, position_after=position_after))
    assert api.positions(half) == {"NQZ6": 3}  # 0.5 half-up is 1 per leader contract
    flat = _send(api, group_id, token, market(uid("E"), uid("L"), qty=3, side="sell", position_after=0))
    assert (flat[half]["qty"], flat[triple]["qty"]) == (3, 9)
    assert api.positions(half) == {} and api.positions(triple) == {}
    again = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1, side="sell", position_after=0))
    assert again[half]["status"] == "skipped" and again[half]["reason"] == "already flat"


def test_reversal_is_one_order_that_closes_and_opens(api: Api) -> None:
    group_id, token, _ = api.group()
    follower = uid("EVAL")
    api.follower(group_id, follower)
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, position_after=2))
    copies = _send(api, group_id, token, market(uid("E"), uid("L"), qty=5, side="sell", position_after=-3))
    assert (copies[follower]["status"], copies[follower]["qty"]) == ("placed", 5)
    assert api.positions(follower) == {"NQZ6": -3}


def test_bracket_is_copied_with_working_legs_that_move_and_cancel_each_other(api: Api) -> None:
    group_id, token, leader = api.group()
    straight, inverse = uid("EVAL"), uid("EVAL")
    api.follower(group_id, straight)
    api.follower(group_id, inverse, inverse=True)
    entry = uid("L")
    placed = _send(
        api, group_id, token, market(uid("E"), entry, qty=1, price=21450, **bracket(entry, 21500, 21400))
    )
    assert placed[straight]["status"] == placed[inverse]["status"] == "placed"

    legs = _by_leg(api.orders(straight))
    assert (legs["take_profit"]["order_type"], legs["take_profit"]["limit_price"]) == ("limit", 21500)
    assert (legs["stop_loss"]["order_type"], legs["stop_loss"]["stop_price"]) == ("stop", 21400)
    assert {legs["take_profit"]["status"], legs["stop_loss"]["status"]} == {"working"}
    assert legs["take_profit"]["parent_order_id"] == legs[None]["broker_order_id"]
    swapped = _by_leg(api.orders(inverse))
    assert swapped["take_profit"]["limit_price"] == 21400 and swapped["stop_loss"]["stop_price"] == 21500

    moved = _send(api, group_id, token, order_modified(uid("E"), f"{entry}-sl", stop_price=21425))
    assert moved[straight]["status"] == "placed"
    assert _by_leg(api.orders(straight))["stop_loss"]["stop_price"] == 21425
    swapped = _by_leg(api.orders(inverse))
    assert swapped["take_profit"]["limit_price"] == 21425, (moved, swapped)  # the swapped leg moved

    # The leader's take-profit fills at 21500: that price marks every follower's market.
    _send(api, group_id, token, order_filled(uid("E"), f"{entry}-tp", qty=1, price=21500, side="sell"))
    legs = _by_leg(api.orders(straight))
    assert (legs["take_profit"]["status"], legs["stop_loss"]["status"]) == ("filled", "cancelled")
    assert api.positions(straight) == {}
    swapped = _by_leg(api.orders(inverse))  # short 1: 21500 crossed its stop-loss
    assert (swapped["stop_loss"]["status"], swapped["take_profit"]["status"]) == ("filled", "cancelled")
    assert api.positions(inverse) == {}
    assert api.orders(leader) == []


def test_flatten_and_entry_cancel_take_the_legs_with_them(api: Api) -> None:
    group_id, token, _ = api.group()
    follower = uid("EVAL")
    api.follower(group_id, follower)
    resting = uid("L")
    _send(
        api,
        group_id,
        token,
        limit(uid("E"), resting, qty=1, limit_price=21300, **bracket(resting, 21400, 21250)),
    )
    _send(api, group_id, token, order_cancelled(uid("E"), resting))
    assert {order["status"] for order in api.orders(follower)} == {"cancelled"}

    filled = uid("L")
    _send(api, group_id, token, market(uid("E"), filled, qty=1, price=21450, **bracket(filled, 21500, 21400)))
    _send(api, group_id, token, position_flattened(uid("E")))
    legs = _by_leg([order for order in api.orders(follower) if order.get("parent_order_id")])
    assert {legs["take_profit"]["status"], legs["stop_loss"]["status"]} == {"cancelled"}
    assert api.positions(follower) == {}


def test_fills_mode_copies_each_leader_fill_as_a_market_order(api: Api) -> None:
    group_id, token, _ = api.group()
    orders_mode, fills_mode = uid("EVAL"), uid("EVAL")
    api.follower(group_id, orders_mode)
    api.follower(group_id, fills_mode, copy_mode="fills", multiplier=2)
    resting = uid("L")
    placed = _send(api, group_id, token, limit(uid("E"), resting, qty=3, limit_price=21300))
    assert placed[fills_mode]["reason"] == "copy mode fills: only the leader's fills are copied"
    for qty in (1, 2):  # a partial fill, then the rest
        fill = _send(api, group_id, token, order_filled(uid("E"), resting, qty=qty, price=21300))
        assert (fill[fills_mode]["status"], fill[fills_mode]["qty"]) == ("placed", 2 * qty)
        assert fill[orders_mode]["status"] == "skipped" and fill[orders_mode]["reason"].startswith(
            "leader fill"
        )
    assert api.positions(fills_mode) == {"NQZ6": 6}
    # The orders-mode follower's limit at 21300 was filled by the fills' price marks.
    assert api.positions(orders_mode) == {"NQZ6": 3}


def test_a_market_copy_later_than_max_delay_is_skipped_as_stale(api: Api) -> None:
    group_id, token, _ = api.group()
    strict, patient = uid("EVAL"), uid("EVAL")
    api.follower(group_id, strict, max_delay_ms=0)
    api.follower(group_id, patient, max_delay_ms=None)
    copies = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1))
    assert copies[strict]["status"] == "skipped" and copies[strict]["reason"].startswith("stale:")
    assert copies[patient]["status"] == "placed"
    follower = api.ok("GET", f"/groups/{group_id}/followers/{patient}")
    assert follower["max_delay_ms"] is None and follower["copy_mode"] == "orders"
