"""The last known connection status on the Follower and Group views (API.md "Real brokers and
credentials": ``"connection": {"status", "checked_at", "detail"}``, null for paper), through the
admin handler: from ``GET /accounts/{id}/connection`` and from the executor's broker calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack import samples
from devstack.brokers.tradovate import FakeTradovate
from tests.integration.test_broker_conformance import fake_tradovate
from tests.integration.test_tradovate_faults import (
    HEALTHY,
    TV,
    copy_once,
    credentials,
    follower,
    setup_group,
)
from tests.pipeline import Pipeline
from tradecopier.brokers.registry import clear_cache


@pytest.fixture
def tv() -> Iterator[FakeTradovate]:
    clear_cache()
    server = fake_tradovate()
    server.set_market_price(str(server.contract("NQ")["name"]), 21450.25)
    yield server
    server.stop()
    clear_cache()


def group_view(pipeline: Pipeline, group_id: str) -> dict[str, Any]:
    reply = pipeline.call("GET", f"/groups/{group_id}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def test_paper_accounts_carry_a_null_connection(pipeline: Pipeline) -> None:
    group_id, _ = pipeline.create_group()
    pipeline.add_follower(group_id, HEALTHY)
    pipeline.call("GET", f"/accounts/{HEALTHY}/connection")
    group = group_view(pipeline, group_id)
    assert group["leader"]["connection"] is None
    assert [f["connection"] for f in group["followers"]] == [None]
    assert follower(pipeline, group_id, HEALTHY)["connection"] is None


def test_the_connection_check_is_kept_on_the_follower(pipeline: Pipeline, tv: FakeTradovate) -> None:
    group_id, token, symbol = setup_group(pipeline, tv)
    assert follower(pipeline, group_id)["connection"] is None  # nothing known yet
    checked = pipeline.call("GET", f"/accounts/{TV}/connection").body
    kept = follower(pipeline, group_id)["connection"]
    assert kept["status"] == "connected" and kept["detail"] == checked["detail"], kept
    in_group = next(f for f in group_view(pipeline, group_id)["followers"] if f["account_id"] == TV)
    assert in_group["connection"] == kept
    # A copy to a broker known to be connected writes no status again (same checked_at).
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[TV]["status"] == "placed"
    assert follower(pipeline, group_id)["connection"] == kept


def test_the_executor_notes_unreachable_then_connected_again(pipeline: Pipeline, tv: FakeTradovate) -> None:
    group_id, token, symbol = setup_group(pipeline, tv)
    tv.fail_next("order/placeorder", "http500")  # the first attempt fails, the second places
    assert pipeline.send(group_id, token, **samples.market("E-1", "L-1", symbol=symbol)).status == 202
    pipeline.deliver_once()
    down = follower(pipeline, group_id)["connection"]
    assert down["status"] == "unreachable" and "500" in down["detail"], down
    pipeline.deliver()
    assert pipeline.copies(group_id, "E-1")[TV]["status"] == "placed"
    assert follower(pipeline, group_id)["connection"]["status"] == "connected"


def test_a_lock_by_the_broker_carries_its_status(pipeline: Pipeline, tv: FakeTradovate) -> None:
    group_id, token, symbol = setup_group(pipeline, tv, password="wrong")
    copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    state = follower(pipeline, group_id)
    assert state["state"] == "locked" and state["connection"]["status"] == "auth_failed", state
    assert "wrong" not in str(state["connection"])
    assert (
        pipeline.call("PUT", "/accounts/TV-2/credentials", credentials(tv, broker_account="NOPE")).status
        == 200
    )
    pipeline.add_follower(group_id, "TV-2", broker="tradovate")
    copy_once(pipeline, group_id, token, samples.market("E-2", "L-2", symbol=symbol))
    assert follower(pipeline, group_id, "TV-2")["connection"]["status"] == "account_not_found"


def test_the_connection_check_is_kept_on_a_real_leader(pipeline: Pipeline, tv: FakeTradovate) -> None:
    assert pipeline.call("PUT", "/accounts/TV-L/credentials", credentials(tv)).status == 200
    created = pipeline.call(
        "POST", "/groups", {"name": "g", "leader": {"account_id": "TV-L", "broker": "tradovate"}}
    )
    assert created.status == 201 and created.body["leader"]["connection"] is None, created.body
    group_id = created.body["group_id"]
    pipeline.call("GET", "/accounts/TV-L/connection")
    leader = group_view(pipeline, group_id)["leader"]
    assert leader["account_id"] == "TV-L" and leader["connection"]["status"] == "connected", leader
