"""The Tradovate adapter through the whole pipeline (ingest → SQS → executor) against the fake,
with its fault knobs; a healthy paper follower copies alongside every time. Also the connection
route and the broker's own positions/orders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack import samples
from devstack.brokers.tradovate import FakeTradovate
from tests.integration.test_broker_conformance import fake_tradovate
from tests.pipeline import Pipeline
from tradecopier.brokers.registry import clear_cache

TV = "TV-1"
HEALTHY = "EVAL-1"


@pytest.fixture
def fake() -> Iterator[FakeTradovate]:
    clear_cache()
    server = fake_tradovate()
    server.set_market_price(str(server.contract("NQ")["name"]), 21450.25)
    yield server
    server.stop()
    clear_cache()


def credentials(fake: FakeTradovate, **override: Any) -> dict[str, Any]:
    return {
        "broker": "tradovate",
        "api_url": fake.base_url,
        "username": "alice",
        "password": "pw-1",
        "app_id": "copier",
        "cid": 8,
        "sec": "s3cr3t",
        "broker_account": "DEMO3701228",
        **override,
    }


def setup_group(pipeline: Pipeline, fake: FakeTradovate, **override: Any) -> tuple[str, str, str]:
    assert pipeline.call("PUT", f"/accounts/{TV}/credentials", credentials(fake, **override)).status == 200
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, TV, broker="tradovate")
    pipeline.add_follower(group_id, HEALTHY)
    return group_id, token, str(fake.contract("NQ")["name"])


def fake_orders(fake: FakeTradovate) -> list[dict[str, Any]]:
    return list(fake.snapshot("alice")["orders"])


def copy_once(
    pipeline: Pipeline, group_id: str, token: str, event: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    assert pipeline.send(group_id, token, **event).status == 202
    pipeline.deliver()
    copies = pipeline.copies(group_id, event["event_id"])
    assert copies[HEALTHY]["status"] == "placed", copies[HEALTHY]
    return copies


def follower(pipeline: Pipeline, group_id: str, account_id: str = TV) -> dict[str, Any]:
    return dict(pipeline.call("GET", f"/groups/{group_id}/followers/{account_id}").body)


def test_a_copy_reaches_tradovate_and_reads_back(pipeline: Pipeline, fake: FakeTradovate) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[TV]["status"] == "placed", copies[TV]
    assert pipeline.positions(TV) == {symbol: 2}
    orders = pipeline.orders(TV)
    assert [o["client_order_id"] for o in orders] == [copies[TV]["client_order_id"]]


def test_timeout_after_the_broker_accepted_places_no_duplicate(
    pipeline: Pipeline, fake: FakeTradovate
) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    fake.fail_next("order/placeorder", "timeout", delay=5.6)  # past the 5 s read timeout, then applied
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[TV]["status"] == "placed", copies[TV]
    assert len(fake_orders(fake)) == 1
    assert pipeline.positions(TV) == {symbol: 2}


def test_rate_limit_and_penalty_then_success(pipeline: Pipeline, fake: FakeTradovate) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    fake.fail_next("order/placeorder", "http429")
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[TV]["status"] == "placed" and copies[TV]["attempts"] == 2, copies[TV]
    fake.fail_next("order/placeorder", "penalty", p_time=0.3)  # waited out inline, resent with the ticket
    copies = copy_once(pipeline, group_id, token, samples.market("E-2", "L-2", symbol=symbol))
    assert copies[TV]["status"] == "placed" and copies[TV]["attempts"] == 1, copies[TV]
    assert len(fake_orders(fake)) == 2 and pipeline.positions(TV) == {symbol: 4}


def test_token_expired_mid_run_is_renewed_by_one_login(pipeline: Pipeline, fake: FakeTradovate) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    fake.expire_tokens()
    copies = copy_once(pipeline, group_id, token, samples.market("E-2", "L-2", symbol=symbol))
    assert copies[TV]["status"] == "placed" and copies[TV]["attempts"] == 1, copies[TV]
    assert fake.live_sessions("alice") <= 2


def test_broker_down_past_the_last_attempt_locks_the_follower(
    pipeline: Pipeline, fake: FakeTradovate
) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    for _ in range(3):  # FOLLOWER_MAX_RECEIVE_COUNT
        fake.fail_next("order/placeorder", "http500")
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[TV]["status"] == "failed", copies[TV]
    state = follower(pipeline, group_id)
    assert state["state"] == "locked" and "HTTP 500" in state["lock_reason"], state
    assert fake_orders(fake) == []


def test_rejected_order_is_rejected_with_the_brokers_words(pipeline: Pipeline, fake: FakeTradovate) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    fake.reject_next("MaxPosLimitReached", "Max position limit reached")
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[TV]["status"] == "rejected" and copies[TV]["attempts"] == 1, copies[TV]
    assert (
        "MaxPosLimitReached" in copies[TV]["reason"] and "Max position limit reached" in copies[TV]["reason"]
    )
    assert follower(pipeline, group_id)["state"] == "active"


@pytest.mark.parametrize("fault", ["wrong_password", "captcha"])
def test_refused_login_locks_the_follower_with_auth_failed_at_once(
    pipeline: Pipeline, fake: FakeTradovate, fault: str
) -> None:
    override = {"password": "wrong"} if fault == "wrong_password" else {}
    group_id, token, symbol = setup_group(pipeline, fake, **override)
    if fault == "captcha":
        fake.fail_next("auth/accesstokenrequest", "captcha")
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[TV]["status"] == "failed" and copies[TV]["attempts"] == 1, copies[TV]
    state = follower(pipeline, group_id)
    assert state["state"] == "locked" and state["lock_reason"].startswith("auth_failed: "), state
    assert "wrong" not in state["lock_reason"] and "pw-1" not in str(copies)


def test_unknown_broker_account_joins_but_its_copies_lock_it(pipeline: Pipeline, fake: FakeTradovate) -> None:
    group_id, token, symbol = setup_group(pipeline, fake, broker_account="DEMO-NOPE")
    connection = pipeline.call("GET", f"/accounts/{TV}/connection").body
    assert connection["status"] == "account_not_found", connection
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[TV]["status"] == "failed", copies[TV]
    assert follower(pipeline, group_id)["lock_reason"].startswith("account_not_found: ")


def test_connection_route(pipeline: Pipeline, fake: FakeTradovate) -> None:
    assert pipeline.call("PUT", f"/accounts/{TV}/credentials", credentials(fake)).status == 200
    ok = pipeline.call("GET", f"/accounts/{TV}/connection")
    assert ok.status == 200 and ok.body["status"] == "connected" and ok.body["broker"] == "tradovate", ok.body
    assert set(ok.body) == {"account_id", "broker", "status", "checked_at", "detail"}
    paper = pipeline.call("GET", f"/accounts/{HEALTHY}/connection").body
    assert paper["status"] == "simulated" and paper["broker"] == "paper"
    bad = {"password": "nope"}
    assert pipeline.call("PUT", "/accounts/TV-2/credentials", credentials(fake, **bad)).status == 200
    assert pipeline.call("GET", "/accounts/TV-2/connection").body["status"] == "auth_failed"
    down = {"api_url": "http://127.0.0.1:9/v1"}
    assert pipeline.call("PUT", "/accounts/TV-3/credentials", credentials(fake, **down)).status == 200
    assert pipeline.call("GET", "/accounts/TV-3/connection").body["status"] == "unreachable"
    for route in ("positions", "orders"):
        reply = pipeline.call("GET", f"/accounts/TV-3/{route}")
        assert (reply.status, reply.body["error"]["code"]) == (502, "broker_unreachable"), reply.body
    assert pipeline.call("GET", f"/accounts/{TV}/positions").body["positions"] == []
