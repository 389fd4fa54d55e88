"""Sync through the real handlers (DynamoDB Local + moto): the leader's position from webhook
events, the live check, each policy's catch-up or report, deterministic catch-up orders, the
follower's ``sync`` field and history, and the sync settings' 422s (nothing written)."""

from __future__ import annotations

import os
from functools import partial
from typing import Any

import boto3
import pytest

from devstack import samples
from tests.pipeline import Pipeline
from tradecopier.brokers.paper import PaperBroker
from tradecopier.brokers.paper.store import PaperStore
from tradecopier.domain.enums import OrderType, Side
from tradecopier.domain.orders import FollowerOrder
from tradecopier.domain.sync import catch_up_client_order_id

market = partial(samples.market, price=21450)


def _sync(pipeline: Pipeline, group_id: str, *, act: bool = False) -> dict[str, dict[str, Any]]:
    reply = pipeline.call("POST" if act else "GET", f"/groups/{group_id}/sync")
    assert reply.status == 200, reply.body
    return {follower["account_id"]: follower for follower in reply.body["followers"]}


def _symbol(report: dict[str, Any], symbol: str = "NQZ6") -> dict[str, Any]:
    return next(s for s in report["symbols"] if s["symbol"] == symbol)


def _market_order(coid: str, side: Side, qty: int, price: int) -> FollowerOrder:
    return FollowerOrder(
        client_order_id=coid,
        account_id="EVAL-1",
        symbol="NQZ6",
        side=side,
        qty=qty,
        order_type=OrderType.MARKET,
        reference_price=price,
    )


def _missed_buy(pipeline: Pipeline, policy: str, **settings: Any) -> tuple[str, str]:
    """EVAL-1 was unreachable while the leader bought 2 at 21450 (locked after its retries), then
    reconnected and unlocked."""
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", simulate="disconnect", sync_policy=policy, **settings)
    pipeline.send(group_id, token, **market("E-1", "L-1", position_after=2))
    pipeline.deliver()
    assert pipeline.copies(group_id, "E-1")["EVAL-1"]["status"] == "failed"
    assert pipeline.call("PATCH", f"/groups/{group_id}/followers/EVAL-1", {"simulate": None}).status == 200
    return group_id, token


def test_a_follower_that_missed_the_buy_is_out_of_sync(pipeline: Pipeline) -> None:
    group_id, _ = _missed_buy(pipeline, "alert")
    report = _sync(pipeline, group_id)["EVAL-1"]
    assert report["status"] == "out_of_sync"
    assert _symbol(report) == {
        "symbol": "NQZ6",
        "leader_qty": 2,
        "expected_qty": 2,
        "actual_qty": 0,
        "status": "out_of_sync",
    }
    follower = pipeline.call("GET", f"/groups/{group_id}/followers/EVAL-1").body
    assert follower["sync"]["status"] == "out_of_sync" and follower["sync"]["symbols_out_of_sync"] == ["NQZ6"]
    assert follower["sync_policy"] == "alert" and follower["max_catchup_ticks"] == 8


def test_alert_changes_nothing(pipeline: Pipeline) -> None:
    group_id, _ = _missed_buy(pipeline, "alert")
    pipeline.call("POST", f"/groups/{group_id}/followers/EVAL-1/unlock")
    report = _sync(pipeline, group_id, act=True)["EVAL-1"]
    assert report["status"] == "out_of_sync" and report["actions"][0]["action"] == "reported"
    assert pipeline.orders("EVAL-1") == []


def test_mirror_catches_up_within_the_ticks_once(pipeline: Pipeline) -> None:
    group_id, _ = _missed_buy(pipeline, "mirror")
    pipeline.call("POST", f"/groups/{group_id}/followers/EVAL-1/unlock")
    report = _sync(pipeline, group_id, act=True)["EVAL-1"]
    assert report["status"] == "in_sync", report
    assert pipeline.positions("EVAL-1") == {"NQZ6": 2}
    _sync(pipeline, group_id, act=True)  # a repeated check: nothing more
    assert len(pipeline.orders("EVAL-1")) == 1
    history = pipeline.call("GET", f"/groups/{group_id}/followers/EVAL-1/sync-history").body["entries"]
    [entry] = history
    assert entry["action"] == "catch_up" and entry["status"] == "placed"
    assert (entry["leader_qty"], entry["expected_qty"], entry["actual_qty"], entry["qty"]) == (2, 2, 0, 2)
    assert entry["leader_avg_price"] == "21450" and entry["latest_price"] == "21450"


