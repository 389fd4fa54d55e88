"""The leader listener end to end against the fake Tradovate (REST + user-sync websocket, real
sockets), through the real handlers, DynamoDB Local and moto: an order the trader places in the
leader account through the fake's own REST API (as their platform would) is copied to a paper
follower; modify, cancel, fill, bracket and flatten likewise; and the faults of the brief.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import requests

from devstack.brokers.tradovate import FakeTradovate
from devstack.brokers.tradovate_ws import FakeTradovateSocket
from listener import health
from listener.app import ListenerApp
from listener.settings import ListenerSettings
from tests.integration.listener_world import FOLLOWER, ListenerWorld, wait_for
from tests.pipeline import Pipeline
from tradecopier.brokers.registry import clear_cache
from tradecopier.brokers.tradovate.contracts import clear_contracts

LEADER = "TV-L"
LEAD_NAME, OTHER_NAME = "DEMO-LEAD1", "DEMO-OTHER1"
TRADER = {
    "name": "trader",
    "password": "pw-2",
    "appId": "platform",
    "appVersion": "1.0",
    "cid": 9,
    "sec": "s2",
}
PRICE = 21450.25


class Platform:
    """The trader's own platform: the fake's REST API as the trader (its own session)."""

    def __init__(self, fake: FakeTradovate, account_name: str, http: requests.Session | None = None) -> None:
        self.fake, self.base = fake, fake.base_url
        self.http = http or self.login(requests.Session())
        accounts = self.http.get(f"{self.base}/account/list", timeout=5).json()
        self.account = next(a for a in accounts if a["name"] == account_name)
        self.symbol = str(fake.contract("NQ")["name"])

    def login(self, http: requests.Session) -> requests.Session:
        """One session of the trader's two (the listener holds the other)."""
        reply = http.post(f"{self.base}/auth/accesstokenrequest", json=TRADER, timeout=5).json()
        http.headers["Authorization"] = f"Bearer {reply['accessToken']}"
        return http

    def other_account(self, account_name: str) -> Platform:
        return Platform(self.fake, account_name, self.http)

    def post(self, path: str, **body: Any) -> dict[str, Any]:
        reply = self.http.post(f"{self.base}/{path}", json=body, timeout=5)
        if reply.status_code == 401:  # the platform's own token expired: it logs in again
            reply = self.login(self.http).post(f"{self.base}/{path}", json=body, timeout=5)
        answer = reply.json()
        assert "failureReason" not in answer and "errorText" not in answer, answer
        return dict(answer)

    def order(self, action: str, qty: int, order_type: str = "Market", **extra: Any) -> int:
        body = {
            "accountSpec": self.account["name"],
            "accountId": self.account["id"],
            "action": action,
            "symbol": self.symbol,
            "orderQty": qty,
            "orderType": order_type,
            "isAutomated": False,
            **extra,
        }
        return int(self.post("order/placeorder", **body)["orderId"])

    def bracket(
        self, action: str, qty: int, price: float, take_profit: float, stop_loss: float
    ) -> dict[str, Any]:
        exit_action = "Sell" if action == "Buy" else "Buy"
        return self.post(
            "order/placeoso",
            accountSpec=self.account["name"],
            accountId=self.account["id"],
            action=action,
            symbol=self.symbol,
            orderQty=qty,
            orderType="Limit",
            price=price,
            isAutomated=False,
            bracket1={"action": exit_action, "orderType": "Limit", "price": take_profit},
            bracket2={"action": exit_action, "orderType": "Stop", "stopPrice": stop_loss},
        )

    def modify(self, order_id: int, qty: int, price: float) -> None:
        self.post(
            "order/modifyorder",
            orderId=order_id,
            orderQty=qty,
            orderType="Limit",
            price=price,
            isAutomated=False,
        )

    def cancel(self, order_id: int) -> None:
        self.post("order/cancelorder", orderId=order_id, isAutomated=False)

    def flatten(self) -> None:
        contract = self.fake.contract("NQ")
        self.post(
            "order/liquidateposition", accountId=self.account["id"], contractId=contract["id"], admin=False
        )


@dataclass
class World(ListenerWorld):
    fake: FakeTradovate = field(kw_only=True)
    socket: FakeTradovateSocket = field(kw_only=True)
    platform: Platform = field(kw_only=True)

    def streams_ready(self) -> bool:
        return self.socket.synced_sockets() == 1


