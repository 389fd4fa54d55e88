"""ProjectX: pure wire → domain parsing, symbol ↔ contract id, error classification, the JWT
expiry and the one re-login on 401 — without a socket (the transport is stubbed)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from tradecopier.brokers import http as transport
from tradecopier.brokers.base import (
    BrokerAccessDenied,
    BrokerRejected,
    BrokerUnreachable,
    bracket_leg_client_order_id,
)
from tradecopier.brokers.credentials import BrokerCredentials
from tradecopier.brokers.http import BrokerBusy, HttpReply
from tradecopier.brokers.projectx import parsing
from tradecopier.brokers.projectx.auth import ProjectXAuth, token_expiry
from tradecopier.brokers.projectx.config import ProjectXConfig, default_rtc_url
from tradecopier.brokers.projectx.http import ProjectXHttp, raise_for
from tradecopier.brokers.projectx.schemas import Order, Position
from tradecopier.brokers.tokens import Token, TokenCache
from tradecopier.domain.enums import Leg, OrderStatus, OrderType, Side

TODAY = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("symbol", "contract_id"),
    [
        ("NQZ6", "CON.F.US.ENQ.Z26"),
        ("MNQH7", "CON.F.US.MNQ.H27"),
        ("ESM7", "CON.F.US.EP.M27"),
        ("ZNU7", "CON.F.US.TYA.U27"),
        ("6EZ6", "CON.F.US.EU6.Z26"),
        ("NQZ5", "CON.F.US.ENQ.Z25"),  # a year back still resolves (just expired)
        ("NQZ26", "CON.F.US.ENQ.Z26"),
    ],
)
def test_symbol_and_contract_id_map_both_ways(symbol: str, contract_id: str) -> None:
    assert parsing.contract_id_of(symbol, TODAY) == contract_id
    assert parsing.symbol_of(contract_id) == symbol.replace("Z26", "Z6")  # one-digit year back


def test_a_contract_id_outside_the_grammar_falls_back_to_its_name() -> None:
    assert parsing.symbol_of("CON.X.ODD", "ODDZ6") == "ODDZ6"
    assert parsing.contract_id_of("not a symbol!", TODAY) is None


@pytest.mark.parametrize("leg", [Leg.TAKE_PROFIT, Leg.STOP_LOSS])
def test_bracket_child_tags_are_our_leg_client_order_ids(leg: Leg) -> None:
    ours = bracket_leg_client_order_id("tc-1", leg)
    tag = parsing.custom_tag_of(ours)
    assert tag == ("tc-1-TP" if leg is Leg.TAKE_PROFIT else "tc-1-SL")
    assert parsing.client_order_id_of(tag) == ours
    assert parsing.custom_tag_of("tc-1") == "tc-1" and parsing.client_order_id_of(None) is None


def _order(**fields: Any) -> Order:
    values = {
        "id": 3345169271,
        "accountId": 25775680,
        "contractId": "CON.F.US.MNQ.U26",
        "status": 2,
        "type": 2,
        "side": 1,
        "size": 3,
        "fillVolume": 3,
        "filledPrice": 30199.25,
        "customTag": "tc-9",
        **fields,
    }
    return Order.model_validate(values)


def test_a_filled_sell_reads_as_the_domain_order() -> None:
    order = parsing.broker_order(_order())
    assert (order.broker_order_id, order.client_order_id, order.symbol) == ("3345169271", "tc-9", "MNQU6")
    assert (order.side, order.qty, order.order_type, order.status) == (
        Side.SELL,
        3,
        OrderType.MARKET,
        OrderStatus.FILLED,
    )
    assert order.fill_price == Decimal("30199.25") and order.leg is None


def test_a_suspended_bracket_child_is_a_working_leg_without_a_fill_price() -> None:
    child = parsing.broker_order(
        _order(
            status=8, type=4, stopPrice=None, customTag="tc-9-SL", parentOrderId=3345169270, filledPrice=None
        )
    )
    assert child.status is OrderStatus.WORKING and child.leg is Leg.STOP_LOSS
    assert child.client_order_id == "tc-9:sl" and child.parent_order_id == "3345169270"
    assert child.fill_price is None and child.stop_price is None


def test_an_untagged_order_uses_its_id_and_a_child_without_tag_its_type() -> None:
    order = parsing.broker_order(
        _order(customTag=None, status=1, type=1, limitPrice=30210.5, parentOrderId=7)
    )
    assert order.client_order_id == "3345169271" and order.leg is Leg.TAKE_PROFIT
    assert order.limit_price == Decimal("30210.5") and order.fill_price is None


@pytest.mark.parametrize(("kind", "qty"), [(1, 2), (2, -2)])
def test_positions_are_signed(kind: int, qty: int) -> None:
    position = Position.model_validate(
        {
            "id": 1,
            "accountId": 2,
            "contractId": "CON.F.US.ENQ.Z26",
            "type": kind,
            "size": 2,
            "averagePrice": 21500.5,
        }
    )
    parsed = parsing.broker_position(position)
    assert (parsed.symbol, parsed.qty, parsed.avg_price) == ("NQZ6", qty, Decimal("21500.5"))


def test_hub_events_are_read_wrapped_or_bare() -> None:
    data = {"id": 1, "size": 0}
    assert parsing.event_data({"action": 2, "data": data}) == data
    assert parsing.event_data(data) == data
    assert parsing.event_data([1]) is None


def test_bracket_ticks_are_signed_from_the_reference() -> None:
    tick = Decimal("0.25")
    assert parsing.bracket_ticks(Decimal("21450"), Decimal("21500"), tick) == -200  # long SL
    assert parsing.bracket_ticks(Decimal("21550"), Decimal("21500"), tick) == 200  # long TP


# --- classification ----------------------------------------------------------------------------


def test_success_false_is_a_business_no_with_the_brokers_words_and_code_name() -> None:
    body = {"success": False, "errorCode": 3, "errorMessage": "Insufficient funds.", "orderId": 0}
    with pytest.raises(BrokerRejected) as rejected:
        raise_for(HttpReply(200, body, {}), "Order/place")
    assert rejected.value.reason == "Insufficient funds. (Order/place errorCode 3 InsufficientFunds)"


def test_an_unknown_code_is_still_named_by_number() -> None:
    with pytest.raises(BrokerRejected, match="errorCode 42"):
        raise_for(HttpReply(200, {"success": False, "errorCode": 42}, {}), "Order/cancel")


@pytest.mark.parametrize(
    ("status", "headers", "wait"), [(429, {"retry-after": "7"}, 7.0), (429, {}, None), (503, {}, None)]
)
def test_429_and_5xx_are_transient_and_carry_the_wait(
    status: int, headers: dict[str, str], wait: float | None
) -> None:
    with pytest.raises(BrokerBusy) as busy:
        raise_for(HttpReply(status, None, headers), "Order/place")
    assert busy.value.retry_after == wait


def test_a_400_problem_is_rejected_with_its_title_and_fields() -> None:
    problem = {"title": "One or more validation errors occurred.", "errors": {"$.size": ["bad"]}}
    with pytest.raises(
        BrokerRejected, match=r"HTTP 400 \(One or more validation errors occurred\. — \$\.size"
    ):
        raise_for(HttpReply(400, problem, {}), "Order/place")


def test_an_unreadable_200_is_transient() -> None:
    with pytest.raises(BrokerUnreachable):
        raise_for(HttpReply(200, None, {}), "Order/search")
    raise_for(HttpReply(200, {"success": True, "orders": []}, {}), "Order/search")  # no raise


# --- tokens, auth ------------------------------------------------------------------------------


def _jwt(exp: datetime) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"exp": int(exp.timestamp())}).encode()).decode().rstrip("=")
    return f"e30.{claims}.sig"


def test_token_expiry_reads_the_jwt_exp_and_caps_it_at_24_hours() -> None:
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert token_expiry(_jwt(now + timedelta(hours=3)), now) == now + timedelta(hours=3)
    assert token_expiry(_jwt(now + timedelta(days=9)), now) == now + timedelta(hours=24)
    assert token_expiry("opaque", now) == now + timedelta(hours=24)


CONFIG = ProjectXConfig.from_credentials(
    BrokerCredentials.model_validate(
        {
            "broker": "projectx",
            "api_url": "https://api.topstepx.com/",
            "username": "u",
            "api_key": "k",
            "broker_account": "A",
        }
    )
)


def test_config_defaults_the_hub_url_from_the_gateway() -> None:
    assert CONFIG.rest_url == "https://api.topstepx.com"
    assert CONFIG.rtc_url == "https://rtc.topstepx.com/hubs/user"
    assert (
        default_rtc_url("https://api.alphaticks.projectx.com")
        == "https://rtc.alphaticks.projectx.com/hubs/user"
    )


class _Wire:
    """A stubbed transport: answers in order, records what was sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *replies: HttpReply) -> None:
        self.replies = list(replies)
        self.sent: list[tuple[str, Any, dict[str, str] | None]] = []
        monkeypatch.setattr(transport, "request", self)

    def __call__(
        self, method: str, url: str, *, body: Any = None, headers: Any = None, **_: Any
    ) -> HttpReply:
        self.sent.append((url, body, headers))
        return self.replies.pop(0)