def test_a_retried_check_never_doubles_a_catch_up(pipeline: Pipeline) -> None:
    """The catch-up's client order id derives from the follower, symbol, leader state (the event
    that set it) and the position it corrects: a check retried before it saw its order fill (same
    leader state, same position found) sends the same id, and the broker answers the first order."""
    group_id, _ = _missed_buy(pipeline, "mirror")
    pipeline.call("POST", f"/groups/{group_id}/followers/EVAL-1/unlock")
    _sync(pipeline, group_id, act=True)
    [entry] = pipeline.call("GET", f"/groups/{group_id}/followers/EVAL-1/sync-history").body["entries"]
    coid = catch_up_client_order_id(group_id, "EVAL-1", "NQZ6", "E-1", 0)
    assert entry["client_order_id"] == coid
    retried = PaperBroker("EVAL-1", PaperStore(os.environ["PAPER_TABLE_NAME"])).place(
        _market_order(coid, Side.BUY, 2, 21450)
    )
    assert retried.broker_order_id == entry["broker_order_id"]
    assert pipeline.positions("EVAL-1") == {"NQZ6": 2} and len(pipeline.orders("EVAL-1")) == 1


def test_mirror_only_reports_when_the_price_moved_too_far(pipeline: Pipeline) -> None:
    group_id, token = _missed_buy(pipeline, "mirror", max_catchup_ticks=4)
    pipeline.call("POST", f"/groups/{group_id}/followers/EVAL-1/unlock")
    # The leader adds 1 at 21460: entry average 21453.33, latest 21460 = 26.7 ticks away.
    pipeline.send(group_id, token, **market("E-2", "L-2", qty=1, price=21460, position_after=3))
    pipeline.deliver()
    report = _sync(pipeline, group_id, act=True)["EVAL-1"]
    assert _symbol(report)["actual_qty"] == 1 and _symbol(report)["expected_qty"] == 3
    assert report["status"] == "out_of_sync"
    [action] = report["actions"]
    assert action["action"] == "reported" and "price moved too far" in action["reason"]
    assert "max_catchup_ticks 4" in action["reason"]
    assert pipeline.positions("EVAL-1") == {"NQZ6": 1}


