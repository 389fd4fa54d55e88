"""Risk settings on followers: stored with the follower, shown with its risk status, presets as
data, and bad input refused with the field named and nothing written."""

from __future__ import annotations

from typing import Any

from tests.integration.test_copying_v2_bad_input import _fields_named
from tests.integration.test_pipeline_rules import table_items
from tests.pipeline import Pipeline

RULES = {
    "starting_balance": 50000,
    "max_position": 5,
    "micro_weight": 0.1,
    "max_trades_per_day": 20,
    "allowed_symbols": ["NQ", "MNQ"],
    "trading_hours": {"start": "08:30", "end": "15:00"},
    "daily_loss_limit": 1000,
    "trailing_drawdown": 2000,
    "drawdown_mode": "end_of_day",
    "trailing_stop_at": 50000,
    "flat_by": "15:08",
}


def test_risk_round_trip_with_status_and_null_clears(pipeline: Pipeline) -> None:
    group_id, _ = pipeline.create_group()
    created = pipeline.add_follower(group_id, "EVAL-1", risk=RULES)
    assert {k: created["risk"][k] for k in RULES} == RULES
    assert created["risk"]["preset"] is None
    assert (created["state"], created["locked_until"]) == ("active", None)
    status = created["risk_status"]
    assert status["balance"] == 50000 and status["session_pnl"] == 0 and status["trades_today"] == 0
    assert (status["high_water_mark"], status["drawdown_floor"]) == (50000, 48000)
    assert "risk_state" not in created

    read = pipeline.call("GET", f"/groups/{group_id}/followers/EVAL-1").body
    assert read["risk"] == created["risk"] and read["risk_status"] == status

    narrowed = pipeline.call("PATCH", f"/groups/{group_id}/followers/EVAL-1", {"risk": {"max_position": 2}})
    assert narrowed.status == 200
    assert narrowed.body["risk"]["max_position"] == 2 and narrowed.body["risk"]["daily_loss_limit"] is None
    assert narrowed.body["risk_status"]["balance"] is None  # no loss rule needs it

    cleared = pipeline.call("PATCH", f"/groups/{group_id}/followers/EVAL-1", {"risk": None})
    assert cleared.status == 200 and cleared.body["risk"] is None and cleared.body["risk_status"] is None

    plain = pipeline.add_follower(group_id, "EVAL-2")
    assert (plain["risk"], plain["risk_status"], plain["locked_until"]) == (None, None, None)


def test_preset_applies_where_the_request_leaves_a_field_out(pipeline: Pipeline) -> None:
    presets = pipeline.call("GET", "/risk/presets")
    assert presets.status == 200
    by_name = {preset["name"]: preset for preset in presets.body["presets"]}
    assert {"topstep-50k", "topstep-100k", "topstep-150k", "apex-50k", "apex-100k"} <= set(by_name)
    assert all({"name", "description", "risk", "verified"} <= set(p) for p in by_name.values())

    group_id, _ = pipeline.create_group()
    wanted = by_name["topstep-50k"]["risk"]
    created = pipeline.add_follower(group_id, "EVAL-1", risk={"preset": "topstep-50k", "max_position": 1})
    assert created["risk"]["preset"] == "topstep-50k" and created["risk"]["max_position"] == 1
    for name, value in wanted.items():
        if name not in ("preset", "max_position"):
            assert created["risk"][name] == value, name


def _bad_risk() -> list[tuple[Any, str]]:
    return [
        ({"max_position": 0}, "risk.max_position"),
        ({"max_position": -1}, "risk.max_position"),
        ({"max_trades_per_day": 0}, "risk.max_trades_per_day"),
        ({"daily_loss_limit": 0}, "risk.daily_loss_limit"),
        ({"daily_loss_limit": -5}, "risk.daily_loss_limit"),
        ({"trailing_drawdown": -1}, "risk.trailing_drawdown"),
        ({"starting_balance": -1}, "risk.starting_balance"),
        ({"trading_hours": {"start": "08:30", "end": "08:30"}}, "risk.trading_hours"),
        ({"trading_hours": {"start": "8:30", "end": "15:00"}}, "risk.trading_hours.start"),
        ({"trading_hours": {"start": "08:30", "end": "25:00"}}, "risk.trading_hours.end"),
        ({"flat_by": "3pm"}, "risk.flat_by"),
        ({"flat_by": "15:08:00"}, "risk.flat_by"),
        ({"allowed_symbols": ["NQ*"]}, "risk.allowed_symbols"),
        ({"allowed_symbols": []}, "risk.allowed_symbols"),
        ({"preset": "topstep-5k"}, "risk.preset"),
        ({"max_postion": 5}, "risk.max_postion"),
        ({"drawdown_mode": "weekly"}, "risk.drawdown_mode"),
        ("strict", "risk"),
    ]


def test_bad_risk_refused_with_the_field_named_and_nothing_written(
    pipeline: Pipeline, pipeline_env: Any
) -> None:
    group_id, _ = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", risk={"max_position": 3})
    before = table_items(pipeline_env.copier)
    queues = len(pipeline.follower_queues())
    for risk, field in _bad_risk():
        for method, path, body in (
            ("POST", f"/groups/{group_id}/followers", {"account_id": "X-1", "risk": risk}),
            ("PATCH", f"/groups/{group_id}/followers/EVAL-1", {"risk": risk}),
        ):
            reply = pipeline.call(method, path, body)
            assert (reply.status, reply.body["error"]["code"]) == (422, "validation_error"), (method, risk)
            assert field in _fields_named(reply.body), (method, risk, reply.body)
    assert table_items(pipeline_env.copier) == before
    assert len(pipeline.follower_queues()) == queues
