"""End-to-end, the risk engine on the local stack (API.md v2 "Risk", "Preview"): one test per rule,
each with a follower without rules beside it, driven over HTTP. The risk clock is the stack's own
(the scheduler function every E2E_SCHEDULE_SECONDS), on real time: ``flat_by`` is set one minute
ahead and waited for."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.samples import limit, market, order_filled
from devstack.stack import LocalStack
from tests.e2e.conftest import Api, uid
from tradecopier.domain.risk.calendar import chicago_time, next_session_start
from tradecopier.fanout.names import follower_dlq_name, follower_queue_name

pytestmark = pytest.mark.e2e


def _send(api: Api, group_id: str, token: str, event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    response = api.send(group_id, token, event)
    assert response.status_code == 202, response.text
    return api.wait_final(group_id, event["event_id"], timeout=90)  # 2 cores shared: slow at times


def _placed(copies: dict[str, dict[str, Any]], account: str) -> dict[str, Any]:
    copy = copies[account]
    assert copy["status"] == "placed", copy
    return copy


def _follower(api: Api, group_id: str, account: str) -> dict[str, Any]:
    result: dict[str, Any] = api.ok("GET", f"/groups/{group_id}/followers/{account}")
    return result


def _wait_state(api: Api, group_id: str, account: str, state: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        follower = _follower(api, group_id, account)
        if follower["state"] == state:
            return follower
        if time.monotonic() > deadline:
            pytest.fail(f"{account} not {state} after {timeout:.0f} s: {follower}")
        time.sleep(0.5)


def _group(api: Api, **risk: Any) -> tuple[str, str, str, str]:
    """A group with a follower with ``risk`` and a plain one beside it."""
    group_id, token, _ = api.group()
    ruled, plain = uid("EVAL"), uid("PLAIN")
    api.follower(group_id, ruled, risk=risk)
    api.follower(group_id, plain)
    return group_id, token, ruled, plain


def test_max_position_caps_then_rejects_with_no_room_and_exits_pass(api: Api) -> None:
    group_id, token, ruled, plain = _group(api, max_position=3)
    assert _send(api, group_id, token, market(uid("E"), uid("L"), qty=2))[ruled]["qty"] == 2
    capped = _send(api, group_id, token, market(uid("E"), uid("L"), qty=2))[ruled]
    assert (capped["status"], capped["qty"]) == ("placed", 1)
    assert capped["reason"].startswith("risk: max_position 3 caps 2 to 1")
    full = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1))[ruled]
    assert full["status"] == "rejected" and full["reason"].startswith("risk: max_position")
    exit_ = _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, side="sell"))[ruled]
    assert (exit_["status"], exit_["qty"]) == ("placed", 2)
    assert api.positions(ruled) == {"NQZ6": 1} and api.positions(plain) == {"NQZ6": 3}


def test_max_trades_per_day_rejects_the_next_opening(api: Api) -> None:
    group_id, token, ruled, plain = _group(api, max_trades_per_day=2)
    for _ in range(2):
        _placed(_send(api, group_id, token, market(uid("E"), uid("L"), qty=1)), ruled)
    third = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1))
    assert third[ruled]["status"] == "rejected"
    assert third[ruled]["reason"].startswith("risk: max_trades_per_day 2 reached")
    assert third[plain]["status"] == "placed"
    assert _follower(api, group_id, ruled)["risk_status"]["trades_today"] == 2
    exit_ = _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, side="sell"))[ruled]
    assert (exit_["status"], exit_["qty"]) == ("placed", 2)  # an exit is not a trade to refuse
    assert api.positions(ruled) == {}


def test_allowed_symbols_rejects_openings_in_another_symbol_but_passes_exits(api: Api) -> None:
    group_id, token, ruled, plain = _group(api, allowed_symbols=["NQ"])
    _placed(_send(api, group_id, token, market(uid("E"), uid("L"), qty=1)), ruled)
    es = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1, symbol="ESZ6", price=6000))
    assert es[ruled]["status"] == "rejected" and es[ruled]["reason"].startswith("risk: allowed_symbols")
    assert es[plain]["status"] == "placed"
    # The rules narrow to ES while NQ is held: the NQ exit still passes.
    api.ok("PATCH", f"/groups/{group_id}/followers/{ruled}", {"risk": {"allowed_symbols": ["ES"]}})
    exit_ = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1, side="sell"))[ruled]
    assert (exit_["status"], exit_["qty"]) == ("placed", 1)
    assert api.positions(ruled) == {}


def test_trading_hours_reject_openings_outside_the_window_but_pass_exits(api: Api) -> None:
    group_id, token, ruled, plain = _group(api)
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=1))
    now = chicago_time(datetime.now(UTC))
    closed = {
        "start": (now + timedelta(hours=2)).strftime("%H:%M"),
        "end": (now + timedelta(hours=3)).strftime("%H:%M"),
    }
    api.ok("PATCH", f"/groups/{group_id}/followers/{ruled}", {"risk": {"trading_hours": closed}})
    opening = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1))
    assert opening[ruled]["status"] == "rejected"
    assert opening[ruled]["reason"].startswith("risk: trading_hours")
    assert opening[plain]["status"] == "placed"
    exit_ = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1, side="sell"))[ruled]
    assert (exit_["status"], exit_["qty"]) == ("placed", 1)
    assert api.positions(ruled) == {} and api.positions(plain) == {"NQZ6": 1}


def _assert_daily_lock(api: Api, group_id: str, ruled: str, reason: str) -> None:
    follower = _wait_state(api, group_id, ruled, "locked", 20)
    assert follower["lock_reason"] == reason
    assert datetime.fromisoformat(follower["locked_until"]) == next_session_start(datetime.now(UTC))
    assert api.positions(ruled) == {}
    assert not [order for order in api.orders(ruled) if order["status"] == "working"]


def test_daily_loss_limit_breached_by_a_fill_locks_until_the_next_session(api: Api) -> None:
    group_id, token, ruled, plain = _group(api, daily_loss_limit=1000)
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, price=21000))
    # Sold 2 at 20975: realized 2 x -25 x 20 = -1000.00, at the limit.
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, side="sell", price=20975))
    reason = "risk: daily loss limit 1000.00 reached (session P&L -1000.00)"
    _assert_daily_lock(api, group_id, ruled, reason)
    again = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1, price=20975))
    assert again[ruled]["status"] == "skipped" and again[plain]["status"] == "placed"
    assert _follower(api, group_id, plain)["state"] == "active"


def test_daily_loss_limit_breached_by_a_mark_flattens_and_locks(api: Api) -> None:
    group_id, token, ruled, plain = _group(api, daily_loss_limit=1000)
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, price=21000))
    # Marked at 20975 (a leader fill's price): unrealized -1000.00.
    leader_fill = _send(api, group_id, token, order_filled(uid("E"), uid("L"), qty=1, price=20975))
    assert leader_fill[ruled]["status"] == "skipped"  # the cause keeps its own status
    reason = "risk: daily loss limit 1000.00 reached (session P&L -1000.00)"
    _assert_daily_lock(api, group_id, ruled, reason)
    assert sorted(o["side"] for o in api.orders(ruled) if o["status"] == "filled") == ["buy", "sell"]
    assert api.positions(plain) == {"NQZ6": 2}


def test_trailing_drawdown_intraday_breaches_where_end_of_day_does_not(api: Api) -> None:
    group_id, token, _ = api.group()
    intraday, end_of_day = uid("INTRA"), uid("EOD")
    for account, mode in ((intraday, "intraday"), (end_of_day, "end_of_day")):
        api.follower(group_id, account, risk={"trailing_drawdown": 1000, "drawdown_mode": mode})
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=1, price=21000))
    # Up 50 points (+1000: the intraday high-water mark 51000), back to 21000 (equity 50000).
    for price in (21050, 21000):
        _send(api, group_id, token, order_filled(uid("E"), uid("L"), qty=1, price=price))
    locked = _wait_state(api, group_id, intraday, "locked", 20)
    assert locked["lock_reason"].startswith("risk: trailing drawdown")
    assert locked["locked_until"] is None  # only unlock or reset lifts it
    assert api.positions(intraday) == {}
    kept = _follower(api, group_id, end_of_day)
    assert kept["state"] == "active" and api.positions(end_of_day) == {"NQZ6": 1}
    assert kept["risk_status"]["drawdown_floor"] == 49000


def test_flat_by_one_minute_ahead_flattens_and_locks_within_two_minutes(api: Api) -> None:
    at = (chicago_time(datetime.now(UTC)) + timedelta(minutes=1)).strftime("%H:%M")
    group_id, token, ruled, plain = _group(api, flat_by=at)
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2))
    assert _follower(api, group_id, ruled)["state"] == "active"
    follower = _wait_state(api, group_id, ruled, "locked", 120)  # the stack's clock did it
    assert follower["lock_reason"] == f"risk: flat by {at}"
    assert datetime.fromisoformat(follower["locked_until"]) == next_session_start(datetime.now(UTC))
    assert api.positions(ruled) == {} and api.positions(plain) == {"NQZ6": 2}


def test_risk_reset_reactivates_a_locked_follower(api: Api) -> None:
    group_id, token, ruled, _ = _group(api, daily_loss_limit=500)
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=1, price=21000))
    _send(api, group_id, token, order_filled(uid("E"), uid("L"), qty=1, price=20970))  # -600
    _wait_state(api, group_id, ruled, "locked", 20)
    reset = api.ok("POST", f"/groups/{group_id}/followers/{ruled}/risk/reset", {"starting_balance": 50000})
    assert (reset["state"], reset["locked_until"], reset["lock_reason"]) == ("active", None, None)
    assert reset["risk_status"]["session_pnl"] == 0
    again = _send(api, group_id, token, market(uid("E"), uid("L"), qty=1, price=20970))[ruled]
    assert again["status"] == "placed"


def _without_check_times(follower: dict[str, Any]) -> dict[str, Any]:
    """The follower minus when its sync status was last checked: the scheduler's every-minute
    sync check moves that on its own clock (a minute boundary inside a test is not the preview)."""
    sync = follower.get("sync")
    if isinstance(sync, dict):
        follower = {**follower, "sync": {k: v for k, v in sync.items() if k != "checked_at"}}
    return follower


def _world(api: Api, stack: LocalStack, group_id: str, accounts: list[str]) -> dict[str, Any]:
    """Everything a preview must leave alone: orders, positions, the copy log, the queues."""
    sqs = stack.client("sqs")
    queues = {}
    for account in accounts:
        for name in (follower_queue_name, follower_dlq_name):
            url = sqs.get_queue_url(QueueName=name(stack.stack_name, group_id, account))["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            queues[url] = {
                key: attributes[key]
                for key in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
            }
    return {
        "orders": {account: api.orders(account) for account in accounts},
        "positions": {account: api.positions(account) for account in accounts},
        "events": api.ok("GET", f"/groups/{group_id}/events?limit=100"),
        "followers": {
            account: _without_check_times(_follower(api, group_id, account)) for account in accounts
        },
        "queues": queues,
    }


def test_preview_answers_with_the_rules_and_changes_nothing(api: Api, stack: LocalStack) -> None:
    group_id, token, ruled, plain = _group(api, max_position=2)
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, price=21000))
    before = _world(api, stack, group_id, [ruled, plain])
    body = {key: value for key, value in market("x", uid("L"), qty=1).items() if key != "event_id"}
    preview = api.ok("POST", f"/groups/{group_id}/preview", body)
    copies = {copy["account_id"]: copy for copy in preview["copies"]}
    assert copies[plain] == {
        "account_id": plain,
        "status": "placed",
        "action": "place",
        "symbol": "NQZ6",
        "side": "buy",
        "qty": 1,
        "reason": None,
    }
    assert (copies[ruled]["status"], copies[ruled]["action"]) == ("rejected", "none")
    assert copies[ruled]["reason"].startswith("risk: max_position")
    exit_ = api.ok("POST", f"/groups/{group_id}/preview", {**body, "side": "sell", "qty": 2})
    assert {c["account_id"]: (c["action"], c["qty"]) for c in exit_["copies"]} == {
        ruled: ("place", 2),
        plain: ("place", 2),
    }
    time.sleep(1)  # anything a preview had published would have been delivered by now
    assert _world(api, stack, group_id, [ruled, plain]) == before


def test_preview_refusals_change_nothing(api: Api, stack: LocalStack) -> None:
    group_id, _, ruled, plain = _group(api, max_position=2)
    before = _world(api, stack, group_id, [ruled, plain])
    body = limit("x", uid("L"), qty=1, limit_price=20000)
    missing = api.call("POST", "/groups/g-000000000000/preview", body)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    unknown = api.call("POST", f"/groups/{group_id}/preview", {**body, "sizee": 1})
    assert unknown.status_code == 422 and "sizee" in unknown.text
    bad = api.call("POST", f"/groups/{group_id}/preview", {**body, "qty": 0})
    assert bad.status_code == 422 and "qty" in bad.text
    assert _world(api, stack, group_id, [ruled, plain]) == before
