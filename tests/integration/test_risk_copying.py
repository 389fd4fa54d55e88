"""Risk rules on the copy path, handler level (ingest → queue → executor → paper broker): opening
rules cap or reject only what opens, loss rules breach → liquidate_only → flat → locked, and a
follower without rules beside it is unaffected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack import samples
from tests.pipeline import Pipeline
from tradecopier.domain.risk.calendar import chicago_time, next_session_start


def _copy(
    pipeline: Pipeline, group_id: str, token: str, account: str, event: dict[str, Any]
) -> dict[str, Any]:
    reply = pipeline.send(group_id, token, **event)
    assert reply.status == 202, reply.body
    pipeline.deliver()
    return pipeline.copies(group_id, event["event_id"])[account]


def _follower(pipeline: Pipeline, group_id: str, account: str) -> dict[str, Any]:
    return dict(pipeline.call("GET", f"/groups/{group_id}/followers/{account}").body)


def test_max_position_caps_then_rejects_and_exits_pass(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", risk={"max_position": 3})
    pipeline.add_follower(group_id, "PLAIN-1")
    first = _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-1", "L-1", qty=2))
    assert (first["status"], first["qty"]) == ("placed", 2)
    capped = _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-2", "L-2", qty=2))
    assert (capped["status"], capped["qty"]) == ("placed", 1)
    assert capped["reason"].startswith("risk: max_position 3 caps 2 to 1")
    full = _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-3", "L-3", qty=1))
    assert full["status"] == "rejected" and full["reason"].startswith("risk: max_position")
    exit_ = _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-4", "L-4", qty=2, side="sell"))
    assert (exit_["status"], exit_["qty"]) == ("placed", 2)
    assert pipeline.positions("EVAL-1") == {"NQZ6": 1}
    assert pipeline.positions("PLAIN-1") == {"NQZ6": 5 - 2}


def test_trades_per_day_allowed_symbols_and_hours_reject_openings_only(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    now = chicago_time(datetime.now(UTC))
    closed = {
        "start": (now + timedelta(hours=2)).strftime("%H:%M"),
        "end": (now + timedelta(hours=3)).strftime("%H:%M"),
    }
    pipeline.add_follower(group_id, "TRADES-1", risk={"max_trades_per_day": 1})
    pipeline.add_follower(group_id, "SYMS-1", risk={"allowed_symbols": ["ES"]})
    pipeline.add_follower(group_id, "HOURS-1")
    one = _copy(pipeline, group_id, token, "TRADES-1", samples.market("E-1", "L-1", qty=1))
    assert one["status"] == "placed"
    # HOURS-1 holds 1 now; its window closes before the next copies.
    pipeline.call("PATCH", f"/groups/{group_id}/followers/HOURS-1", {"risk": {"trading_hours": closed}})
    copies = pipeline.send(group_id, token, **samples.market("E-2", "L-2", qty=1))
    assert copies.status == 202
    pipeline.deliver()
    second = pipeline.copies(group_id, "E-2")
    assert second["TRADES-1"]["status"] == "rejected"
    assert second["TRADES-1"]["reason"].startswith("risk: max_trades_per_day 1 reached")
    assert second["SYMS-1"]["status"] == "rejected"
    assert second["SYMS-1"]["reason"].startswith("risk: allowed_symbols")
    assert second["HOURS-1"]["status"] == "rejected"
    assert second["HOURS-1"]["reason"].startswith("risk: trading_hours")
    assert _follower(pipeline, group_id, "TRADES-1")["risk_status"]["trades_today"] == 1
    exit_ = pipeline.send(group_id, token, **samples.market("E-3", "L-3", qty=1, side="sell"))
    assert exit_.status == 202
    pipeline.deliver()
    exits = pipeline.copies(group_id, "E-3")
    assert exits["TRADES-1"]["status"] == "placed" and exits["HOURS-1"]["status"] == "placed"
    assert exits["SYMS-1"]["status"] == "rejected"  # flat: a sell would open a short in NQ
    assert pipeline.positions("TRADES-1") == {} and pipeline.positions("HOURS-1") == {}


def test_daily_loss_by_a_mark_flattens_and_locks_until_the_next_session(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", risk={"daily_loss_limit": 1000})
    pipeline.add_follower(group_id, "PLAIN-1")
    _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-1", "L-1", qty=2, price=21000))
    # 2 NQ, 30 points down: -1200 at the mark of a resting order's price.
    cause = _copy(
        pipeline,
        group_id,
        token,
        "EVAL-1",
        samples.limit("E-2", "L-2", qty=1, limit_price=20900, price=20970),
    )
    assert cause["status"] == "placed"  # the copy that caused the breach keeps its own status
    follower = _follower(pipeline, group_id, "EVAL-1")
    assert follower["state"] == "locked"
    assert follower["lock_reason"] == "risk: daily loss limit 1000.00 reached (session P&L -1200.00)"
    until = datetime.fromisoformat(follower["locked_until"])
    assert until == next_session_start(datetime.now(UTC))
    assert pipeline.positions("EVAL-1") == {}
    assert not [order for order in pipeline.orders("EVAL-1") if order["status"] == "working"]
    assert pipeline.positions("PLAIN-1") == {"NQZ6": 2}
    again = _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-3", "L-3", qty=1, price=20970))
    assert again["status"] == "skipped"
    assert _follower(pipeline, group_id, "PLAIN-1")["state"] == "active"


def _crash_once(monkeypatch: Any, owner: Any, name: str) -> list[int]:
    """``owner.name`` raises on its first call, then behaves: a crash between two steps."""
    real = getattr(owner, name)
    calls: list[int] = []

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(f"crash in {name}")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, crashing)
    return calls


def _breach_with_crash(pipeline: Pipeline, arm: Callable[[], list[int]]) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", risk={"daily_loss_limit": 1000})
    pipeline.add_follower(group_id, "PLAIN-1")
    _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-1", "L-1", qty=2, price=21000))
    calls = arm()
    cause = _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-2", "L-2", qty=1, price=20970))
    assert calls, "the crash must have happened (the locked state below proves the retry finished)"
    assert cause["status"] == "placed"  # its own outcome, written once
    follower = _follower(pipeline, group_id, "EVAL-1")
    assert follower["state"] == "locked" and follower["lock_reason"].startswith("risk: daily loss limit")
    assert pipeline.positions("EVAL-1") == {}
    closes = [order for order in pipeline.orders("EVAL-1") if order["side"] == "sell"]
    assert [order["qty"] for order in closes] == [3], "one close of the whole position, never two"
    assert pipeline.positions("PLAIN-1") == {"NQZ6": 3}
    assert pipeline.copies(group_id, "E-2")["PLAIN-1"]["status"] == "placed"
    assert _follower(pipeline, group_id, "PLAIN-1")["state"] == "active"


def test_breach_survives_a_crash_before_the_flatten(pipeline: Pipeline, monkeypatch: Any) -> None:
    from tradecopier.logic import risk

    _breach_with_crash(pipeline, lambda: _crash_once(monkeypatch, risk, "liquidate"))


def test_breach_survives_a_crash_between_flatten_and_lock(pipeline: Pipeline, monkeypatch: Any) -> None:
    from tradecopier.dal.copier.risk import RiskStore

    _breach_with_crash(pipeline, lambda: _crash_once(monkeypatch, RiskStore, "finish_liquidation"))


def test_breach_survives_a_crash_in_the_middle_of_the_flatten(pipeline: Pipeline, monkeypatch: Any) -> None:
    from tradecopier.brokers.paper.broker import PaperBroker

    real = PaperBroker.flatten
    calls: list[int] = []

    def flatten_then_crash(self: PaperBroker, command: Any) -> Any:
        result = real(self, command)  # the broker closed the position; the answer is lost
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("crash after the close")
        return result

    def arm() -> list[int]:
        monkeypatch.setattr(PaperBroker, "flatten", flatten_then_crash)
        return calls

    _breach_with_crash(pipeline, arm)
