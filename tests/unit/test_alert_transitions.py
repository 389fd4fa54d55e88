"""Alerts on a transition only: a real broker that was connected and is not any more, a leader stream
that was connected and went down. Never one for a broker never seen up, nor one per repeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from listener.handover import Handover, Leader
from tests.unit.test_alerts import MemoryLedger
from tradecopier import alerts
from tradecopier.domain.accounts import ConnectionState, Follower
from tradecopier.domain.enums import BrokerName
from tradecopier.logic.executor import note_connection
from tradecopier.settings import AlertSettings

NOW = datetime(2031, 3, 4, 14, 30, tzinfo=UTC)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    texts: list[str] = []
    monkeypatch.setattr(alerts, "alert_settings", lambda: AlertSettings(alerts_topic_arn="arn:aws:sns:x"))
    monkeypatch.setattr(alerts, "_sns_publish", lambda _t, _s, text: texts.append(text))
    return texts


class Store(MemoryLedger):
    def __init__(self) -> None:
        super().__init__()
        self.notes: list[ConnectionState] = []

    def record_follower_connection(self, _group: str, _account: str, state: ConnectionState) -> None:
        self.notes.append(state)


def _follower(status: str | None) -> Follower:
    connection = (
        None if status is None else ConnectionState(status=status, checked_at=NOW - timedelta(minutes=1))
    )  # type: ignore[arg-type]
    return Follower(account_id="EVAL-1", broker=BrokerName.TRADOVATE, connection=connection)


DELIVERY: Any = SimpleNamespace(group_id="g-1", account_id="EVAL-1")


def test_a_broker_that_was_connected_and_is_not_alerts_once(sent: list[str]) -> None:
    store = Store()
    follower = _follower("connected")
    note_connection(store, DELIVERY, follower, "unreachable", "read timed out", lambda: NOW)  # type: ignore[arg-type]
    assert sent == ["EVAL-1 broker disconnected: broker unreachable: read timed out [group g-1]"]
    # the next delivery, a second later, still read the old status: the rate limit holds it back
    later = NOW + timedelta(seconds=1)
    note_connection(store, DELIVERY, follower, "unreachable", "read timed out", lambda: later)  # type: ignore[arg-type]
    assert len(sent) == 1 and len(store.notes) == 2


@pytest.mark.parametrize("known", [None, "unreachable", "auth_failed"])
def test_no_alert_unless_it_was_connected(sent: list[str], known: str | None) -> None:
    note_connection(Store(), DELIVERY, _follower(known), "unreachable", "down", lambda: NOW)  # type: ignore[arg-type]
    assert sent == []


def test_coming_back_is_not_an_alert(sent: list[str]) -> None:
    note_connection(Store(), DELIVERY, _follower("unreachable"), "connected", None, lambda: NOW)  # type: ignore[arg-type]
    assert sent == []


class States:
    def put_stream_state(self, *_: Any) -> None:
        pass


def test_a_leader_stream_alerts_when_it_goes_down_not_while_it_stays_down(sent: list[str]) -> None:
    ledger = MemoryLedger()
    sink: Any = SimpleNamespace(store=ledger)
    handover = Handover(Leader("g-1", "LEAD-1", "tradovate"), "tv", sink, States(), clock=lambda: NOW)  # type: ignore[arg-type]
    handover.stream("reconnecting", "never connected yet")
    handover.stream("connected")
    handover.stream("reconnecting", "ConnectionClosed: 1006")
    handover.stream("reconnecting", "ConnectionClosed: 1006")
    handover.stream("down", "listener stopped")
    assert sent == [
        "LEAD-1 leader stream disconnected: the stream of the leader's orders is reconnecting: "
        "ConnectionClosed: 1006 [group g-1]"
    ]
    handover.stream("connected")  # a flap within the interval: rate-limited
    handover.stream("reconnecting", "ConnectionClosed: 1006")
    assert len(sent) == 1


def test_a_lost_broker_alert_never_carries_a_secret(sent: list[str]) -> None:
    detail = "login failed: password=hunter2 token: abc.def Bearer eyJhbGciOi"
    note_connection(Store(), DELIVERY, _follower("connected"), "auth_failed", detail, lambda: NOW)  # type: ignore[arg-type]
    [text] = sent
    assert text.startswith("EVAL-1 broker disconnected: broker auth failed: login failed")
    assert not any(secret in text for secret in ("hunter2", "abc.def", "eyJhbGciOi"))
