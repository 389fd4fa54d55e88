"""The ProjectX adapter through the whole pipeline (ingest → SQS → executor) against the fake,
with its fault knobs; a healthy paper follower copies alongside every time (the helpers are the
Tradovate fault tests'). Also the connection route and the broker's own positions/orders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack import samples
from devstack.brokers.projectx import FakeProjectX
from tests.integration.test_broker_conformance import (
    PX_ACCOUNT,
    PX_KEY,
    PX_USER,
    fake_projectx,
    projectx_orders,
)
from tests.integration.test_tradovate_faults import HEALTHY, copy_once, follower
from tests.pipeline import Pipeline
from tradecopier.brokers.projectx.parsing import symbol_of
from tradecopier.brokers.registry import clear_cache
from tradecopier.brokers.tokens import _caches

PX = "PX-1"
PLACE = "/api/Order/place"


@pytest.fixture
def fake() -> Iterator[FakeProjectX]:
    clear_cache()
    server = fake_projectx()
    server.set_market_price(server.contract_id("NQ"), 21450.25)
    yield server
    server.stop()
    clear_cache()


def credentials(fake: FakeProjectX, **override: Any) -> dict[str, Any]:
    return {
        "broker": "projectx",
        "api_url": fake.base_url,
        "username": PX_USER,
        "api_key": PX_KEY,
        "broker_account": PX_ACCOUNT,
        **override,
    }


def setup_group(pipeline: Pipeline, fake: FakeProjectX, **override: Any) -> tuple[str, str, str]:
    assert pipeline.call("PUT", f"/accounts/{PX}/credentials", credentials(fake, **override)).status == 200
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, PX, broker="projectx")
    pipeline.add_follower(group_id, HEALTHY)
    return group_id, token, symbol_of(fake.contract_id("NQ"))


def logins() -> int:
    return sum(cache.logins for key, cache in _caches.items() if key[0] == "projectx")


def test_a_copy_reaches_projectx_and_reads_back(pipeline: Pipeline, fake: FakeProjectX) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[PX]["status"] == "placed", copies[PX]
    assert pipeline.positions(PX) == {symbol: 2}
    orders = pipeline.orders(PX)
    assert [o["client_order_id"] for o in orders] == [copies[PX]["client_order_id"]]
    assert [o["customTag"] for o in projectx_orders(fake)] == [copies[PX]["client_order_id"]]


@pytest.mark.parametrize(("kind", "delay"), [("timeout", 5.6), ("drop_after_apply", None)])
def test_timeout_after_the_broker_accepted_places_no_duplicate(
    pipeline: Pipeline, fake: FakeProjectX, kind: str, delay: float | None
) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    fake.fail_next(PLACE, kind, delay=delay)  # type: ignore[arg-type]  # applied, the answer lost
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[PX]["status"] == "placed", copies[PX]
    assert len(projectx_orders(fake)) == 1
    assert pipeline.positions(PX) == {symbol: 2}


def test_rate_limit_then_success(pipeline: Pipeline, fake: FakeProjectX) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    fake.fail_next(PLACE, "rate_limit")
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[PX]["status"] == "placed" and copies[PX]["attempts"] == 2, copies[PX]
    assert len(projectx_orders(fake)) == 1 and pipeline.positions(PX) == {symbol: 2}


def test_token_expired_mid_run_is_renewed_by_one_login(pipeline: Pipeline, fake: FakeProjectX) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    before = logins()
    fake.expire_tokens()
    copies = copy_once(pipeline, group_id, token, samples.market("E-2", "L-2", symbol=symbol))
    assert copies[PX]["status"] == "placed" and copies[PX]["attempts"] == 1, copies[PX]
    assert logins() == before + 1
    assert len(projectx_orders(fake)) == 2


def test_broker_down_past_the_last_attempt_locks_the_follower(pipeline: Pipeline, fake: FakeProjectX) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    fake.fail_next(PLACE, "http500", count=3)  # FOLLOWER_MAX_RECEIVE_COUNT
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[PX]["status"] == "failed", copies[PX]
    state = follower(pipeline, group_id, PX)
    assert state["state"] == "locked" and "HTTP 500" in state["lock_reason"], state
    assert projectx_orders(fake) == []


def test_rejected_order_is_rejected_with_the_brokers_words(pipeline: Pipeline, fake: FakeProjectX) -> None:
    group_id, token, symbol = setup_group(pipeline, fake)
    fake.set_market_open(False)
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[PX]["status"] == "rejected" and copies[PX]["attempts"] == 1, copies[PX]
    assert "Outside of trading hours." in copies[PX]["reason"], copies[PX]
    assert "OutsideTradingHours" in copies[PX]["reason"]
    assert follower(pipeline, group_id, PX)["state"] == "active"


def test_refused_login_locks_the_follower_with_auth_failed_at_once(
    pipeline: Pipeline, fake: FakeProjectX
) -> None:
    group_id, token, symbol = setup_group(pipeline, fake, api_key="wrong-key")
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[PX]["status"] == "failed" and copies[PX]["attempts"] == 1, copies[PX]
    state = follower(pipeline, group_id, PX)
    assert state["state"] == "locked" and state["lock_reason"].startswith("auth_failed: "), state
    assert "InvalidCredentials" in state["lock_reason"]
    assert "wrong-key" not in str(state) and "wrong-key" not in str(copies)


def test_unknown_broker_account_joins_but_its_copies_lock_it(pipeline: Pipeline, fake: FakeProjectX) -> None:
    group_id, token, symbol = setup_group(pipeline, fake, broker_account="PRAC-NOPE")
    connection = pipeline.call("GET", f"/accounts/{PX}/connection").body
    assert connection["status"] == "account_not_found", connection
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[PX]["status"] == "failed", copies[PX]
    assert follower(pipeline, group_id, PX)["lock_reason"].startswith("account_not_found: ")


def test_connection_route(pipeline: Pipeline, fake: FakeProjectX) -> None:
    assert pipeline.call("PUT", f"/accounts/{PX}/credentials", credentials(fake)).status == 200
    ok = pipeline.call("GET", f"/accounts/{PX}/connection")
    assert ok.status == 200 and ok.body["status"] == "connected" and ok.body["broker"] == "projectx", ok.body
    assert PX_ACCOUNT in ok.body["detail"]
    bad = {"api_key": "nope"}
    assert pipeline.call("PUT", "/accounts/PX-2/credentials", credentials(fake, **bad)).status == 200
    assert pipeline.call("GET", "/accounts/PX-2/connection").body["status"] == "auth_failed"
    down = {"api_url": "http://127.0.0.1:9"}
    assert pipeline.call("PUT", "/accounts/PX-3/credentials", credentials(fake, **down)).status == 200
    assert pipeline.call("GET", "/accounts/PX-3/connection").body["status"] == "unreachable"
    for route in ("positions", "orders"):
        reply = pipeline.call("GET", f"/accounts/PX-3/{route}")
        assert (reply.status, reply.body["error"]["code"]) == (502, "broker_unreachable"), reply.body
    assert pipeline.call("GET", f"/accounts/{PX}/positions").body["positions"] == []
    assert pipeline.call("GET", f"/accounts/{PX}/orders").body["orders"] == []
