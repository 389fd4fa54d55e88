"""Alerts from the places that cause them, through the real handlers (DynamoDB Local as the rate-limit
ledger): a breach and its lock after the flatten, flat-by and the session start's lift, a follower
found out of sync (once per transition, not every minute). Each kind goes out once, with its
figures; a healthy follower beside it sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devstack import samples
from tests.integration.test_risk_copying import _copy, _follower
from tests.integration.test_sync import _missed_buy, _sync
from tests.pipeline import Pipeline
from tradecopier import alerts
from tradecopier.dal.copier.keys import iso
from tradecopier.domain.risk.calendar import chicago_time, next_session_start
from tradecopier.logic.services import scheduler_services
from tradecopier.logic.sessions import run_clock
from tradecopier.logic.sync import run_sync_checks
from tradecopier.settings import AlertSettings

TOPIC = "arn:aws:sns:us-east-1:123456789012:copier-AlertsTopic"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The texts published to the alerts topic (the SNS call itself is the alerts unit tests')."""
    texts: list[str] = []
    monkeypatch.setattr(alerts, "alert_settings", lambda: AlertSettings(alerts_topic_arn=TOPIC))
    monkeypatch.setattr(alerts, "_sns_publish", lambda _topic, _subject, text: texts.append(text))
    yield texts


def test_a_breach_alerts_once_then_its_lock_once(pipeline: Pipeline, sent: list[str]) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", risk={"daily_loss_limit": 1000})
    pipeline.add_follower(group_id, "PLAIN-1")
    _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-1", "L-1", qty=2, price=21000))
    assert sent == []  # healthy copies send nothing
    _copy(
        pipeline,
        group_id,
        token,
        "EVAL-1",
        samples.limit("E-2", "L-2", qty=1, limit_price=20900, price=20970),
    )
    until = iso(datetime.fromisoformat(_follower(pipeline, group_id, "EVAL-1")["locked_until"]))
    assert sent == [
        "EVAL-1 risk breach: risk: daily loss limit 1000.00 reached (session P&L -1200.00) "
        f"(rule daily_loss_limit, locked until {until}) [group {group_id}]",
        "EVAL-1 liquidated: flat and locked after risk: daily loss limit 1000.00 reached "
        f"(session P&L -1200.00) (positions closed 1, locked until {until}) [group {group_id}]",
    ]
    _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-3", "L-3", qty=1, price=20900))
    assert len(sent) == 2  # the locked follower's skipped copy is not news


def test_flat_by_and_the_session_start_alert_from_the_scheduler(pipeline: Pipeline, sent: list[str]) -> None:
    group_id, token = pipeline.create_group()
    now = datetime.now(UTC)
    flat_by = (chicago_time(now) + timedelta(minutes=1)).strftime("%H:%M")
    pipeline.add_follower(group_id, "EVAL-1", risk={"flat_by": flat_by})
    _copy(pipeline, group_id, token, "EVAL-1", samples.market("E-1", "L-1", qty=2))
    services = scheduler_services()
    later = now + timedelta(minutes=2)
    run_clock(services, later)
    run_clock(services, later + timedelta(minutes=1))
    until = iso(next_session_start(later))
    assert [text.split(" [group")[0] for text in sent] == [
        f"EVAL-1 risk breach: risk: flat by {flat_by} (rule flat_by, locked until {until})",
        f"EVAL-1 liquidated: flat and locked after risk: flat by {flat_by} "
        f"(positions closed 1, locked until {until})",
    ]
    run_clock(services, next_session_start(later) + timedelta(seconds=30))
    assert (
        sent[2] == f"EVAL-1 unlocked: risk lock lifted at the session start; copies resume [group {group_id}]"
    )
    assert len(sent) == 3


def test_out_of_sync_alerts_on_the_transition_only(pipeline: Pipeline, sent: list[str]) -> None:
    group_id, _ = _missed_buy(pipeline, "alert")
    sent.clear()  # the lock after the missed buy's last attempt
    _sync(pipeline, group_id)
    assert sent == [
        "EVAL-1 out of sync: holds other than the leader's sized position in NQZ6 "
        f"(positions NQZ6 holds 0, should hold 2) [group {group_id}]"
    ]
    _sync(pipeline, group_id, act=True)
    run_sync_checks(scheduler_services())  # every minute: still out of sync, no new alert
    assert len(sent) == 1
