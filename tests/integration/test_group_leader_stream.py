"""``leader.leader_stream`` in the group view (``GET /groups/{id}``, ``GET /groups``, ``POST /groups``):
null for a paper (webhook-only) leader, ``not_running`` until a listener reports, then the state
the listener stored (``dal/copier/listener``) with since when and why — through the real admin
handler and DynamoDB Local, and what the read costs in DynamoDB calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import CopierTables
from tests.pipeline import Pipeline
from tradecopier import aws
from tradecopier.dal.copier.listener import ListenerStateStore

T0 = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
LEADER = "TV-L"
TRADOVATE = {
    "broker": "tradovate",
    "environment": "demo",
    "username": "trader",
    "password": "pw",
    "app_id": "copier",
    "cid": 9,
    "sec": "s",
    "broker_account": "DEMO1",
}


@contextmanager
def dynamodb_calls() -> Iterator[list[str]]:
    """The DynamoDB operations the handlers make meanwhile (the process's one client)."""
    calls: list[str] = []
    client = aws.client("dynamodb")

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb", count)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)


@pytest.fixture
def states(copier_tables: CopierTables) -> ListenerStateStore:
    return ListenerStateStore(copier_tables.copier)


def _real_broker_group(pipeline: Pipeline) -> tuple[str, dict[str, Any]]:
    assert pipeline.call("PUT", f"/accounts/{LEADER}/credentials", TRADOVATE).status == 200
    reply = pipeline.call(
        "POST", "/groups", {"name": "live", "leader": {"account_id": LEADER, "broker": "tradovate"}}
    )
    assert reply.status == 201, reply.body
    return reply.body["group_id"], reply.body


def _stream(pipeline: Pipeline, group_id: str) -> Any:
    reply = pipeline.call("GET", f"/groups/{group_id}")
    assert reply.status == 200, reply.body
    listed = pipeline.call("GET", "/groups").body["groups"]
    (same,) = [g for g in listed if g["group_id"] == group_id]
    assert same["leader"] == reply.body["leader"]  # the list shows what the group shows
    return reply.body["leader"]["leader_stream"]


def test_a_paper_leader_has_no_stream_and_its_group_read_costs_one_query(pipeline: Pipeline) -> None:
    group_id, _ = pipeline.create_group("FUNDED-1")
    pipeline.add_follower(group_id, "EVAL-1")
    with dynamodb_calls() as calls:
        reply = pipeline.call("GET", f"/groups/{group_id}")
    assert reply.body["leader"] == {
        "account_id": "FUNDED-1",
        "broker": "paper",
        "connection": None,
        "leader_stream": None,
    }
    assert calls == ["Query"]  # as before: no listener read for a webhook-only leader
    assert pipeline.call("GET", "/groups").body["groups"][0]["leader"]["leader_stream"] is None


def test_a_real_broker_leader_is_not_running_until_a_listener_reports(pipeline: Pipeline) -> None:
    group_id, created = _real_broker_group(pipeline)
    assert created["leader"]["leader_stream"] == {"status": "not_running", "since": None, "detail": None}
    assert _stream(pipeline, group_id) == {"status": "not_running", "since": None, "detail": None}
    with dynamodb_calls() as calls:
        pipeline.call("GET", f"/groups/{group_id}")
    assert calls == ["Query", "BatchGetItem"]  # one more read, of the listener's item


def test_the_stream_state_is_shown_with_since_when_and_why(
    pipeline: Pipeline, states: ListenerStateStore
) -> None:
    group_id, _ = _real_broker_group(pipeline)
    states.put_listener_view(group_id, LEADER, '{"orders": []}', T0)  # a first start's baseline
    assert _stream(pipeline, group_id) == {
        "status": "connected",
        "since": "2026-12-01T14:30:00Z",
        "detail": None,
    }
    states.put_stream_state(group_id, LEADER, "connected", None, T0 + timedelta(seconds=1))
    states.put_stream_state(
        group_id, LEADER, "reconnecting", "ConnectionClosed: 1006", T0 + timedelta(minutes=5)
    )
    states.put_stream_state(group_id, LEADER, "reconnecting", "silent for 10.2 s", T0 + timedelta(minutes=6))
    assert _stream(pipeline, group_id) == {
        "status": "reconnecting",
        "since": "2026-12-01T14:35:00Z",  # the first failure, not the latest retry
        "detail": "silent for 10.2 s",
    }
    states.put_listener_view(group_id, LEADER, '{"orders": [1]}', T0 + timedelta(minutes=7))  # the snapshot
    assert _stream(pipeline, group_id)["status"] == "reconnecting"  # until the stream says connected
    states.put_stream_state(group_id, LEADER, "connected", None, T0 + timedelta(minutes=7, seconds=1))
    states.put_listener_view(group_id, LEADER, '{"orders": [2]}', T0 + timedelta(minutes=9))  # frames
    assert _stream(pipeline, group_id) == {
        "status": "connected",
        "since": "2026-12-01T14:37:01Z",
        "detail": None,
    }
    states.put_stream_state(group_id, LEADER, "down", "listener stopped", T0 + timedelta(hours=1))
    assert _stream(pipeline, group_id) == {
        "status": "down",
        "since": "2026-12-01T15:30:00Z",
        "detail": "listener stopped",
    }
    stored = states.get_listener_state(group_id, LEADER)
    assert stored is not None and stored.view == '{"orders": [2]}'  # the state writes leave the view


def test_the_list_reads_every_leaders_stream_in_one_call(
    pipeline: Pipeline, states: ListenerStateStore
) -> None:
    live, _ = _real_broker_group(pipeline)
    paper, _ = pipeline.create_group("FUNDED-2")
    assert pipeline.call("PUT", "/accounts/TV-2/credentials", TRADOVATE).status == 200
    other = pipeline.call(
        "POST", "/groups", {"name": "b", "leader": {"account_id": "TV-2", "broker": "tradovate"}}
    )
    states.put_stream_state(live, LEADER, "connected", None, T0)
    with dynamodb_calls() as calls:
        groups = {
            g["group_id"]: g["leader"]["leader_stream"]
            for g in pipeline.call("GET", "/groups").body["groups"]
        }
    assert groups == {
        live: {"status": "connected", "since": "2026-12-01T14:30:00Z", "detail": None},
        paper: None,
        other.body["group_id"]: {"status": "not_running", "since": None, "detail": None},
    }
    assert calls.count("BatchGetItem") == 1 and calls.count("GetItem") == 0