def _tokens() -> tuple[TokenCache, list[str]]:
    issued: list[str] = []

    def login() -> Token:
        issued.append(f"t{len(issued) + 1}")
        return Token(SecretStr(issued[-1]), datetime.now(UTC) + timedelta(hours=24))

    return TokenCache(login), issued


def test_a_401_logs_in_once_and_retries_once(monkeypatch: pytest.MonkeyPatch) -> None:
    wire = _Wire(monkeypatch, HttpReply(401, None, {}), HttpReply(200, {"success": True, "orders": []}, {}))
    cache, issued = _tokens()
    body = ProjectXHttp("https://gw", cache).post("Order/searchOpen", {"accountId": 1})
    assert body["orders"] == [] and issued == ["t1", "t2"]
    assert [h["Authorization"] for _, _, h in wire.sent if h] == ["Bearer t1", "Bearer t2"]
    assert wire.sent[0][0] == "https://gw/api/Order/searchOpen"


def test_a_second_401_with_a_fresh_token_is_access_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    _Wire(monkeypatch, HttpReply(401, None, {}), HttpReply(401, None, {}))
    cache, issued = _tokens()
    with pytest.raises(BrokerAccessDenied) as denied:
        ProjectXHttp("https://gw", cache).post("Order/place", {})
    assert denied.value.code == "auth_failed" and issued == ["t1", "t2"]


