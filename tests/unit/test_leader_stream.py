"""The leader stream as the group view shows it: the state item decoded (``leader_stream_from``),
the model's contract, and the supervisor reporting a stream it could not open."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from listener.supervisor import Supervisor
from tradecopier.dal.copier.listener import leader_stream_from
from tradecopier.domain.accounts import Group, Leader, LeaderStream
from tradecopier.domain.enums import BrokerName


def test_the_state_item_becomes_the_leader_stream() -> None:
    values = {
        "stream": "reconnecting",
        "stream_since": "2026-12-01T14:35:00.000Z",
        "updated_at": "2026-12-01T14:36:00.000Z",
        "reason": "silent for 10.2 s",
        "view": "{}",
    }
    assert leader_stream_from(values) == LeaderStream(
        status="reconnecting", since=datetime(2026, 12, 1, 14, 35, tzinfo=UTC), detail="silent for 10.2 s"
    )


def test_an_item_from_before_stream_since_shows_its_last_write() -> None:
    stream = leader_stream_from({"stream": "connected", "updated_at": "2026-12-01T14:36:00.000Z"})
    assert (stream.status, stream.since, stream.detail) == (
        "connected",
        datetime(2026, 12, 1, 14, 36, tzinfo=UTC),
        None,
    )


def test_an_unknown_state_is_shown_as_down_with_what_was_stored() -> None:
    stream = leader_stream_from({"stream": "sleeping", "updated_at": "2026-12-01T14:36:00.000Z"})
    assert (stream.status, stream.detail) == ("down", "unknown stream state 'sleeping'")


def test_the_status_is_one_of_the_listeners_states() -> None:
    with pytest.raises(ValidationError):
        LeaderStream(status="up")  # type: ignore[arg-type]
    leader = Leader(account_id="TV-L", broker=BrokerName.TRADOVATE)
    assert leader.leader_stream is None  # as stored: the group view adds it
    assert set(Leader.model_fields) >= {"account_id", "broker", "connection", "leader_stream"}


def _store_with_a_tradovate_leader() -> Any:
    group = Group(
        group_id="g-000000000001",
        name="live",
        leader=Leader(account_id="TV-L", broker=BrokerName.TRADOVATE),
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    return SimpleNamespace(
        list_group_ids=lambda: [group.group_id], get_group=lambda _: SimpleNamespace(group=group)
    )


def test_a_stream_that_cannot_be_opened_is_reported_down_with_why() -> None:
    store = _store_with_a_tradovate_leader()
    reported: list[tuple[str, str, str]] = []
    stop = threading.Event()

    def report(leader: Any, state: str, reason: str) -> None:
        reported.append((leader.account_id, state, reason))
        stop.set()

    def open_stream(leader: Any) -> Any:
        raise LookupError("no credentials stored for TV-L")

    supervisor = Supervisor(store, open_stream, poll_s=0.01, report=report)
    supervisor.reconcile()
    assert stop.wait(5)
    supervisor.stop_all()
    assert reported[0] == ("TV-L", "down", "stream not opened: LookupError: no credentials stored for TV-L")


def test_a_report_that_fails_never_ends_the_retries() -> None:
    store = _store_with_a_tradovate_leader()
    attempts: list[int] = []
    done = threading.Event()

    def report(leader: Any, state: str, reason: str) -> None:
        raise OSError("table unreachable")

    def open_stream(leader: Any) -> Any:
        attempts.append(1)
        if len(attempts) == 2:
            done.set()
        raise LookupError("no credentials")

    supervisor = Supervisor(store, open_stream, poll_s=0.01, report=report)
    supervisor.reconcile()
    assert done.wait(5)  # retried after the failed report (backoff 1 s)
    supervisor.stop_all()
