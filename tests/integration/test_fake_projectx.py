"""The fake ProjectX Gateway (devstack.brokers.projectx) over real HTTP, with plain ``requests``:
what an adapter will see. Each behaviour cites the section of /work/shared/brokers/projectx.md."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.brokers.projectx import BRACKETS_NEED_AUTO_OCO, FakeProjectX, HubEvent

START = "2020-01-01T00:00:00Z"
USER, KEY = "trader", "api-key-1"
LIMIT, MARKET, STOP, TRAILING = 1, 2, 4, 5
BUY, SELL = 0, 1


class Client:
    """A bare client: one token, one keep-alive session, no retries."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.token = token

    def raw(self, path: str, body: Any = None, timeout: float = 5.0, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return self.http.post(self.base_url + path, json=body, headers=headers, timeout=timeout, **kw)

    def call(self, path: str, body: Any = None) -> dict[str, Any]:
        response = self.raw(path, body)
        assert response.status_code == 200, (response.status_code, response.text)
        result: dict[str, Any] = response.json()
        assert set(result) >= {"success", "errorCode", "errorMessage"}
        return result

    def ok(self, path: str, body: Any = None) -> dict[str, Any]:
        result = self.call(path, body)
        assert result["success"] is True and result["errorCode"] == 0, result
        return result

    def login(self, user: str = USER, key: str = KEY) -> Client:
        self.token = self.ok("/api/Auth/loginKey", {"userName": user, "apiKey": key})["token"]
        return self


@pytest.fixture
def fake() -> Iterator[FakeProjectX]:
    server = FakeProjectX()
    server.add_user(USER, KEY)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def account(fake: FakeProjectX) -> int:
    return fake.add_account(USER, "PRAC-V2-645601-47191819", auto_oco=True)


@pytest.fixture
def px(fake: FakeProjectX) -> Client:
    return Client(fake.base_url).login()


@pytest.fixture
def nq(fake: FakeProjectX) -> str:
    contract_id = fake.contract_id("NQ")
    fake.set_market_price(contract_id, 21000)
    return contract_id


def place(px: Client, account: int, contract: str, **fields: Any) -> dict[str, Any]:
    body = {"accountId": account, "contractId": contract, "type": MARKET, "side": BUY, "size": 1, **fields}
    return px.call("/api/Order/place", body)


def orders(px: Client, account: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = px.ok("/api/Order/search", {"accountId": account, "startTimestamp": START})[
        "orders"
    ]
    return found


def open_orders(px: Client, account: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = px.ok("/api/Order/searchOpen", {"accountId": account})["orders"]
    return found


def positions(px: Client, account: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = px.ok("/api/Position/searchOpen", {"accountId": account})["positions"]
    return found


def trades(px: Client, account: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = px.ok("/api/Trade/search", {"accountId": account, "startTimestamp": START})[
        "trades"
    ]
    return found


def by_id(items: list[dict[str, Any]], item_id: int | str) -> dict[str, Any]:
    return next(i for i in items if i["id"] == item_id)


# ---------------------------------------------------------------------------------------------------
# §2 Authentication
def test_login_returns_a_24h_jwt(fake: FakeProjectX) -> None:
    result = Client(fake.base_url).ok("/api/Auth/loginKey", {"userName": USER, "apiKey": KEY})
    header, payload, signature = result["token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert json.loads(base64.urlsafe_b64decode(header + "==="))["typ"] == "JWT" and signature
    assert claims["exp"] - claims["iat"] == 24 * 3600
    assert result["errorMessage"] is None


@pytest.mark.parametrize(("user", "key"), [(USER, "wrong"), ("nobody", KEY)])
def test_failed_login_is_http_200_with_error_code_3(fake: FakeProjectX, user: str, key: str) -> None:
    result = Client(fake.base_url).call("/api/Auth/loginKey", {"userName": user, "apiKey": key})
    assert result == {**result, "token": None, "success": False, "errorCode": 3}
    assert result["errorMessage"]


def test_login_without_api_key_is_400(fake: FakeProjectX) -> None:
    response = Client(fake.base_url).raw("/api/Auth/loginKey", {"userName": USER})
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "apiKey" in response.json()["errors"]


def test_every_other_path_needs_a_bearer(fake: FakeProjectX, account: int) -> None:
    anonymous = Client(fake.base_url)
    for path in ("/api/Account/search", "/api/Order/place", "/api/Auth/validate", "/api/Trade/search"):
        response = anonymous.raw(path, {"accountId": account})
        assert response.status_code == 401, path
        assert response.content == b""
    assert Client(fake.base_url, token="not-a-token").raw("/api/Account/search", {}).status_code == 401


def test_validate_issues_a_new_token_and_the_old_one_still_works(px: Client) -> None:
    new = px.ok("/api/Auth/validate")["newToken"]
    assert new and new != px.token
    assert px.ok("/api/Account/search", {"onlyActiveAccounts": True})
    assert Client(px.base_url, new).ok("/api/Account/search", {"onlyActiveAccounts": True})


def test_expired_token_is_401_and_validate_answers_expired(fake: FakeProjectX, px: Client) -> None:
    fake.expire_tokens()
    assert px.raw("/api/Account/search", {"onlyActiveAccounts": True}).status_code == 401
    result = px.call("/api/Auth/validate")
    assert (result["success"], result["errorCode"], result["newToken"]) == (False, 3, None)
    px.login()  # the adapter's way out: log in again
    assert px.ok("/api/Account/search", {"onlyActiveAccounts": True})


def test_token_lifetime_follows_the_injected_clock() -> None:
    now = [datetime(2026, 12, 1, 12, tzinfo=UTC)]
    server = FakeProjectX(clock=lambda: now[0])
    server.add_user(USER, KEY)
    server.start()
    try:
        px = Client(server.base_url).login()
        now[0] += timedelta(hours=23, minutes=59)
        assert px.raw("/api/Account/search", {"onlyActiveAccounts": True}).status_code == 200
        now[0] += timedelta(minutes=2)
        assert px.raw("/api/Account/search", {"onlyActiveAccounts": True}).status_code == 401
    finally:
        server.stop()


def test_logout_revokes_the_token(px: Client) -> None:
    px.ok("/api/Auth/logout")
    assert px.raw("/api/Account/search", {"onlyActiveAccounts": True}).status_code == 401


# ---------------------------------------------------------------------------------------------------
# §3.1 accounts, §3.2 contracts
def test_account_search_lists_only_the_users_accounts(fake: FakeProjectX, px: Client, account: int) -> None:
    fake.add_user("other", "k2")
    fake.add_account("other", "OTHER-1")
    closed = fake.add_account(USER, "CLOSED-1", can_trade=False, active=False)
    active = px.ok("/api/Account/search", {"onlyActiveAccounts": True})["accounts"]
    assert active == [
        {
            "id": account,
            "name": "PRAC-V2-645601-47191819",
            "balance": 50000,
            "canTrade": True,
            "isVisible": True,
            "simulated": True,
        }
    ]
    assert 10_000_000 <= account < 100_000_000  # int32, 8 digits
    every = px.ok("/api/Account/search", {"onlyActiveAccounts": False})["accounts"]
    assert [a["id"] for a in every] == [account, closed]


def test_contract_search_and_ids(fake: FakeProjectX, px: Client) -> None:
    found = px.ok("/api/Contract/search", {"searchText": "NQ", "live": False})["contracts"]
    front = fake.contract_id("NQ")
    nq = by_id(found, front)
    assert front == "CON.F.US.ENQ.Z26"  # the clock says December 2026: Z26 trades until 18 Dec
    assert nq == {
        "id": "CON.F.US.ENQ.Z26",
        "name": "NQZ6",
        "description": "E-mini NASDAQ-100: December 2026",
        "tickSize": 0.25,
        "tickValue": 5,
        "activeContract": True,
        "symbolId": "F.US.ENQ",
    }
    names = {c["name"] for c in found}
    assert {"NQZ6", "NQH7", "MNQZ6", "MNQH7"} <= names and len(found) <= 20
    assert all(c["activeContract"] for c in found)
    es = px.ok("/api/Contract/search", {"searchText": "es", "live": False})["contracts"]
    assert [c["name"] for c in es][:2] == ["ESH7", "ESZ6"]  # names that start with the text first
    assert {c["symbolId"] for c in es} == {"F.US.EP", "F.US.MES"}
    assert {(c["id"], c["tickValue"]) for c in es} >= {("CON.F.US.MES.Z26", 1.25), ("CON.F.US.MES.H27", 1.25)}
    assert fake.contract_id("ES") == "CON.F.US.EP.Z26"


def test_contract_by_id_is_singular_and_shows_expired_months(px: Client) -> None:
    assert (
        px.ok("/api/Contract/searchById", {"contractId": "CON.F.US.MNQ.H27"})["contract"]["name"] == "MNQH7"
    )
    expired = px.ok("/api/Contract/searchById", {"contractId": "CON.F.US.ENQ.U26"})["contract"]
    assert expired["activeContract"] is False
    missing = px.call("/api/Contract/searchById", {"contractId": "CON.F.US.XXX.Z26"})
    assert (missing["success"], missing["errorCode"], missing["contract"]) == (False, 1, None)
    available = px.ok("/api/Contract/available", {"live": False})["contracts"]
    assert "CON.F.US.EP.H27" in {c["id"] for c in available}
    assert "CON.F.US.EP.U26" not in {c["id"] for c in available}


# ---------------------------------------------------------------------------------------------------
# §3.3-§3.8 orders, positions, trades
def test_market_order_fills_and_opens_a_position(
    fake: FakeProjectX, px: Client, account: int, nq: str
) -> None:
    seen: list[HubEvent] = []
    fake.add_listener(seen.append)
    result = place(px, account, nq, size=2, customTag="entry-1")
    order_id = result["orderId"]
    assert result["success"] and order_id >= 1_000_000_000  # int64, ~10 digits
    order = by_id(orders(px, account), order_id)
    assert order["status"] == 2 and order["fillVolume"] == 2 and order["filledPrice"] == 21000
    assert order["customTag"] == "entry-1" and order["symbolId"] == "F.US.ENQ"
    assert order["creationTimestamp"].endswith("+00:00")
    [position] = positions(px, account)
    assert (position["type"], position["size"], position["averagePrice"]) == (1, 2, 21000)
    assert position["contractId"] == nq and position["contractDisplayName"] == "NQZ26"
    [trade] = trades(px, account)
    assert trade["orderId"] == order_id and trade["profitAndLoss"] is None and trade["side"] == BUY
    assert (trade["fees"], trade["commissions"], trade["voided"]) == (2.8, 1.0, False)
    assert open_orders(px, account) == []
    # the events a user hub would push, order -> trade -> position -> account
    assert fake.wait_idle()
    assert [(e.target, e.data.get("status")) for e in seen] == [
        ("GatewayUserOrder", 6),
        ("GatewayUserOrder", 2),
        ("GatewayUserTrade", None),
        ("GatewayUserPosition", None),
        ("GatewayUserAccount", None),
    ]


def test_scale_in_reaverages_and_a_closing_fill_carries_pnl(
    fake: FakeProjectX, px: Client, account: int, nq: str
) -> None:
    place(px, account, nq)
    fake.set_market_price(nq, 21001.5)
    place(px, account, nq)
    [position] = positions(px, account)
    assert (position["size"], position["averagePrice"]) == (2, 21000.75)
    fake.set_market_price(nq, 21010)
    place(px, account, nq, side=SELL, size=2)
    assert positions(px, account) == []
    closing = trades(px, account)[-1]
    assert closing["profitAndLoss"] == (21010 - 21000.75) * 2 * 20  # 370.0 at $20/point
    assert fake.account(account)["balance"] == pytest.approx(50000 + 370 - 4 * (1.40 + 0.50))


def test_reversal_closes_the_row_and_opens_a_new_one(
    fake: FakeProjectX, px: Client, account: int, nq: str
) -> None:
    place(px, account, nq)
    [long] = positions(px, account)
    fake.set_market_price(nq, 20990)
    place(px, account, nq, side=SELL, size=3)
    [short] = positions(px, account)
    assert (short["type"], short["size"], short["averagePrice"]) == (2, 2, 20990)
    assert short["id"] != long["id"]
    assert trades(px, account)[-1]["profitAndLoss"] == -200.0
    closed = [e for e in fake.events if e.target == "GatewayUserPosition" and e.action == 2]
    assert [(e.data["id"], e.data["type"], e.data["size"]) for e in closed] == [(long["id"], 0, 0)]


def test_limit_order_works_until_the_price_crosses(
    fake: FakeProjectX, px: Client, account: int, nq: str
) -> None:
    order_id = place(px, account, nq, type=LIMIT, limitPrice=20990.25)["orderId"]
    [working] = open_orders(px, account)
    assert (working["id"], working["status"], working["limitPrice"], working["fillVolume"]) == (
        order_id,
        1,
        20990.25,
        0,
    )
    fake.set_market_price(nq, 20995)
    assert open_orders(px, account) and positions(px, account) == []
    fake.set_market_price(nq, 20988)  # gaps through the limit: fills at the limit
    assert open_orders(px, account) == []
    filled = by_id(orders(px, account), order_id)
    assert (filled["status"], filled["filledPrice"]) == (2, 20990.25)
    assert positions(px, account)[0]["averagePrice"] == 20990.25


def test_stop_order_triggers_at_the_market(fake: FakeProjectX, px: Client, account: int, nq: str) -> None:
    order_id = place(px, account, nq, type=STOP, side=SELL, stopPrice=20980)["orderId"]
    fake.set_market_price(nq, 20981)
    assert by_id(orders(px, account), order_id)["status"] == 1
    fake.set_market_price(nq, 20975.5)
    filled = by_id(orders(px, account), order_id)
    assert (filled["status"], filled["filledPrice"]) == (2, 20975.5)
    assert positions(px, account)[0]["type"] == 2


def test_marketable_limit_fills_at_once_at_the_market(px: Client, account: int, nq: str) -> None:
    order_id = place(px, account, nq, type=LIMIT, limitPrice=21005)["orderId"]
    assert by_id(orders(px, account), order_id)["filledPrice"] == 21000


def test_trailing_stop_follows_the_market(fake: FakeProjectX, px: Client, account: int, nq: str) -> None:
    order_id = place(px, account, nq, type=TRAILING, side=SELL, trailPrice=20990)["orderId"]
    order = by_id(open_orders(px, account), order_id)
    assert (order["trailDistance"], order["stopPrice"]) == (40, 20990)
    fake.set_market_price(nq, 21020)
    assert by_id(open_orders(px, account), order_id)["stopPrice"] == 21010
    fake.set_market_price(nq, 21009)
    assert by_id(orders(px, account), order_id)["status"] == 2


def test_modify_then_cancel(fake: FakeProjectX, px: Client, account: int, nq: str) -> None:
    order_id = place(px, account, nq, type=LIMIT, limitPrice=20900)["orderId"]
    px.ok("/api/Order/modify", {"accountId": account, "orderId": order_id, "size": 3, "limitPrice": 20950.5})
    [working] = open_orders(px, account)
    assert (working["id"], working["size"], working["limitPrice"]) == (order_id, 3, 20950.5)
    wrong_field = px.call("/api/Order/modify", {"accountId": account, "orderId": order_id, "stopPrice": 1})
    assert (wrong_field["success"], wrong_field["errorCode"]) == (False, 3)
    px.ok("/api/Order/cancel", {"accountId": account, "orderId": order_id})
    assert open_orders(px, account) == []
    assert by_id(orders(px, account), order_id)["status"] == 3
    again = px.call("/api/Order/cancel", {"accountId": account, "orderId": order_id})
    assert (again["success"], again["errorCode"]) == (False, 3)
    unknown = px.call("/api/Order/modify", {"accountId": account, "orderId": 42, "size": 1})
    assert (unknown["success"], unknown["errorCode"]) == (False, 2)
    fake.set_market_price(nq, 20000)
    assert positions(px, account) == []  # a cancelled order never fills


def test_modify_through_the_market_fills(px: Client, account: int, nq: str) -> None:
    order_id = place(px, account, nq, type=LIMIT, limitPrice=20900)["orderId"]
    px.ok("/api/Order/modify", {"accountId": account, "orderId": order_id, "limitPrice": 21000})
    assert by_id(orders(px, account), order_id)["status"] == 2


def test_custom_tag_is_unique_per_account_forever(
    fake: FakeProjectX, px: Client, account: int, nq: str
) -> None:
    first = place(px, account, nq, type=LIMIT, limitPrice=20000, customTag="copy-7")
    px.ok("/api/Order/cancel", {"accountId": account, "orderId": first["orderId"]})
    response = px.raw(
        "/api/Order/place",
        {
            "accountId": account,
            "contractId": nq,
            "type": MARKET,
            "side": BUY,
            "size": 1,
            "customTag": "copy-7",
        },
    )
    assert response.status_code == 200
    duplicate = response.json()
    assert (duplicate["success"], duplicate["errorCode"]) == (False, 2)
    assert "copy-7" in duplicate["errorMessage"]
    assert len(orders(px, account)) == 1 and positions(px, account) == []
    other = fake.add_account(USER, "PRAC-V2-2")  # another account may use the same tag
    assert place(px, other, nq, customTag="copy-7")["success"]


# ---------------------------------------------------------------------------------------------------
# §3.3 brackets
def bracket_entry(px: Client, account: int, nq: str, **fields: Any) -> dict[str, Any]:
    return place(
        px,
        account,
        nq,
        customTag="T",
        stopLossBracket={"ticks": -20, "type": STOP},
        takeProfitBracket={"ticks": 40, "type": LIMIT},
        **fields,
    )


def test_brackets_need_auto_oco(fake: FakeProjectX, px: Client, nq: str) -> None:
    plain = fake.add_account(USER, "PRAC-V2-3")  # Position Brackets: the platform default
    refused = bracket_entry(px, plain, nq)
    assert (refused["success"], refused["errorCode"], refused["errorMessage"]) == (
        False,
        2,
        BRACKETS_NEED_AUTO_OCO,
    )
    assert orders(px, plain) == [] and positions(px, plain) == []
    fake.update_account(plain, auto_oco=True)
    assert bracket_entry(px, plain, nq)["success"]  # the tag was not consumed by the refusal


@pytest.mark.parametrize(
    ("side", "sl", "tp", "needle"),
    [
        (BUY, 20, 40, "stop loss ticks (20)"),
        (BUY, -2, 40, "at least 4 ticks"),
        (BUY, -20, -40, "take profit ticks (-40)"),
        (SELL, -20, -40, "stop loss ticks (-20)"),
        (SELL, 20, 30, "Ticks should be less than zero when going short"),
    ],
)
def test_bracket_ticks_are_signed_by_side(
    px: Client, account: int, nq: str, side: int, sl: int, tp: int, needle: str
) -> None:
    result = place(
        px,
        account,
        nq,
        side=side,
        stopLossBracket={"ticks": sl, "type": STOP},
        takeProfitBracket={"ticks": tp, "type": LIMIT},
    )
    assert (result["success"], result["errorCode"]) == (False, 2)
    assert needle in result["errorMessage"]


def test_bracket_legs_activate_on_fill_and_cancel_each_other(
    fake: FakeProjectX, px: Client, account: int, nq: str
) -> None:
    entry_id = bracket_entry(px, account, nq, type=LIMIT, limitPrice=20990)["orderId"]
    # children exist at once, suspended without prices, hidden from both searches
    assert [o["id"] for o in open_orders(px, account)] == [entry_id]
    assert [o["id"] for o in orders(px, account)] == [entry_id]
    sl, tp = (o for o in fake.orders(account) if o["parentOrderId"] == entry_id)
    assert (sl["customTag"], sl["status"], sl["stopPrice"], sl["side"]) == ("T-SL", 8, None, SELL)
    assert (tp["customTag"], tp["status"], tp["linkedOrderId"]) == ("T-TP", 8, sl["id"])
    assert (sl["trailDistance"], sl["trailPrice"], tp["trailDistance"], tp["trailPrice"]) == (-20, -5, 40, 10)

    fake.set_market_price(nq, 20990)  # the entry fills at 20990: the legs go live at absolute prices
    live = {o["customTag"]: o for o in open_orders(px, account)}
    assert (live["T-SL"]["type"], live["T-SL"]["stopPrice"]) == (STOP, 20985)
    assert (live["T-TP"]["type"], live["T-TP"]["limitPrice"]) == (LIMIT, 21000)

    fake.set_market_price(nq, 21000.25)  # take profit
    final = {o["customTag"]: o["status"] for o in orders(px, account)}
    assert final == {"T": 2, "T-SL": 3, "T-TP": 2}
    assert positions(px, account) == []
    assert trades(px, account)[-1]["profitAndLoss"] == 200.0  # 10 points x $20
    reused = place(px, account, nq, customTag="T-SL")
    assert (reused["success"], reused["errorCode"]) == (False, 2)


def test_moving_one_leg_leaves_the_other(fake: FakeProjectX, px: Client, account: int, nq: str) -> None:
    bracket_entry(px, account, nq)
    legs = {o["customTag"]: o for o in open_orders(px, account)}
    px.ok("/api/Order/modify", {"accountId": account, "orderId": legs["T-SL"]["id"], "stopPrice": 20999})
    after = {o["customTag"]: o for o in open_orders(px, account)}
    assert after["T-SL"]["stopPrice"] == 20999 and after["T-TP"] == {
        **legs["T-TP"],
        "updateTimestamp": after["T-TP"]["updateTimestamp"],
    }
    fake.set_market_price(nq, 20998)  # stop loss
    assert {o["customTag"]: o["status"] for o in orders(px, account)} == {"T": 2, "T-SL": 2, "T-TP": 3}


def test_cancelling_the_entry_cancels_its_suspended_legs(
    fake: FakeProjectX, px: Client, account: int, nq: str
) -> None:
    entry_id = bracket_entry(px, account, nq, type=LIMIT, limitPrice=20000)["orderId"]
    px.ok("/api/Order/cancel", {"accountId": account, "orderId": entry_id})
    assert {o["status"] for o in fake.orders(account)} == {3}


# ---------------------------------------------------------------------------------------------------
# §3.7 closing positions
def test_close_contract_flattens_and_cancels_the_legs(
    fake: FakeProjectX, px: Client, account: int, nq: str
) -> None:
    bracket_entry(px, account, nq, size=2)
    fake.set_market_price(nq, 20997)  # above the stop loss at 20995
    result = px.ok("/api/Position/closeContract", {"accountId": account, "contractId": nq})
    assert "orderId" not in result
    assert positions(px, account) == [] and open_orders(px, account) == []
    closing = trades(px, account)[-1]
    assert (closing["side"], closing["size"], closing["profitAndLoss"]) == (SELL, 2, -120.0)
    flat = px.call("/api/Position/closeContract", {"accountId": account, "contractId": nq})
    assert (flat["success"], flat["errorCode"]) == (False, 2)


def test_partial_close(px: Client, account: int, nq: str) -> None:
    place(px, account, nq, size=3)
    body = {"accountId": account, "contractId": nq}
    too_big = px.call("/api/Position/partialCloseContract", {**body, "size": 4})
    assert (too_big["success"], too_big["errorCode"]) == (False, 5)  # InvalidCloseSize: codes shift vs close
    px.ok("/api/Position/partialCloseContract", {**body, "size": 2})
    [position] = positions(px, account)
    assert (position["type"], position["size"]) == (1, 1)


# ---------------------------------------------------------------------------------------------------
# §3.9 rejections, errors and limits
def test_business_rejections_use_the_endpoint_enum(
    fake: FakeProjectX, px: Client, account: int, nq: str
) -> None:
    fake.add_user("other", "k2")
    foreign = fake.add_account("other", "OTHER-1")
    assert place(px, foreign, nq)["errorCode"] == 1  # AccountNotFound: not this user's
    assert place(px, account, "CON.F.US.ENQ.Z99")["errorCode"] == 8  # ContractNotFound
    assert place(px, account, "CON.F.US.ENQ.U26")["errorCode"] == 9  # ContractNotActive
    fake.set_market_open(False)
    assert place(px, account, nq)["errorCode"] == 5  # OutsideTradingHours
    fake.set_market_open(True)
    locked = fake.add_account(USER, "LOCKED", can_trade=False)
    assert place(px, locked, nq)["errorCode"] == 4  # AccountViolation
    assert px.call("/api/Order/searchOpen", {"accountId": foreign})["errorCode"] == 1


def test_cancel_on_a_live_account_is_refused(fake: FakeProjectX, px: Client, nq: str) -> None:
    live = fake.add_account(USER, "LIVE-1", simulated=False)
    order_id = place(px, live, nq, type=LIMIT, limitPrice=20000)["orderId"]
    refused = px.call("/api/Order/cancel", {"accountId": live, "orderId": order_id})
    assert (refused["success"], refused["errorCode"], refused["errorMessage"]) == (
        False,
        6,
        "Live accounts not supported",
    )


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"type": 99}, "order type"),
        ({"type": 6}, "order type"),
        ({"side": 3}, "side"),
        ({"size": 0}, "size"),
        ({"type": LIMIT, "limitPrice": 21000.1}, "tick size"),
        ({"type": LIMIT}, "Limit price is required"),
        ({"type": STOP, "stopPrice": None}, "Stop price is required"),
    ],
)
def test_invalid_values_are_200_order_rejected(
    px: Client, account: int, nq: str, fields: dict[str, Any], needle: str
) -> None:
    result = place(px, account, nq, **fields)
    assert (result["success"], result["errorCode"], result["orderId"]) == (False, 2, 0)
    assert needle in result["errorMessage"]


@pytest.mark.parametrize(
    "body",
    [
        {"accountId": "12", "contractId": "x", "type": 2, "side": 0, "size": 1},
        {"accountId": 1, "contractId": "x", "type": 2, "side": 0, "size": 1.5},
        {"accountId": 1, "contractId": 5, "type": 2, "side": 0, "size": 1},
        {"accountId": 1, "contractId": "x", "type": 2, "side": 0},
        {"accountId": 1, "contractId": "x", "type": 2, "side": 0, "size": 1, "stopLossBracket": {"ticks": 1}},
        [1, 2],
    ],
)
def test_ill_typed_bodies_are_400_problem_details(px: Client, body: Any) -> None:
    response = px.raw("/api/Order/place", body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] and problem["errors"]


def test_bad_json_and_wrong_content_type(px: Client) -> None:
    headers = {"Authorization": f"Bearer {px.token}"}
    bad = px.http.post(
        px.base_url + "/api/Order/searchOpen",
        data=b"{nope",
        headers={**headers, "Content-Type": "application/json"},
        timeout=5,
    )
    assert bad.status_code == 400
    form = px.http.post(
        px.base_url + "/api/Order/searchOpen", data={"accountId": "1"}, headers=headers, timeout=5
    )
    assert form.status_code == 415


def test_unknown_fields_ignored_names_and_paths_case_insensitive(px: Client, account: int, nq: str) -> None:
    body = {"AccountId": account, "CONTRACTID": nq, "type": MARKET, "side": BUY, "size": 1, "color": "blue"}
    assert px.ok("/api/order/PLACE", body)["orderId"]
    assert px.ok("/API/Position/searchopen", {"accountid": account})["positions"]


def test_rate_limit_answers_429() -> None:
    server = FakeProjectX(rate_limit=5, rate_window=60)
    server.add_user(USER, KEY)
    server.start()
    try:
        px = Client(server.base_url).login()  # 1 (counted per client before login)
        statuses = [px.raw("/api/Account/search", {"onlyActiveAccounts": True}).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]  # 5 per token per window
        other = Client(server.base_url).login()  # another token has its own budget
        assert other.raw("/api/Account/search", {"onlyActiveAccounts": True}).status_code == 200
    finally:
        server.stop()


def test_rate_limit_window_slides_with_the_clock() -> None:
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    server = FakeProjectX(rate_limit=2, rate_window=60, clock=lambda: now[0])
    server.add_user(USER, KEY)
    server.start()
    try:
        px = Client(server.base_url).login()
        search = {"onlyActiveAccounts": True}
        assert [px.raw("/api/Account/search", search).status_code for _ in range(3)] == [200, 200, 429]
        now[0] += timedelta(seconds=61)
        assert px.raw("/api/Account/search", search).status_code == 200
    finally:
        server.stop()


def test_default_rate_limit_is_200_per_60s(fake: FakeProjectX) -> None:
    assert (fake.rate_limit, fake.rate_window) == (200, 60)


# ---------------------------------------------------------------------------------------------------
# fault knobs
def test_fault_429_and_500_do_not_apply(fake: FakeProjectX, px: Client, account: int, nq: str) -> None:
    fake.fail_next("/api/Order/place", "rate_limit")
    fake.fail_next("/api/order/place", "http500")
    body = {"accountId": account, "contractId": nq, "type": MARKET, "side": BUY, "size": 1, "customTag": "a"}
    assert px.raw("/api/Order/place", body).status_code == 429
    assert px.raw("/api/Order/place", body).status_code == 500
    assert orders(px, account) == []
    assert px.ok("/api/Order/place", body)["orderId"]  # the tag is still free


def test_timeout_applies_after_the_client_gave_up(
    fake: FakeProjectX, px: Client, account: int, nq: str
) -> None:
    fake.fail_next("/api/Order/place", "timeout", delay=1.0)
    body = {
        "accountId": account,
        "contractId": nq,
        "type": MARKET,
        "side": BUY,
        "size": 1,
        "customTag": "c-1",
    }
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        px.raw("/api/Order/place", body, timeout=0.3)
    assert time.monotonic() - started < 0.9
    assert fake.wait_idle(5)
    retry_client = Client(px.base_url, px.token)  # the adapter's look-up before a retry
    [order] = [o for o in orders(retry_client, account) if o["customTag"] == "c-1"]
    assert order["status"] == 2 and positions(retry_client, account)[0]["size"] == 1
    blind_retry = place(retry_client, account, nq, customTag="c-1")
    assert (blind_retry["success"], blind_retry["errorCode"]) == (False, 2)  # the tag saves the day


def test_drop_after_apply(fake: FakeProjectX, px: Client, account: int, nq: str) -> None:
    fake.fail_next("/api/Order/cancel", "drop_after_apply")
    order_id = place(px, account, nq, type=LIMIT, limitPrice=20000)["orderId"]
    with pytest.raises(requests.exceptions.ConnectionError):
        px.raw("/api/Order/cancel", {"accountId": account, "orderId": order_id})
    assert by_id(orders(Client(px.base_url, px.token), account), order_id)["status"] == 3


def test_fail_next_rejects_unknown_kinds_and_paths(fake: FakeProjectX) -> None:
    with pytest.raises(ValueError):
        fake.fail_next("/api/Order/place", "explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        fake.fail_next("/api/Order/nope", "http500")


def test_ping_needs_no_token(fake: FakeProjectX) -> None:
    response = requests.get(fake.base_url + "/api/Status/ping", timeout=5)
    assert (response.status_code, response.json()) == (200, "pong")


# ---------------------------------------------------------------------------------------------------
# the CLI
def test_cli_starts_seeded_and_prints_credentials() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.brokers.projectx", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()
        creds = json.loads(process.stdout.readline())
        px = Client(creds["baseUrl"]).login(creds["userName"], creds["apiKey"])
        [account] = px.ok("/api/Account/search", {"onlyActiveAccounts": True})["accounts"]
        assert account["id"] == creds["accountId"] and account["canTrade"]
    finally:
        process.terminate()
        assert process.wait(10) == 0
