"""ProjectX behaviours the shared conformance suite does not reach, against the fake gateway over
real sockets: Position Brackets mode, a tag already at the broker, the lost answer of a place,
the rate limit, the token's renewal, contract resolution and its cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from devstack.brokers.projectx import FakeProjectX
from tests.integration.test_broker_conformance import (
    PX_ACCOUNT,
    PX_USER,
    fake_projectx,
    projectx_credentials,
    projectx_orders,
)
from tradecopier.brokers.base import BrokerAccessDenied, BrokerRejected, BrokerUnreachable
from tradecopier.brokers.http import BrokerBusy
from tradecopier.brokers.projectx import ProjectXBroker, ProjectXConfig
from tradecopier.brokers.projectx.parsing import symbol_of
from tradecopier.brokers.registry import clear_cache
from tradecopier.brokers.tokens import Token
from tradecopier.domain.enums import OrderStatus, Side
from tradecopier.domain.orders import Bracket, FollowerOrder

PRICE = Decimal("21500")


@pytest.fixture
def fake() -> Iterator[FakeProjectX]:
    clear_cache()
    server = fake_projectx()
    server.set_market_price(server.contract_id("NQ"), PRICE)
    yield server
    server.stop()
    clear_cache()


def broker(fake: FakeProjectX, **extra: str) -> ProjectXBroker:
    return ProjectXBroker(
        "PX-1", ProjectXConfig.from_credentials(projectx_credentials(fake.base_url, **extra))
    )


def order(fake: FakeProjectX, cid: str, **fields: object) -> FollowerOrder:
    values = {
        "client_order_id": cid,
        "account_id": "PX-1",
        "symbol": symbol_of(fake.contract_id("NQ")),
        "side": Side.BUY,
        "qty": 1,
        "order_type": "market",
        "reference_price": PRICE,
        **fields,
    }
    return FollowerOrder.model_validate(values)


def account_id(fake: FakeProjectX) -> int:
    [found] = [a.id for a in fake._accounts.values() if a.name == PX_ACCOUNT]
    return found


def test_brackets_in_position_brackets_mode_are_rejected_with_the_brokers_words(fake: FakeProjectX) -> None:
    fake.update_account(account_id(fake), auto_oco=False)
    bracket = Bracket(qty=1, take_profit=Decimal("21550"), stop_loss=Decimal("21450"))
    with pytest.raises(BrokerRejected) as rejected:
        broker(fake).place_bracket(order(fake, "tc-br-mode", bracket=bracket))
    assert "You must enable Auto OCO Brackets." in rejected.value.reason
    assert projectx_orders(fake) == []


def test_a_short_bracket_sends_signed_ticks_and_reads_its_legs_back(fake: FakeProjectX) -> None:
    bracket = Bracket(qty=1, take_profit=Decimal("21450"), stop_loss=Decimal("21550"))
    placed = broker(fake).place_bracket(order(fake, "tc-br-short", side=Side.SELL, bracket=bracket))
    assert placed.take_profit is not None and placed.take_profit.limit_price == Decimal("21450")
    assert placed.stop_loss is not None and placed.stop_loss.stop_price == Decimal("21550")
    tags = {o["customTag"]: o["trailDistance"] for o in projectx_orders(fake)}
    assert tags == {"tc-br-short": None, "tc-br-short-TP": -200, "tc-br-short-SL": 200}


def test_a_tag_already_at_the_broker_is_that_order_never_a_second(fake: FakeProjectX) -> None:
    first = broker(fake).place(order(fake, "tc-there"))
    clear_cache()  # a new container: nothing cached
    again = broker(fake).place(order(fake, "tc-there", qty=3))
    assert again.broker_order_id == first.broker_order_id and again.qty == 1
    assert len(projectx_orders(fake)) == 1


def test_a_place_whose_answer_was_lost_is_found_not_resent(fake: FakeProjectX) -> None:
    fake.fail_next("/api/Order/place", "drop_after_apply")
    placed = broker(fake).place(order(fake, "tc-lost"))
    assert placed.status is OrderStatus.FILLED and placed.client_order_id == "tc-lost"
    assert len(projectx_orders(fake)) == 1


def test_the_rate_limit_is_transient(fake: FakeProjectX) -> None:
    fake.fail_next("/api/Order/place", "rate_limit")
    with pytest.raises(BrokerBusy, match="rate limited"):
        broker(fake).place(order(fake, "tc-429"))
    assert projectx_orders(fake) == []


def test_the_token_is_renewed_with_validate_before_it_expires(fake: FakeProjectX) -> None:
    adapter = broker(fake)
    adapter.check()
    cache = adapter.http.tokens
    held = cache.current
    assert held is not None and cache.logins == 1
    cache._token = Token(held.value, datetime.now(UTC) + timedelta(minutes=30))  # inside the renewal window
    adapter.positions()
    assert (cache.logins, cache.renewals) == (1, 1)
    assert cache.current is not None and cache.current.value != held.value
    assert cache.current.expires_at > datetime.now(UTC) + timedelta(hours=23)


def test_a_wrong_key_and_an_unknown_account_are_access_denied(fake: FakeProjectX) -> None:
    with pytest.raises(BrokerAccessDenied) as denied:
        broker(fake, api_key="nope").check()
    assert denied.value.code == "auth_failed" and "InvalidCredentials" in denied.value.reason
    with pytest.raises(BrokerAccessDenied) as missing:
        broker(fake, broker_account="PRAC-NOPE").check()
    assert missing.value.code == "account_not_found"
    assert str(account_id(fake)) in broker(fake, broker_account=str(account_id(fake))).check()


def test_an_unreachable_gateway_is_transient() -> None:
    clear_cache()
    down = ProjectXBroker("PX-9", ProjectXConfig.from_credentials(projectx_credentials("http://127.0.0.1:9")))
    with pytest.raises(BrokerUnreachable):
        down.check()


@pytest.mark.parametrize("plural", [False, True])
def test_contracts_resolve_both_ways_once(plural: bool) -> None:
    clear_cache()
    fake = FakeProjectX(contract_by_id_plural=plural)
    fake.add_user(PX_USER, "px-key-1")
    fake.add_account(PX_USER, PX_ACCOUNT, auto_oco=True)
    fake.start()
    try:
        adapter = broker(fake)
        nq = fake.contract_id("NQ")
        assert adapter.contracts.by_symbol(symbol_of(nq)).id == nq
        before = fake.request_count
        assert adapter.contracts.by_symbol(symbol_of(nq)).id == nq  # cached
        assert fake.request_count == before
        # The quarter that just expired is not in Contract/search (active only): found by its id.
        [old] = [c.id for c in fake._contracts.values() if c.id.startswith("CON.F.US.ENQ.") and not c.active]
        assert adapter.contracts.by_symbol(symbol_of(old)).id == old
        assert adapter.contracts.tick(symbol_of(nq)) == Decimal("0.25")
        with pytest.raises(BrokerRejected, match="unknown contract"):
            adapter.contracts.by_symbol("ZZZZ9")
    finally:
        fake.stop()
        clear_cache()
