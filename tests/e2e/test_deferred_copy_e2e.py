"""End-to-end: a copy deferred by the broker's own wait, on the local stack (``python -m devstack``
as a child process; the fake Tradovate in this test process, reached over real sockets).

Fake Tradovate answers the placement with a penalty (``p-ticket`` + ``p-time``, HTTP 200, not
applied; its ``fail_next(..., "penalty")`` knob, from shared/brokers/tradovate.md §4.2) longer than
the executor waits inline (2 s). The executor does not sleep it out: the copy stays ``pending`` with
the reason, its follower-queue message is made invisible as long as the broker asked
(ChangeMessageVisibility), the follower stays active and is not called unreachable, and the
message comes back no earlier than asked: one order at the broker, tagged with the copy's client
order id — placed exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from devstack.brokers.tradovate import FakeTradovate
from devstack.samples import market
from tests.e2e.conftest import Api, uid
from tests.integration.test_broker_conformance import fake_tradovate
from tradecopier.logic.executor import INLINE_WAIT_MAX_S

pytestmark = pytest.mark.e2e

PENALTY_S = 8  # > the executor's inline limit (2 s) and the adapter's own (3 s); < the queue's 10 s


@pytest.fixture
def tradovate() -> Iterator[FakeTradovate]:
    fake = fake_tradovate()
    yield fake
    fake.stop()


def _credentials(fake: FakeTradovate) -> dict[str, Any]:
    return {
        "broker": "tradovate",
        "environment": "demo",
        "api_url": fake.base_url,
        "username": "alice",
        "password": "pw-1",
        "app_id": "copier",
        "app_version": "1.0",
        "cid": 8,
        "sec": "s3cr3t",
        "broker_account": "DEMO3701228",
    }


def _order_tags(fake: FakeTradovate) -> list[str]:
    """The copier's id of every order at the broker: the text of each order's first version."""
    first: dict[int, str] = {}
    for version in sorted(fake.snapshot("alice")["orderVersions"], key=lambda v: v["id"]):
        first.setdefault(version["orderId"], version.get("text"))
    return [first[order_id] for order_id in sorted(first)]


def _at(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_a_penalty_longer_than_the_inline_wait_defers_the_copy_which_is_placed_once(
    api: Api, tradovate: FakeTradovate
) -> None:
    assert PENALTY_S > INLINE_WAIT_MAX_S
    symbol = str(tradovate.contract("NQ")["name"])
    tradovate.set_market_price(symbol, 21450.25)
    real, paper = uid("TV"), uid("EVAL")
    api.ok("PUT", f"/accounts/{real}/credentials", _credentials(tradovate))
    assert api.ok("GET", f"/accounts/{real}/connection")["status"] == "connected"
    group_id, token, leader = api.group()
    api.follower(group_id, real, broker="tradovate", max_delay_ms=None)
    api.follower(group_id, paper, max_delay_ms=None)

    tradovate.fail_next("order/placeorder", "penalty", p_time=PENALTY_S)
    event_id = uid("E")
    sent = time.time()
    assert api.send(group_id, token, market(event_id, "L-1", symbol=symbol)).status_code == 202

    # Meanwhile: pending, with the broker's wait as the reason; the follower is not held against it.
    seen: list[tuple[float, str, str | None, int | None]] = []

    def deferred(copies: dict[str, dict[str, Any]]) -> bool:
        copy = copies[real]
        seen.append((round(time.time() - sent, 1), copy["status"], copy.get("reason"), copy.get("attempts")))
        return copy["status"] != "pending" or "penalty" in (copy.get("reason") or "")

    copies = api.wait_final(group_id, event_id, timeout=90, done=deferred)
    assert copies[real]["status"] == "pending", seen
    assert f"retry after {PENALTY_S} s" in copies[real]["reason"], seen
    follower = api.ok("GET", f"/groups/{group_id}/followers/{real}")
    assert follower["state"] == "active", follower
    assert (follower.get("connection") or {}).get("status") != "unreachable", follower
    assert _order_tags(tradovate) == []  # the penalised placement was not applied

    copies = api.wait_final(group_id, event_id, timeout=90)
    copy = copies[real]
    assert copy["status"] == "placed" and copy["attempts"] == 2, copy
    assert copies[paper]["status"] == "placed", copies[paper]
    assert _at(copy["updated_at"]) - sent >= PENALTY_S, copy  # it came back no earlier than asked
    assert _order_tags(tradovate) == [copy["client_order_id"]]  # exactly one order at the broker
    assert api.positions(real) == {symbol: 2}
    assert api.orders(leader) == []


def test_a_penalty_the_adapter_could_sleep_but_the_invocation_may_not_is_deferred_too(
    api: Api, tradovate: FakeTradovate
) -> None:
    """3 s: within the Tradovate adapter's own limit, past the executor's inline 2 s — deferred (the
    placement comes back on attempt 2), not slept inside the invocation (attempt 1)."""
    symbol = str(tradovate.contract("NQ")["name"])
    tradovate.set_market_price(symbol, 21450.25)
    real = uid("TV")
    api.ok("PUT", f"/accounts/{real}/credentials", _credentials(tradovate))
    group_id, token, _ = api.group()
    api.follower(group_id, real, broker="tradovate", max_delay_ms=None)

    tradovate.fail_next("order/placeorder", "penalty", p_time=3)
    event_id = uid("E")
    assert api.send(group_id, token, market(event_id, "L-1", symbol=symbol)).status_code == 202
    copy = api.wait_final(group_id, event_id, timeout=90)[real]
    assert copy["status"] == "placed" and copy["attempts"] == 2, copy
    assert _order_tags(tradovate) == [copy["client_order_id"]]
