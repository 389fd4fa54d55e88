"""``GET /groups/{group_id}/positions`` through the admin handler: every follower's positions in one
call, the same as the per-account route gives; a follower whose broker is down or slow gets an
``error`` and the others are still answered."""

from __future__ import annotations

from typing import Any

import pytest

from devstack import samples
from devstack.brokers.tradovate import FakeTradovate
from tests.integration.test_tradovate_faults import HEALTHY, TV, copy_once, setup_group
from tests.integration.test_tradovate_faults import fake as fake
from tests.pipeline import Pipeline
from tradecopier.logic import board


def group_positions(pipeline: Pipeline, group_id: str) -> dict[str, dict[str, Any]]:
    reply = pipeline.call("GET", f"/groups/{group_id}/positions")
    assert reply.status == 200, reply.body
    assert reply.body["group_id"] == group_id
    return {entry["account_id"]: entry for entry in reply.body["followers"]}


def test_every_follower_as_the_per_account_route_gives_it(pipeline: Pipeline, fake: FakeTradovate) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    flat = "EVAL-FLAT"
    pipeline.add_follower(group_id, flat)
    entries = group_positions(pipeline, group_id)
    in_group = [f["account_id"] for f in pipeline.call("GET", f"/groups/{group_id}").body["followers"]]
    assert list(entries) == in_group and sorted(in_group) == sorted([TV, HEALTHY, flat])  # its order
    for account_id, broker in ((TV, "tradovate"), (HEALTHY, "paper"), (flat, "paper")):
        one = pipeline.call("GET", f"/accounts/{account_id}/positions").body["positions"]
        assert entries[account_id] == {
            "account_id": account_id,
            "broker": broker,
            "positions": one,
            "error": None,
        }
    assert [p["qty"] for p in entries[TV]["positions"]] == [2]
    assert entries[flat]["positions"] == []


def test_a_broker_that_is_down_is_that_followers_error_only(pipeline: Pipeline, fake: FakeTradovate) -> None:
    group_id, _, _ = setup_group(pipeline, fake, api_url="http://127.0.0.1:9/v1")  # nothing listens
    entries = group_positions(pipeline, group_id)
    assert entries[TV]["positions"] is None
    assert entries[TV]["error"].startswith(f"the broker of {TV} could not be reached: "), entries[TV]
    assert entries[HEALTHY] == {"account_id": HEALTHY, "broker": "paper", "positions": [], "error": None}


def test_a_broker_that_does_not_answer_in_time_is_not_waited_for(
    pipeline: Pipeline, fake: FakeTradovate, monkeypatch: pytest.MonkeyPatch
) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    monkeypatch.setattr(board, "WAIT_S", 0.5)
    fake.fail_next("position/list", "timeout", delay=2.0)
    entries = group_positions(pipeline, group_id)
    assert entries[TV]["positions"] is None
    assert entries[TV]["error"] == f"the broker of {TV} did not answer within 0.5 s"
    assert [p["qty"] for p in entries[HEALTHY]["positions"]] == [2]


def test_an_unknown_group_is_404(pipeline: Pipeline) -> None:
    reply = pipeline.call("GET", "/groups/g-nosuchgroup0/positions")
    assert reply.status == 404 and reply.body["error"]["code"] == "not_found"