@pytest.fixture
def world(pipeline: Pipeline, request: pytest.FixtureRequest) -> Iterator[World]:
    clear_cache()
    clear_contracts()
    health.reset()
    lifetime_s = getattr(request, "param", 90 * 60)  # parametrised indirectly: the token lifetime
    fake = FakeTradovate(token_lifetime=timedelta(seconds=lifetime_s))
    user = fake.add_user(TRADER["name"], TRADER["password"], app_id="platform", cid=9, sec="s2")
    fake.add_account(user, LEAD_NAME, balance=50_000)
    fake.add_account(user, OTHER_NAME, balance=50_000)
    fake.start()
    fake.set_market_price(str(fake.contract("NQ")["name"]), PRICE)
    socket = FakeTradovateSocket(fake, heartbeat_s=0.3)
    socket.start()
    credentials = {
        "broker": "tradovate",
        "api_url": fake.base_url,
        "ws_url": socket.url,
        "username": "trader",
        "password": "pw-2",
        "app_id": "platform",
        "cid": 9,
        "sec": "s2",
        "broker_account": LEAD_NAME,
    }
    assert pipeline.call("PUT", f"/accounts/{LEADER}/credentials", credentials).status == 200
    reply = pipeline.call(
        "POST",
        "/groups",
        {"name": "from the broker", "leader": {"account_id": LEADER, "broker": "tradovate"}},
    )
    assert reply.status == 201, reply.body
    group_id = reply.body["group_id"]
    pipeline.add_follower(group_id, FOLLOWER)
    app = ListenerApp.build(ListenerSettings.from_env())
    world = World(pipeline, group_id, app, fake=fake, socket=socket, platform=Platform(fake, LEAD_NAME))
    yield world
    world.kill_all()
    socket.stop()
    fake.stop()
    clear_cache()
    clear_contracts()


def test_a_market_order_in_the_leader_account_is_copied_to_the_follower(world: World) -> None:
    world.start_listener()
    order_id = world.platform.order("Buy", 2)
    placed = world.copied(f"tv-{order_id}-placed")
    assert (placed["status"], placed["qty"]) == ("placed", 2), placed
    assert world.pipeline.positions(FOLLOWER) == {world.platform.symbol: 2}
    fills = [e for e in world.event_ids() if e.startswith(f"tv-{order_id}-f")]
    assert len(fills) == 1
    assert world.copied(fills[0])["status"] in ("placed", "skipped")
    assert world.pipeline.positions(FOLLOWER) == {world.platform.symbol: 2}  # the fill adds nothing twice


def test_limit_modify_cancel_bracket_and_flatten_are_copied(world: World) -> None:
    world.start_listener()
    platform, symbol = world.platform, world.platform.symbol
    limit = platform.order("Buy", 1, "Limit", price=21400.0)
    assert world.copied(f"tv-{limit}-placed")["status"] == "placed"
    platform.modify(limit, 1, 21390.5)
    modified = [e for e in world.wait_ids(f"tv-{limit}-m")]
    assert world.copied(modified[0])["status"] == "placed"
    assert [o["limit_price"] for o in world.pipeline.orders(FOLLOWER) if o["status"] == "working"] == [
        21390.5
    ]
    platform.cancel(limit)
    assert world.copied(f"tv-{limit}-cancelled")["status"] == "placed"
    assert not [o for o in world.pipeline.orders(FOLLOWER) if o["status"] == "working"]

    oso = platform.bracket("Buy", 1, 21460.0, 21500.0, 21400.0)
    entry = world.copied(f"tv-{oso['orderId']}-placed")
    assert entry["status"] == "placed", entry
    event = world.pipeline.event(world.group_id, f"tv-{oso['orderId']}-placed")["event"]
    assert event["take_profit"] == {"order_id": str(oso["oso1Id"]), "price": 21500.0}
    assert event["stop_loss"] == {"order_id": str(oso["oso2Id"]), "price": 21400.0}
    # The leader's entry filled at once (the market is at 21450.25); its fill event marks the
    # follower's market, and that mark fills the follower's working entry (paper orders rest until one).
    fill = world.wait_ids(f"tv-{oso['orderId']}-f")[0]
    assert world.copied(fill)["status"] in ("placed", "skipped")
    assert world.pipeline.positions(FOLLOWER) == {symbol: 1}

    platform.flatten()
    wait_for(lambda: any(e.startswith("tv-flat-") for e in world.event_ids()), "position.flattened")
    flat = next(e for e in world.event_ids() if e.startswith("tv-flat-"))
    assert world.copied(flat)["status"] in ("placed", "skipped")
    world.pipeline.deliver()
    assert world.pipeline.positions(FOLLOWER) == {}


