"""One Tradovate token per user shared by every container (``brokers/tradovate/lease.py``):
DynamoDB Local holds the token item, moto's KMS seals it, the fake Tradovate counts sessions.
Each "container" is an adapter with its own in-memory token cache, as in separate Lambda
execution environments."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from devstack import samples
from devstack.brokers.tradovate import FakeTradovate
from tests.conftest import CopierTables
from tests.integration.test_broker_conformance import tradovate_credentials
from tests.pipeline import Pipeline
from tradecopier.brokers.base import BrokerAccessDenied
from tradecopier.brokers.registry import clear_cache
from tradecopier.brokers.tokens import TokenCache, clear_tokens
from tradecopier.brokers.tradovate import TradovateBroker, TradovateConfig
from tradecopier.brokers.tradovate.lease import SharedTokens
from tradecopier.brokers.tradovate.sealing import KmsSealer
from tradecopier.brokers.tradovate.store import TokenStore


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    fake: FakeTradovate
    clock: Clock
    store: TokenStore
    sealer: KmsSealer
    table: str
    client: Any
    requests: list[str]

    def container(self, **credentials: Any) -> TradovateBroker:
        """A new execution environment: its own token cache, the shared table and key."""
        clear_tokens()
        config = TradovateConfig.from_credentials(tradovate_credentials(self.fake.base_url, **credentials))
        broker = TradovateBroker("TV-1", config, shared=(self.store, self.sealer))
        broker.http.tokens._clock = self.clock  # the fake's clock: renewal windows without sleeping
        return broker

    def logins(self) -> int:
        return self.requests.count("auth/accesstokenrequest")

    def renewals(self) -> int:
        return self.requests.count("auth/renewaccesstoken")


@pytest.fixture
def world(copier_tables: CopierTables, dynamodb_local_endpoint: str, moto_endpoint: str) -> Iterator[World]:
    clear_cache()
    clock = Clock(datetime.now(UTC))
    fake = FakeTradovate(now=clock)
    user = fake.add_user("alice", "pw-1", app_id="copier", cid=8, sec="s3cr3t")
    fake.add_account(user, "DEMO3701228", balance=50_000)
    requests: list[str] = []
    handle = fake.handle

    def counting(method: str, path: str, *rest: Any) -> Any:
        requests.append(path.split("?", 1)[0].removeprefix("/v1/"))
        return handle(method, path, *rest)

    fake.handle = counting  # type: ignore[method-assign]
    fake.start()
    kms = boto3.client("kms", endpoint_url=moto_endpoint)
    key = kms.create_key(Description="tokens")["KeyMetadata"]["KeyId"]
    dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint)
    yield World(
        fake,
        clock,
        TokenStore(copier_tables.copier, dynamodb),
        KmsSealer(key, kms),
        copier_tables.copier,
        dynamodb,
        requests,
    )
    fake.stop()
    clear_cache()


def test_two_containers_share_one_login(world: World) -> None:
    first, second = world.container(), world.container()
    assert first.http.tokens is not second.http.tokens
    first.check()
    second.check()
    second.positions()
    assert world.logins() == 1
    assert world.fake.live_sessions("alice") == 1
    assert first.http.tokens.current == second.http.tokens.current


def test_a_third_container_never_opens_a_third_session(world: World) -> None:
    containers = [world.container() for _ in range(3)]
    for _ in range(2):
        for broker in containers:
            broker.check()
            broker.orders()
    assert world.logins() == 1
    assert world.fake.live_sessions("alice") == 1
    assert world.requests.count("account/list") == 3  # each container looked its account up once


def test_without_the_shared_item_three_containers_log_in_three_times(world: World) -> None:
    """The control: per-container caches (no token key configured) open a session each."""
    for _ in range(3):
        clear_tokens()
        TradovateBroker(
            "TV-1", TradovateConfig.from_credentials(tradovate_credentials(world.fake.base_url))
        ).check()
    assert world.logins() == 3


def test_renewal_ahead_of_expiry_happens_once(world: World) -> None:
    containers = [world.container() for _ in range(3)]
    for broker in containers:
        broker.check()
    first = containers[0].http.tokens.current
    assert first is not None
    world.clock.now = first.expires_at - timedelta(minutes=10)  # inside the 15-minute renewal window
    for broker in containers:
        broker.orders()
    assert (world.logins(), world.renewals()) == (1, 1)
    assert world.fake.live_sessions("alice") == 1
    tokens = {b.http.tokens.current.value.get_secret_value() for b in containers if b.http.tokens.current}
    assert len(tokens) == 1 and first.value.get_secret_value() not in tokens


def test_a_token_the_broker_revoked_is_replaced_by_one_login(world: World) -> None:
    first, second = world.container(), world.container()
    first.check()
    world.fake.expire_tokens()
    first.orders()  # 401 → drops the table's token → one login
    second.orders()  # takes the new token from the table
    assert world.logins() == 2
    assert first.http.tokens.current == second.http.tokens.current


def test_a_refused_login_is_recorded_and_never_retried(world: World) -> None:
    first = world.container(password="wrong")
    with pytest.raises(BrokerAccessDenied) as refused:
        first.check()
    assert refused.value.code == "auth_failed"
    for _ in range(3):
        with pytest.raises(BrokerAccessDenied) as again:
            world.container(password="wrong").check()
        assert "recorded" in str(again.value)
    assert world.logins() == 1
    # New credentials (a new PUT: a new stored_at) get their one try.
    world.container(stored_at="2026-12-02T00:00:00Z").check()
    assert world.logins() == 2


def test_the_token_is_stored_sealed(world: World) -> None:
    broker = world.container()
    broker.check()
    token = broker.http.tokens.current
    assert token is not None
    raw = str(world.client.scan(TableName=world.table)["Items"])
    assert token.value.get_secret_value() not in raw
    assert "alice" not in raw and "pw-1" not in raw and "s3cr3t" not in raw


def test_a_container_waits_briefly_for_a_login_in_progress(world: World) -> None:
    holder, waiter = world.container(), world.container()
    tokens = waiter.http.tokens
    assert isinstance(tokens, SharedTokens) and isinstance(holder.http.tokens, TokenCache)
    # The holder has taken the lease (a login in flight); the waiter polls, then uses its token.
    now_ms = int(world.clock.now.timestamp() * 1000)
    assert world.store.take_lease(tokens.pk, "holder", now_ms, now_ms + 60_000, 0)
    polls: list[float] = []

    def land(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 2:
            sealed = world.sealer.seal(SecretStr("landed"), tokens.pk)
            expires = (world.clock.now + timedelta(minutes=90)).isoformat().replace("+00:00", "Z")
            world.store.put_token(tokens.pk, "holder", sealed=sealed, expires=expires, user_id=1, ttl=1)

    tokens._sleep = land
    assert tokens.get().value.get_secret_value() == "landed"
    assert world.logins() == 0 and len(polls) == 2


def test_through_the_executor_a_refused_login_locks_and_unlocking_does_not_log_in_again(
    world: World, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.test_tradovate_faults import HEALTHY, TV, copy_once, follower, setup_group
    from tradecopier.logic.services import reset_services

    monkeypatch.setenv("BROKER_TOKEN_KEY_ID", world.sealer.key_id)
    reset_services()
    world.fake.set_market_price(str(world.fake.contract("NQ")["name"]), 21450.25)
    group_id, token, symbol = setup_group(pipeline, world.fake, password="wrong")
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[TV]["status"] == "failed" and copies[HEALTHY]["status"] == "placed", copies
    assert follower(pipeline, group_id)["lock_reason"].startswith("auth_failed: ")
    assert world.logins() == 1
    clear_tokens()  # a fresh container
    assert pipeline.call("POST", f"/groups/{group_id}/followers/{TV}/unlock", {}).status == 200
    again = copy_once(pipeline, group_id, token, samples.market("E-2", "L-2", symbol=symbol))
    assert again[TV]["status"] == "failed" and "recorded" in again[TV]["reason"], again[TV]
    assert follower(pipeline, group_id)["state"] == "locked"
    assert pipeline.call("GET", f"/accounts/{TV}/connection").body["status"] == "auth_failed"
    assert world.logins() == 1  # neither the executor nor the connection check tried again
