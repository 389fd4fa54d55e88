"""End-to-end: the local stack (``python -m devstack`` as a child process) copies a paper
leader's event onto a follower whose broker is a fake real broker (ProjectX's gateway, Tradovate's
REST API; servers in this test process, reached over real sockets), next to a paper follower.
The broker's own records are read back: exactly one order, tagged with the copy's client order id."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devstack.samples import market
from tests.e2e.conftest import Api, uid
from tests.integration.test_broker_conformance import (
    PX_ACCOUNT,
    PX_KEY,
    PX_USER,
    fake_projectx,
    fake_tradovate,
    projectx_orders,
)
from tradecopier.brokers.projectx.parsing import symbol_of

pytestmark = pytest.mark.e2e


@dataclass
class RealBroker:
    name: str
    symbol: str  # the API's symbol of the contract the fake trades
    credentials: dict[str, Any]  # the PUT /accounts/{id}/credentials body
    tags: Callable[[], list[str]]  # the client order ids of the orders at the broker, in order
    stop: Callable[[], None]


def _projectx() -> RealBroker:
    fake = fake_projectx()
    contract_id = fake.contract_id("NQ")
    fake.set_market_price(contract_id, 21450.25)
    body = {
        "broker": "projectx",
        "api_url": fake.base_url,
        "username": PX_USER,
        "api_key": PX_KEY,
        "broker_account": PX_ACCOUNT,
    }
    tags = lambda: [o["customTag"] for o in projectx_orders(fake)]  # noqa: E731
    return RealBroker("projectx", symbol_of(contract_id), body, tags, fake.stop)


def _tradovate() -> RealBroker:
    fake = fake_tradovate()
    symbol = str(fake.contract("NQ")["name"])
    fake.set_market_price(symbol, 21450.25)
    body = {
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

    def tags() -> list[str]:
        # clOrdId is only a tag and not on Order (tradovate.md §3.12): the copier's id is the text
        # of each order's first version.
        versions = fake.snapshot("alice")["orderVersions"]
        first: dict[int, str] = {}
        for version in sorted(versions, key=lambda v: v["id"]):
            first.setdefault(version["orderId"], version.get("text"))
        return [first[order_id] for order_id in sorted(first)]

    return RealBroker("tradovate", symbol, body, tags, fake.stop)


@pytest.fixture(params=[_projectx, _tradovate], ids=["projectx", "tradovate"])
def real_broker(request: pytest.FixtureRequest) -> Iterator[RealBroker]:
    broker: RealBroker = request.param()
    yield broker
    broker.stop()


def test_a_leader_event_is_copied_onto_a_real_broker_follower(api: Api, real_broker: RealBroker) -> None:
    symbol, name = real_broker.symbol, real_broker.name
    real, paper = uid(name[:2].upper()), uid("EVAL")
    stored = api.ok("PUT", f"/accounts/{real}/credentials", real_broker.credentials)
    assert stored["broker"] == name and not {"api_key", "password", "sec"} & set(stored)
    assert api.ok("GET", f"/accounts/{real}/connection")["status"] == "connected"
    group_id, token, leader = api.group()
    # No staleness limit: on a loaded machine the local stack can take longer than the default 10 s.
    api.follower(group_id, real, broker=name, max_delay_ms=None)
    api.follower(group_id, paper, max_delay_ms=None)

    event_id = uid("E")
    assert api.send(group_id, token, market(event_id, "L-1", symbol=symbol)).status_code == 202
    copies = api.wait_final(group_id, event_id, timeout=60)
    assert copies[real]["status"] == "placed" and copies[paper]["status"] == "placed", copies
    assert api.positions(real) == {symbol: 2}
    [order] = api.orders(real)
    assert order["client_order_id"] == copies[real]["client_order_id"] and order["status"] == "filled"
    assert real_broker.tags() == [copies[real]["client_order_id"]]
    assert api.orders(leader) == []
    follower = api.ok("GET", f"/groups/{group_id}/followers/{real}")
    assert follower["connection"]["status"] == "connected"  # the last known status, shown