def test_orders_while_the_stream_is_down_are_copied_once_after_reconnect(world: World) -> None:
    world.start_listener()
    world.socket.close_next_handshake(3)  # the reconnects fail mid-handshake for a while
    world.socket.drop()
    first = world.platform.order("Buy", 1)
    second = world.platform.order("Buy", 1, "Limit", price=21000.0)
    assert world.copied(f"tv-{first}-placed")["status"] == "placed"
    assert world.copied(f"tv-{second}-placed")["status"] == "placed"
    assert health.COUNTS["reconnects"] >= 4
    world.pipeline.deliver()
    assert world.pipeline.positions(FOLLOWER) == {world.platform.symbol: 1}
    ids = world.event_ids()
    assert len(ids) == len(set(ids)) and len([e for e in ids if e.endswith("-placed")]) == 2


def test_listener_killed_and_restarted_misses_nothing_and_repeats_nothing(world: World) -> None:
    world.start_listener()
    before = world.platform.order("Buy", 1)
    assert world.copied(f"tv-{before}-placed")["status"] == "placed"
    world.kill_listener()
    during = world.platform.order("Buy", 1, "Limit", price=21000.0)
    world.start_listener()
    assert world.copied(f"tv-{during}-placed")["status"] == "placed"
    time.sleep(0.5)
    assert health.COUNTS["events_duplicate"] == 0  # the persisted view: nothing was handed over twice
    ids = world.event_ids()
    assert [e for e in ids if e.endswith("-placed")] == sorted([f"tv-{before}-placed", f"tv-{during}-placed"])


def test_a_silent_stream_is_detected_and_reconnected(world: World) -> None:
    world.start_listener(silence_s=1.0, open_timeout_s=2.0)
    connections = world.socket.connections
    world.socket.go_silent()
    order_id = world.platform.order("Buy", 1)  # its events are lost on the silent socket
    wait_for(lambda: world.socket.connections > connections, "a new socket after the silence")
    world.socket.speak()
    assert world.copied(f"tv-{order_id}-placed")["status"] == "placed"
    assert health.COUNTS["reconnects"] >= 1


def test_malformed_frames_and_other_accounts_are_counted_never_a_crash(world: World) -> None:
    world.start_listener()
    for frame in (
        "a[{nonsense",
        "x-unknown",
        "a{}",
        'a["just a string"]',
        'a[{"e":"weird","d":1}]',
        'a[{"e":"props","d":{"entityType":"order","eventType":"Created","entity":{"id":"NaN"}}}]',
    ):
        world.socket.inject(frame)
    other = world.platform.other_account(OTHER_NAME)
    other_order = other.order("Buy", 3)
    order_id = world.platform.order("Sell", 1)
    assert world.copied(f"tv-{order_id}-placed")["status"] == "placed"
    assert not [e for e in world.event_ids() if e.startswith(f"tv-{other_order}")]
    counts = health.COUNTS
    assert counts["rejected_malformed_frame"] == 3 and counts["rejected_malformed_message"] == 1
    assert counts["rejected_unknown_message"] == 1 and counts["rejected_malformed_entity"] == 1
    assert counts["rejected_other_account"] >= 1
    assert world.socket.synced_sockets() == 1 and health.COUNTS["reconnects"] == 0


def test_a_new_group_is_picked_up_and_a_deleted_one_dropped_without_restart(world: World) -> None:
    supervisor = world.start_listener()
    assert {leader.group_id for leader in supervisor.held} == {world.group_id}
    assert world.pipeline.call("DELETE", f"/groups/{world.group_id}").status in (200, 204)
    wait_for(lambda: world.socket.synced_sockets() == 0, "the deleted group's stream dropped", timeout=10)
    assert supervisor.held == {}


@pytest.mark.parametrize("world", [4], indirect=True)
def test_the_token_is_renewed_ahead_of_expiry_without_a_gap(world: World) -> None:
    supervisor = world.start_listener(keepalive_s=1.0)
    time.sleep(5)  # past the first token's expiry
    order_id = world.platform.order("Buy", 1)
    assert world.copied(f"tv-{order_id}-placed")["status"] == "placed"
    assert health.COUNTS["reconnects"] == 0
    stream = next(iter(supervisor.held))
    assert stream.account_id == LEADER
    world.socket.drop()  # a reconnect authorises with the renewed token
    second = world.platform.order("Buy", 1)
    assert world.copied(f"tv-{second}-placed")["status"] == "placed"
    assert (
        world.fake.live_sessions("trader") == 2
    )  # the platform's and the listener's: renewed, never re-logged
