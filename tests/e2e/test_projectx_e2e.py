"""End-to-end: the local stack (``python -m devstack`` as a child process) copies a paper
leader's event onto a follower whose broker is the fake ProjectX gateway (a server in this test
process, reached over a real socket), next to a paper follower."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.brokers.projectx import FakeProjectX
from devstack.samples import market
from tests.e2e.conftest import Api, uid
from tests.integration.test_broker_conformance import (
    PX_ACCOUNT,
    PX_KEY,
    PX_USER,
    fake_projectx,
    projectx_orders,
)
from tradecopier.brokers.projectx.parsing import symbol_of

pytestmark = pytest.mark.e2e


@pytest.fixture
def gateway() -> Iterator[FakeProjectX]:
    fake = fake_projectx()
    yield fake
    fake.stop()


def test_a_leader_event_is_copied_onto_a_projectx_follower(api: Api, gateway: FakeProjectX) -> None:
    contract_id = gateway.contract_id("NQ")
    gateway.set_market_price(contract_id, 21450.25)
    symbol = symbol_of(contract_id)
    px, paper = uid("PX"), uid("EVAL")
    stored = api.ok(
        "PUT",
        f"/accounts/{px}/credentials",
        {
            "broker": "projectx",
            "api_url": gateway.base_url,
            "username": PX_USER,
            "api_key": PX_KEY,
            "broker_account": PX_ACCOUNT,
        },
    )
    assert stored["broker"] == "projectx" and "api_key" not in stored
    assert api.ok("GET", f"/accounts/{px}/connection")["status"] == "connected"
    group_id, token, leader = api.group()
    # No staleness limit: on a loaded machine the local stack can take longer than the default 10 s.
    api.follower(group_id, px, broker="projectx", max_delay_ms=None)
    api.follower(group_id, paper, max_delay_ms=None)

    event_id = uid("E")
    assert api.send(group_id, token, market(event_id, "L-1", symbol=symbol)).status_code == 202
    copies = api.wait_final(group_id, event_id, timeout=60)
    assert copies[px]["status"] == "placed" and copies[paper]["status"] == "placed", copies
    assert api.positions(px) == {symbol: 2}
    [order] = api.orders(px)
    assert order["client_order_id"] == copies[px]["client_order_id"] and order["status"] == "filled"
    assert [o["customTag"] for o in projectx_orders(gateway)] == [copies[px]["client_order_id"]]
    assert api.orders(leader) == []