def test_close_only_closes_after_the_leader_goes_flat_and_never_opens(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", sync_policy="close_only")
    pipeline.send(group_id, token, **market("E-1", "L-1", position_after=2))
    pipeline.deliver()
    assert pipeline.positions("EVAL-1") == {"NQZ6": 2}
    pipeline.call("PATCH", f"/groups/{group_id}/followers/EVAL-1", {"simulate": "disconnect"})
    pipeline.send(group_id, token, **market("E-2", "L-2", side="sell", position_after=0))
    pipeline.deliver()
    pipeline.call("PATCH", f"/groups/{group_id}/followers/EVAL-1", {"simulate": None})
    assert _sync(pipeline, group_id)["EVAL-1"]["status"] == "out_of_sync"
    # Still locked by the failed copy: closing is an exit, never blocked.
    report = _sync(pipeline, group_id, act=True)["EVAL-1"]
    assert report["status"] == "in_sync" and pipeline.positions("EVAL-1") == {}
    # The leader buys again while EVAL-1 is locked: close_only never opens to catch up.
    pipeline.send(group_id, token, **market("E-3", "L-3", position_after=2))
    pipeline.deliver()
    report = _sync(pipeline, group_id, act=True)["EVAL-1"]
    assert report["status"] == "out_of_sync" and pipeline.positions("EVAL-1") == {}


def test_a_locked_mirror_follower_is_never_opened(pipeline: Pipeline) -> None:
    group_id, _ = _missed_buy(pipeline, "mirror")  # still locked by its failed copy
    report = _sync(pipeline, group_id, act=True)["EVAL-1"]
    assert report["status"] == "out_of_sync" and "may only reduce" in report["actions"][0]["reason"]
    assert pipeline.orders("EVAL-1") == []


def test_a_manual_trade_is_out_of_sync_and_alert_leaves_it(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.send(group_id, token, **market("E-1", "L-1", position_after=2))
    pipeline.deliver()
    assert _sync(pipeline, group_id)["EVAL-1"]["status"] == "in_sync"
    PaperBroker("EVAL-1", PaperStore(os.environ["PAPER_TABLE_NAME"])).place(
        _market_order("manual-1", Side.BUY, 1, 21451)
    )
    report = _sync(pipeline, group_id, act=True)["EVAL-1"]
    assert report["status"] == "out_of_sync" and _symbol(report)["actual_qty"] == 3
    assert pipeline.positions("EVAL-1") == {"NQZ6": 3}


def test_copies_recheck_their_follower_without_a_broker_call(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", multiplier=2)
    pipeline.send(group_id, token, **market("E-1", "L-1", position_after=2))
    pipeline.deliver()
    follower = pipeline.call("GET", f"/groups/{group_id}/followers/EVAL-1").body
    assert follower["sync"]["status"] == "in_sync"
    # A copy without position_after tells nothing of the leader: the field is left as it was.
    pipeline.send(group_id, token, **market("E-2", "L-2", qty=1))
    pipeline.deliver()
    assert pipeline.call("GET", f"/groups/{group_id}/followers/EVAL-1").body["sync"]["status"] == "in_sync"


def test_unknown_without_a_leader_position(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.send(group_id, token, **market("E-1", "L-1"))  # no position_after
    pipeline.deliver()
    report = _sync(pipeline, group_id)["EVAL-1"]
    assert report["status"] == "unknown" and _symbol(report)["leader_qty"] is None


def test_a_limit_order_does_not_set_the_leader_position(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.send(group_id, token, **samples.limit("E-1", "L-1", 2, 21400.0, position_after=2))
    pipeline.deliver()
    assert _sync(pipeline, group_id)["EVAL-1"]["status"] == "unknown"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sync_policy", "mirrors"),
        ("sync_policy", None),
        ("max_catchup_ticks", -1),
        ("max_catchup_ticks", 1.5),
        ("max_catchup_ticks", "8"),
        ("max_catchup_ticks", None),
    ],
)
def test_bad_sync_settings_are_422_naming_the_field_and_write_nothing(
    pipeline: Pipeline, field: str, value: Any
) -> None:
    group_id, _ = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    table = os.environ["COPIER_TABLE_NAME"]
    before = boto3.client("dynamodb").scan(TableName=table)["Items"]
    patched = pipeline.call("PATCH", f"/groups/{group_id}/followers/EVAL-1", {field: value})
    added = pipeline.call("POST", f"/groups/{group_id}/followers", {"account_id": "EVAL-2", field: value})
    for reply in (patched, added):
        assert reply.status == 422, reply.body
        assert field in str(reply.body["error"]["details"])
    after = boto3.client("dynamodb").scan(TableName=table)["Items"]
    key = lambda item: (item["pk"]["S"], item["sk"]["S"])  # noqa: E731
    assert sorted(before, key=key) == sorted(after, key=key)


def test_sync_routes_404(pipeline: Pipeline) -> None:
    assert pipeline.call("GET", "/groups/g-000000000000/sync").status == 404
    group_id, _ = pipeline.create_group()
    assert pipeline.call("GET", f"/groups/{group_id}/followers/NOPE/sync-history").status == 404


def test_a_mirror_catch_up_is_counted_as_a_trade_like_a_copy(pipeline: Pipeline) -> None:
    group_id, _ = _missed_buy(pipeline, "mirror", risk={"max_trades_per_day": 2})
    pipeline.call("POST", f"/groups/{group_id}/followers/EVAL-1/unlock")
    report = _sync(pipeline, group_id, act=True)["EVAL-1"]
    assert report["status"] == "in_sync" and pipeline.positions("EVAL-1") == {"NQZ6": 2}
    follower = pipeline.call("GET", f"/groups/{group_id}/followers/EVAL-1").body
    assert follower["risk_status"]["trades_today"] == 1


@pytest.mark.parametrize(
    ("rules", "reason"),
    [
        ({"max_trades_per_day": 1}, "risk: max_trades_per_day 1 reached (1 opened this session)"),
        ({"allowed_symbols": ["ES"]}, "risk: allowed_symbols ES do not include NQZ6"),
    ],
)
def test_a_mirror_catch_up_that_a_risk_rule_refuses_is_recorded_with_its_reason(
    pipeline: Pipeline, rules: dict[str, Any], reason: str
) -> None:
    group_id, token = _missed_buy(pipeline, "mirror")
    pipeline.call("POST", f"/groups/{group_id}/followers/EVAL-1/unlock")
    if "max_trades_per_day" in rules:  # one opening today already (a copy of another symbol)
        pipeline.call("PATCH", f"/groups/{group_id}/followers/EVAL-1", {"risk": rules})
        pipeline.send(group_id, token, **market("E-2", "L-2", symbol="ESZ6", qty=1, price=6000))
        pipeline.deliver()
        assert pipeline.copies(group_id, "E-2")["EVAL-1"]["status"] == "placed"
    else:
        pipeline.call("PATCH", f"/groups/{group_id}/followers/EVAL-1", {"risk": rules})
    report = _sync(pipeline, group_id, act=True)["EVAL-1"]
    [action] = [a for a in report["actions"] if a["symbol"] == "NQZ6"]
    assert (action["status"], action["detail"]) == ("rejected", reason)
    assert "NQZ6" not in pipeline.positions("EVAL-1")
    history = pipeline.call("GET", f"/groups/{group_id}/followers/EVAL-1/sync-history").body["entries"]
    assert [(e["status"], e["detail"]) for e in history if e["symbol"] == "NQZ6"] == [("rejected", reason)]