@pytest.mark.parametrize(("code", "name"), [(3, "InvalidCredentials"), (9, "ApiSubscriptionNotFound")])
def test_a_refused_login_is_access_denied_never_retried(
    monkeypatch: pytest.MonkeyPatch, code: int, name: str
) -> None:
    body = {"token": None, "success": False, "errorCode": code, "errorMessage": "User lacks subscription"}
    wire = _Wire(monkeypatch, HttpReply(200, body, {}))
    cache, _ = _tokens()
    with pytest.raises(BrokerAccessDenied) as denied:
        ProjectXAuth(CONFIG, ProjectXHttp(CONFIG.rest_url, cache)).login()
    assert (
        str(denied.value) == f"auth_failed: login refused: User lacks subscription (errorCode {code} {name})"
    )
    assert len(wire.sent) == 1 and wire.sent[0][1] == {"userName": "u", "apiKey": "k"}
    assert "k" not in denied.value.reason.split()


def test_a_rate_limited_login_is_transient_not_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    _Wire(monkeypatch, HttpReply(429, None, {}))
    cache, _ = _tokens()
    with pytest.raises(BrokerBusy):
        ProjectXAuth(CONFIG, ProjectXHttp(CONFIG.rest_url, cache)).login()


def test_validate_renews_and_a_refused_validate_falls_back_to_login(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _jwt(datetime.now(UTC) + timedelta(hours=24))
    _Wire(
        monkeypatch,
        HttpReply(200, {"success": True, "errorCode": 0, "newToken": fresh}, {}),
        HttpReply(200, {"success": False, "errorCode": 3, "newToken": None}, {}),
    )
    cache, _ = _tokens()
    auth = ProjectXAuth(CONFIG, ProjectXHttp(CONFIG.rest_url, cache))
    old = Token(SecretStr("old"), datetime.now(UTC) + timedelta(minutes=30))
    renewed = auth.renew(old)
    assert renewed is not None and renewed.value.get_secret_value() == fresh
    assert auth.renew(old) is None
