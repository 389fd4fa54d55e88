"""``python -m devstack --fake-brokers``: the credentials bodies it prints are accepted as they are,
and the connection route says each fake account is connected (ports 0 here: tests run side by side)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from devstack import fakes
from devstack.__main__ import _parse
from tests.pipeline import Pipeline
from tradecopier.brokers.registry import clear_cache


@pytest.fixture
def brokers() -> Iterator[fakes.FakeBrokers]:
    clear_cache()
    running = fakes.FakeBrokers(projectx_port=0, projectx_hub_port=0, tradovate_port=0, tradovate_ws_port=0)
    running.start()
    yield running
    running.stop()
    clear_cache()


def test_the_printed_bodies_connect(pipeline: Pipeline, brokers: fakes.FakeBrokers) -> None:
    summary = brokers.summary()
    for broker, account_id in (("projectx", "PX-1"), ("tradovate", "TV-1")):
        body = brokers.credentials[broker]
        assert json.dumps(body) in summary  # ready to paste
        assert pipeline.call("PUT", f"/accounts/{account_id}/credentials", body).status == 200
        connection = pipeline.call("GET", f"/accounts/{account_id}/connection").body
        assert connection["status"] == "connected" and connection["broker"] == broker, connection


def test_the_flag_and_fixed_ports() -> None:
    assert _parse(["--fake-brokers"]).fake_brokers and not _parse([]).fake_brokers
    ports = {fakes.PROJECTX_PORT, fakes.PROJECTX_HUB_PORT, fakes.TRADOVATE_PORT, fakes.TRADOVATE_WS_PORT}
    assert len(ports) == 4


def test_a_projectx_leader_is_streamed_through_the_printed_body(
    pipeline: Pipeline, brokers: fakes.FakeBrokers
) -> None:
    """``make dev FAKES=1`` serves the ProjectX user hub beside the gateway, and the printed body
    names it (``rtc_url``): a ProjectX leader stored with that body is followed by the listener, and
    an order the trader places in that account is copied."""
    from listener import health
    from listener.app import ListenerApp
    from listener.settings import ListenerSettings
    from tests.integration.listener_world import FOLLOWER, ListenerWorld

    body = brokers.credentials["projectx"]
    assert body["rtc_url"] == brokers.projectx_hub.url and body["rtc_url"] in brokers.summary()
    assert pipeline.call("PUT", "/accounts/PX-L/credentials", body).status == 200
    created = pipeline.call(
        "POST", "/groups", {"name": "fakes", "leader": {"account_id": "PX-L", "broker": "projectx"}}
    )
    assert created.status == 201, created.body
    group_id = created.body["group_id"]
    pipeline.add_follower(group_id, FOLLOWER)
    fake, hub = brokers.projectx, brokers.projectx_hub
    fake.set_market_price(fake.contract_id("NQ"), 21450.25)
    health.reset()

    class World(ListenerWorld):
        def streams_ready(self) -> bool:
            return hub.subscribed_sockets() == 1 and health.connected_count() == (1, 0)

    world = World(pipeline, group_id, ListenerApp.build(ListenerSettings.from_env()))
    world.start_listener()
    try:
        order_id = _trader_buys_one(
            fake.base_url, body["username"], body["broker_account"], fake.contract_id("NQ")
        )
        assert world.copied(f"px-{order_id}-placed")["status"] == "placed"
    finally:
        world.kill_all()


def _trader_buys_one(base: str, username: str, account_name: str, contract: str) -> int:
    """A market order placed by the demo user's own platform session (the fixed demo key)."""
    import requests

    http = requests.Session()
    login = {"userName": username, "apiKey": fakes.PROJECTX_API_KEY}
    token = http.post(f"{base}/api/Auth/loginKey", json=login, timeout=5).json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    accounts = http.post(f"{base}/api/Account/search", json={"onlyActiveAccounts": True}, timeout=5).json()
    account_id = next(a["id"] for a in accounts["accounts"] if a["name"] == account_name)
    order = {"accountId": account_id, "contractId": contract, "type": 2, "side": 0, "size": 1}  # market buy
    answer = http.post(f"{base}/api/Order/place", json=order, timeout=5).json()
    assert answer["success"], answer
    return int(answer["orderId"])
