"""The listener and the executors share one Tradovate token per user (``brokers/tradovate/lease.py``).

Tradovate allows two sessions per user and a third login closes the oldest (the fake enforces
it); the trader's platform holds one. A leader whose Tradovate user also owns a follower account
(one user, a funded and an evaluation account) is streamed by the listener and copied to by the
executor: with the shared token that is one login of the copier, whoever comes first, and the
platform's session survives. The executor runs as a new container (its token cache cleared), so the
token can only come through the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from listener.app import ListenerApp
from listener.settings import ListenerSettings
from tests.integration.listener_world import wait_for
from tests.integration.test_listener_tradovate import LEAD_NAME, OTHER_NAME, TRADER, World
from tests.integration.test_listener_tradovate import world as world  # the fixture
from tradecopier.brokers.registry import clear_cache
from tradecopier.brokers.tokens import clear_tokens
from tradecopier.logic.services import reset_services

TV_FOLLOWER = "TV-F"


@pytest.fixture
def shared(world: World, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The stack's token key set for the executor and the listener; the copier's logins counted."""
    key = boto3.client("kms", endpoint_url=moto_endpoint).create_key(Description="tokens")["KeyMetadata"]
    monkeypatch.setenv("BROKER_TOKEN_KEY_ID", key["KeyId"])
    reset_services()
    clear_cache()
    clear_tokens()
    world.app = ListenerApp.build(ListenerSettings.from_env())
    logins: list[str] = []
    handle = world.fake.handle

    def counting(method: str, path: str, *rest: Any) -> Any:
        if path.split("?", 1)[0].endswith("/auth/accesstokenrequest"):
            logins.append(path)
        return handle(method, path, *rest)

    world.fake.handle = counting  # type: ignore[method-assign]
    credentials = {
        "broker": "tradovate",
        "api_url": world.fake.base_url,
        "ws_url": world.socket.url,
        "username": TRADER["name"],
        "password": TRADER["password"],
        "app_id": "platform",
        "cid": 9,
        "sec": "s2",
        "broker_account": OTHER_NAME,
    }
    pipeline = world.pipeline
    assert pipeline.call("PUT", f"/accounts/{TV_FOLLOWER}/credentials", credentials).status == 200
    pipeline.add_follower(world.group_id, TV_FOLLOWER, broker="tradovate")
    yield logins
    clear_tokens()


def _copy_to_tradovate(world: World, event_id: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def done() -> bool:
        if world.pipeline.call("GET", f"/groups/{world.group_id}/events/{event_id}").status != 200:
            return False
        world.pipeline.deliver_once()
        found.update(world.pipeline.copies(world.group_id, event_id).get(TV_FOLLOWER, {}))
        return found.get("status") not in (None, "pending")

    wait_for(done, f"{event_id} copied to {TV_FOLLOWER}")
    return found


def test_the_listener_and_an_executor_of_the_same_user_log_in_once(world: World, shared: list[str]) -> None:
    world.start_listener()  # the listener logs in first: the token goes to the table
    assert len(shared) == 1
    clear_tokens()  # the executor is another container: no token in its memory
    order_id = world.platform.order("Buy", 1)
    copy = _copy_to_tradovate(world, f"tv-{order_id}-placed")
    assert copy["status"] == "placed", copy
    assert len(shared) == 1  # the executor used the listener's token
    assert world.fake.live_sessions(TRADER["name"]) == 2  # the platform's and the copier's one
    second = world.platform.order("Buy", 1)  # the platform's own session is still alive
    assert _copy_to_tradovate(world, f"tv-{second}-placed")["status"] == "placed"
    assert len(shared) == 1
    positions = world.pipeline.call("GET", f"/accounts/{TV_FOLLOWER}/positions").body
    assert [p["qty"] for p in positions["positions"]] == [2], positions
    assert world.platform.account["name"] == LEAD_NAME
