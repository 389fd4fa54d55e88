"""The leader listener end to end against the fake ProjectX (REST gateway + SignalR user hub, real
sockets), through the real handlers, DynamoDB Local and moto: an order the trader places in the
leader account through the fake's REST API (as their platform would) is copied to a paper
follower; modify, cancel, fill and flatten likewise; and the hub's faults. Shares its world with
the Tradovate listener tests (``listener_world``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from devstack.brokers.projectx import FakeProjectX
from devstack.brokers.projectx_hub import RS, FakeProjectXHub
from listener import health
from listener.app import ListenerApp
from listener.settings import ListenerSettings
from listener.streams import projectx as px_stream
from tests.integration.listener_world import FOLLOWER, ListenerWorld, wait_for
from tests.pipeline import Pipeline
from tradecopier.brokers.projectx.parsing import symbol_of
from tradecopier.brokers.registry import clear_cache

LEADER = "PX-L"
USER, KEY = "px-trader", "px-key-9"
LEAD_NAME, OTHER_NAME = "PRAC-V2-1-LEAD", "PRAC-V2-1-OTHER"
PRICE = 21450.25
MARKET, LIMIT, BUY, SELL = 2, 1, 0, 1


class Platform:
    """The trader's own platform: the fake gateway's REST API as the trader (its own token)."""

    def __init__(self, fake: FakeProjectX, account_name: str) -> None:
        self.fake, self.base, self.http = fake, fake.base_url, requests.Session()
        token = self.http.post(
            f"{self.base}/api/Auth/loginKey", json={"userName": USER, "apiKey": KEY}
        ).json()
        self.http.headers["Authorization"] = f"Bearer {token['token']}"
        accounts = self.post("Account/search", onlyActiveAccounts=True)["accounts"]
        self.account_id = next(a["id"] for a in accounts if a["name"] == account_name)
        self.contract = fake.contract_id("NQ")

    def post(self, path: str, **body: Any) -> dict[str, Any]:
        answer = dict(self.http.post(f"{self.base}/api/{path}", json=body, timeout=5).json())
        assert answer["success"], answer
        return answer

    def order(self, side: int, size: int, order_type: int = MARKET, **extra: Any) -> int:
        body = {"accountId": self.account_id, "contractId": self.contract, "type": order_type, **extra}
        return int(self.post("Order/place", side=side, size=size, **body)["orderId"])

    def modify(self, order_id: int, **changes: Any) -> None:
        self.post("Order/modify", accountId=self.account_id, orderId=order_id, **changes)

    def cancel(self, order_id: int) -> None:
        self.post("Order/cancel", accountId=self.account_id, orderId=order_id)

    def flatten(self) -> None:
        self.post("Position/closeContract", accountId=self.account_id, contractId=self.contract)


@dataclass
class World(ListenerWorld):
    fake: FakeProjectX = field(kw_only=True)
    hub: FakeProjectXHub = field(kw_only=True)
    platform: Platform = field(kw_only=True)

    def streams_ready(self) -> bool:
        return self.hub.subscribed_sockets() == 1 and health.connected_count() == (1, 0)  # snapshot taken


@pytest.fixture
def world(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clear_cache()
    health.reset()
    monkeypatch.setattr(px_stream, "SERVER_TIMEOUT_S", 0.0)  # the fake pings every 0.3 s
    fake = FakeProjectX()
    fake.add_user(USER, KEY)
    fake.add_account(USER, LEAD_NAME, auto_oco=True)
    fake.add_account(USER, OTHER_NAME)
    fake.start()
    fake.set_market_price(fake.contract_id("NQ"), PRICE)
    hub = FakeProjectXHub(fake, ping_s=0.3)
    hub.start()
    credentials = {
        "broker": "projectx",
        "api_url": fake.base_url,
        "rtc_url": hub.url,
        "username": USER,
        "api_key": KEY,
        "broker_account": LEAD_NAME,
    }
    assert pipeline.call("PUT", f"/accounts/{LEADER}/credentials", credentials).status == 200
    reply = pipeline.call(
        "POST", "/groups", {"name": "from topstepx", "leader": {"account_id": LEADER, "broker": "projectx"}}
    )
    assert reply.status == 201, reply.body
    group_id = reply.body["group_id"]
    pipeline.add_follower(group_id, FOLLOWER)
    app = ListenerApp.build(ListenerSettings.from_env())
    world = World(pipeline, group_id, app, fake=fake, hub=hub, platform=Platform(fake, LEAD_NAME))
    yield world
    world.kill_all()
    hub.stop()
    fake.stop()
    clear_cache()


def symbol(world: World) -> str:
    return symbol_of(world.platform.contract)  # CON.F.US.ENQ.Z26 → NQZ6


def test_a_market_order_in_the_leader_account_is_copied_to_the_follower(world: World) -> None:
    world.start_listener()
    assert world.hub.negotiations >= 1 and set(world.hub.invocations) >= set(px_stream.SUBSCRIPTIONS)
    order_id = world.platform.order(BUY, 2)
    placed = world.copied(f"px-{order_id}-placed")
    assert (placed["status"], placed["qty"]) == ("placed", 2), placed
    assert world.pipeline.positions(FOLLOWER) == {symbol(world): 2}
    fills = world.wait_ids(f"px-{order_id}-f")
    assert len(fills) == 1
    assert world.copied(fills[0])["status"] in ("placed", "skipped")
    assert world.pipeline.positions(FOLLOWER) == {symbol(world): 2}  # the fill adds nothing twice


def test_limit_modify_cancel_fill_and_flatten_are_copied(world: World) -> None:
    world.start_listener()
    platform = world.platform
    limit = platform.order(BUY, 1, LIMIT, limitPrice=21400.0)
    assert world.copied(f"px-{limit}-placed")["status"] == "placed"
    platform.modify(limit, limitPrice=21390.5)
    modified = world.wait_ids(f"px-{limit}-m")
    assert world.copied(modified[0])["status"] == "placed"
    working = [o["limit_price"] for o in world.pipeline.orders(FOLLOWER) if o["status"] == "working"]
    assert working == [21390.5]
    platform.cancel(limit)
    assert world.copied(f"px-{limit}-cancelled")["status"] == "placed"
    assert not [o for o in world.pipeline.orders(FOLLOWER) if o["status"] == "working"]

    resting = platform.order(BUY, 1, LIMIT, limitPrice=21440.0)
    assert world.copied(f"px-{resting}-placed")["status"] == "placed"
    world.fake.set_market_price(platform.contract, 21439.0)  # crosses: the leader's limit fills
    fills = world.wait_ids(f"px-{resting}-f")
    assert world.copied(fills[0])["status"] in ("placed", "skipped")

    platform.flatten()
    flat = world.wait_ids("px-flat-")
    assert world.copied(flat[0])["status"] in ("placed", "skipped")
    world.pipeline.deliver()
    assert world.pipeline.positions(FOLLOWER) == {}


def test_orders_while_the_hub_is_down_are_copied_once_after_reconnect(world: World) -> None:
    world.start_listener()
    world.hub.close_next_handshake(3)  # the reconnects fail mid-handshake for a while
    world.hub.drop()
    first = world.platform.order(BUY, 1)
    second = world.platform.order(BUY, 1, LIMIT, limitPrice=21000.0)
    assert world.copied(f"px-{first}-placed")["status"] == "placed"
    assert world.copied(f"px-{second}-placed")["status"] == "placed"
    assert health.COUNTS["reconnects"] >= 4
    world.pipeline.deliver()
    assert world.pipeline.positions(FOLLOWER) == {symbol(world): 1}
    ids = world.event_ids()
    assert len(ids) == len(set(ids)) and len([e for e in ids if e.endswith("-placed")]) == 2


def test_a_close_message_reconnects(world: World) -> None:
    world.start_listener()
    world.hub.close_all("Server restart")
    order_id = world.platform.order(SELL, 1)
    assert world.copied(f"px-{order_id}-placed")["status"] == "placed"
    assert health.COUNTS["reconnects"] >= 1


def test_listener_killed_and_restarted_misses_nothing_and_repeats_nothing(world: World) -> None:
    world.start_listener()
    before = world.platform.order(BUY, 1)
    assert world.copied(f"px-{before}-placed")["status"] == "placed"
    world.kill_listener()
    during = world.platform.order(BUY, 1, LIMIT, limitPrice=21000.0)
    world.start_listener()
    assert world.copied(f"px-{during}-placed")["status"] == "placed"
    time.sleep(0.5)
    assert health.COUNTS["events_duplicate"] == 0  # the persisted view: nothing was handed over twice
    placed = [e for e in world.event_ids() if e.endswith("-placed")]
    assert placed == sorted([f"px-{before}-placed", f"px-{during}-placed"])


def test_a_silent_hub_is_detected_and_reconnected(world: World) -> None:
    world.start_listener(silence_s=1.0, open_timeout_s=2.0)
    connections = world.hub.connections
    world.hub.go_silent()
    order_id = world.platform.order(BUY, 1)  # its events are lost on the silent socket
    wait_for(lambda: world.hub.connections > connections, "a new socket after the silence")
    world.hub.speak()
    assert world.copied(f"px-{order_id}-placed")["status"] == "placed"
    assert health.COUNTS["reconnects"] >= 1


def test_malformed_records_and_other_accounts_are_counted_never_a_crash(world: World) -> None:
    world.start_listener()
    other = Platform(world.fake, OTHER_NAME)
    other_order = other.order(BUY, 3)  # the hub only sends it if subscribed: inject it as if it were
    foreign = next(o for o in world.fake.orders(other.account_id) if o["id"] == other_order)
    unreadable = {"id": "NaN", "accountId": world.platform.account_id}
    for message in (
        "{nonsense",
        '"just a string"',
        '{"type":1,"target":"GatewayWeird","arguments":[1]}',
        json.dumps(
            {
                "type": 1,
                "target": "GatewayUserOrder",
                "arguments": [{"action": 1, "data": unreadable}],
            }
        ),
        json.dumps({"type": 1, "target": "GatewayUserOrder", "arguments": [{"action": 1, "data": foreign}]}),
    ):
        world.hub.inject(message + RS)
    order_id = world.platform.order(SELL, 1)
    assert world.copied(f"px-{order_id}-placed")["status"] == "placed"
    assert not [e for e in world.event_ids() if e.startswith(f"px-{other_order}")]
    counts = health.COUNTS
    assert counts["rejected_malformed_frame"] == 1 and counts["rejected_malformed_message"] == 1
    assert counts["rejected_unknown_message"] == 1 and counts["rejected_other_account"] >= 1
    assert counts["rejected_malformed_entity"] == 1
    assert world.hub.subscribed_sockets() == 1 and health.COUNTS["reconnects"] == 0


def test_orders_the_copier_placed_in_the_leader_account_never_become_events(world: World) -> None:
    world.start_listener()
    ours = world.platform.order(BUY, 1, customTag="tc-" + "a" * 40)
    theirs = world.platform.order(BUY, 1)
    assert world.copied(f"px-{theirs}-placed")["status"] == "placed"
    assert not [e for e in world.event_ids() if e.startswith(f"px-{ours}")]
    assert health.COUNTS["ours_skipped"] >= 1
