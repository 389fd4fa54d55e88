"""The risk clock (scheduler logic) and risk/reset, against DynamoDB Local and the paper broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from devstack import samples
from tests.integration.test_risk_copying import _copy, _follower
from tests.pipeline import Pipeline
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.enums import CopyStatus
from tradecopier.domain.risk.calendar import chicago_time, next_session_start
from tradecopier.domain.risk.engine import reset_session
from tradecopier.logic.services import scheduler_services
from tradecopier.logic.sessions import run_clock, tick


def test_flat_by_flattens_and_locks_then_the_session_start_lifts_it(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    now = datetime.now(UTC)
    flat_by = (chicago_time(now) + timedelta(minutes=1)).strftime("%H:%M")
    pipeline.add_follower(group_id, "EVAL-1", risk={"flat_by": flat_by})
    pipeline.add_follower(group_id, "PLAIN-1")
    _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-1", "L-1", qty=2))
    services = scheduler_services()
    assert run_clock(services, now) == 1
    assert _follower(pipeline, group_id, "EVAL-1")["state"] == "active"
    later = now + timedelta(minutes=2)
    run_clock(services, later)
    follower = _follower(pipeline, group_id, "EVAL-1")
    assert (follower["state"], follower["lock_reason"]) == ("locked", f"risk: flat by {flat_by}")
    assert datetime.fromisoformat(follower["locked_until"]) == next_session_start(later)
    assert pipeline.positions("EVAL-1") == {} and pipeline.positions("PLAIN-1") == {"NQZ6": 2}
    run_clock(services, later + timedelta(minutes=1))  # once a day: nothing more happens
    assert len([o for o in pipeline.orders("EVAL-1") if o["side"] == "sell"]) == 1
    session = next_session_start(later) + timedelta(seconds=30)
    run_clock(services, session)
    lifted = _follower(pipeline, group_id, "EVAL-1")
    assert (lifted["state"], lifted["locked_until"], lifted["lock_reason"]) == ("active", None, None)
    assert datetime.fromisoformat(lifted["risk_status"]["session_started_at"]) == next_session_start(later)


def test_risk_reset_reactivates_and_restarts_the_balance(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", risk={"daily_loss_limit": 1000, "max_trades_per_day": 5})
    _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-1", "L-1", qty=2, price=21000))
    _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-2", "L-2", qty=1, price=20970))
    assert _follower(pipeline, group_id, "EVAL-1")["state"] == "locked"
    reset = pipeline.call("POST", f"/groups/{group_id}/followers/EVAL-1/risk/reset")
    assert reset.status == 200, reset.body
    assert (reset.body["state"], reset.body["lock_reason"], reset.body["locked_until"]) == (
        "active",
        None,
        None,
    )
    assert reset.body["risk_status"]["trades_today"] == 0 and reset.body["risk_status"]["session_pnl"] == 0
    again = pipeline.call(
        "POST", f"/groups/{group_id}/followers/EVAL-1/risk/reset", {"starting_balance": 100000}
    )
    assert again.status == 200 and again.body["risk_status"]["balance"] == 100000
    assert (
        pipeline.call(
            "POST", f"/groups/{group_id}/followers/EVAL-1/risk/reset", {"starting_balance": -1}
        ).status
        == 422
    )
    pipeline.add_follower(group_id, "PLAIN-1")
    assert pipeline.call("POST", f"/groups/{group_id}/followers/PLAIN-1/risk/reset").status == 404
    assert pipeline.call("POST", f"/groups/{group_id}/followers/NOBODY/risk/reset").status == 404


def test_the_clock_never_overwrites_a_copy_recorded_since_it_read_the_state(pipeline: Pipeline) -> None:
    # Scheduler and executor both write risk_state: each write is a compare-and-set on what it read.
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", risk={"max_trades_per_day": 5})
    services = scheduler_services()
    group = services.store.get_group(group_id)
    assert group is not None
    stale = group.followers[0].follower  # read by the clock, before the copy below
    _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-1", "L-1", qty=1))
    assert _follower(pipeline, group_id, "EVAL-1")["risk_status"]["trades_today"] == 1
    assert stale.risk_state is not None
    session = next_session_start(datetime.now(UTC)) + timedelta(seconds=30)
    tick(services, group_id, stale, session)  # its session-start write is refused: state moved on
    follower = _follower(pipeline, group_id, "EVAL-1")
    assert follower["risk_status"]["trades_today"] == 1
    started = datetime.fromisoformat(follower["risk_status"]["session_started_at"])
    assert started == stale.risk_state.session_started_at
    run_clock(services, session)  # the next minute reads it afresh and starts the session
    follower = _follower(pipeline, group_id, "EVAL-1")
    assert follower["risk_status"]["trades_today"] == 0
    assert datetime.fromisoformat(follower["risk_status"]["session_started_at"]) == session - timedelta(
        seconds=30
    )


def test_a_copy_whose_state_moved_on_is_recorded_without_overwriting_it(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", risk={"max_trades_per_day": 5})
    store = scheduler_services().store
    group = store.get_group(group_id)
    assert group is not None and group.followers[0].follower.risk_state is not None
    read = group.followers[0].follower.risk_state
    later = datetime.now(UTC) + timedelta(days=1)
    assert store.save_risk_state(
        group_id, "EVAL-1", reset_session(read, later, Decimal(50000)), expected=read
    )
    reply = pipeline.send(group_id, token, **samples.market("E-1", "L-1", qty=1))
    assert reply.status == 202
    record = CopyRecord(account_id="EVAL-1", status=CopyStatus.PLACED, qty=1, updated_at=later)
    counted = read.model_copy(update={"trades_today": 1})
    assert not store.record_copy_with_risk(group_id, "E-1", record, counted, None, expected=read)
    assert pipeline.copies(group_id, "E-1")["EVAL-1"]["status"] == "placed"
    status = _follower(pipeline, group_id, "EVAL-1")["risk_status"]
    assert datetime.fromisoformat(status["session_started_at"]) != read.session_started_at
