"""devstack.brokers.tradovate.FakeTradovate over real sockets, with ``requests``: what the notes
(/work/shared/brokers/tradovate.md) say Tradovate does, section by section."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.brokers.tradovate import FakeTradovate, PropsEvent

CREDS = {
    "name": "alice",
    "password": "pw-1",
    "appId": "copier",
    "appVersion": "1.0",
    "cid": 8,
    "sec": "s3cr3t",
}
ACCOUNT = "DEMO3701228"


class Client:
    def __init__(self, base: str, account_id: int, contract: str) -> None:
        self.base, self.account_id, self.contract = base, account_id, contract
        self.http = requests.Session()
        self.token = ""

    def login(self, **override: Any) -> requests.Response:
        response = self.http.post(
            f"{self.base}/auth/accesstokenrequest", json={**CREDS, **override}, timeout=5
        )
        if response.status_code == 200 and "accessToken" in response.json():
            self.token = response.json()["accessToken"]
        return response

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        return self.http.get(f"{self.base}/{path}", params=params, headers=headers, timeout=5)

    def post(self, path: str, body: dict[str, Any], timeout: float = 5) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.http.post(f"{self.base}/{path}", json=body, headers=headers, timeout=timeout)

    def order_body(self, **fields: Any) -> dict[str, Any]:
        body = {
            "accountSpec": ACCOUNT,
            "accountId": self.account_id,
            "action": "Buy",
            "symbol": self.contract,
            "orderQty": 1,
            "orderType": "Market",
            "timeInForce": "Day",
            "isAutomated": True,
        }
        return {**body, **fields}

    def place(self, **fields: Any) -> dict[str, Any]:
        response = self.post("order/placeorder", self.order_body(**fields))
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    def status(self, order_id: int) -> str:
        return str(self.get("order/item", id=order_id).json()["ordStatus"])

    def position(self) -> dict[str, Any]:
        rows = self.get("position/list").json()
        assert len(rows) == 1
        row: dict[str, Any] = rows[0]
        return row


@pytest.fixture
def fake() -> Iterator[FakeTradovate]:
    server = FakeTradovate()
    user = server.add_user(CREDS["name"], CREDS["password"], app_id="copier", cid=8, sec="s3cr3t")
    server.add_account(user, ACCOUNT, balance=50_000)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(fake: FakeTradovate) -> Client:
    account_id = next(a["id"] for a in fake.snapshot(CREDS["name"])["accounts"])
    nq = fake.contract("NQ")["name"]
    fake.set_market_price(nq, 21500.0)
    logged_in = Client(fake.base_url, account_id, nq)
    assert logged_in.login().status_code == 200
    return logged_in


# ----------------------------------------------------------------------------------------------
# §2 authentication
def test_login_then_renew_gives_a_new_later_token_in_the_same_session(fake: FakeTradovate) -> None:
    client = Client(fake.base_url, 0, "")
    first = client.login().json()
    assert {"accessToken", "mdAccessToken", "expirationTime", "userId", "name"} <= set(first)
    assert first["name"] == "alice" and first["expirationTime"].endswith("Z")
    time.sleep(0.01)
    renewed = client.get("auth/renewAccessToken")  # §2.2: GET, Bearer, no body; path case-insensitive
    assert renewed.status_code == 200
    body = renewed.json()
    assert body["accessToken"] != first["accessToken"] and body["expirationTime"] > first["expirationTime"]
    assert fake.live_sessions("alice") == 1  # renewal extends the session, it does not open one
    assert client.get("account/list", token=body["accessToken"]).status_code == 200
    assert client.http.post(f"{fake.base_url}/auth/renewaccesstoken", timeout=5).status_code == 405


def test_a_third_login_kills_the_oldest_session(fake: FakeTradovate) -> None:
    client = Client(fake.base_url, 0, "")
    tokens = [client.login().json()["accessToken"] for _ in range(3)]
    assert client.get("account/list", token=tokens[0]).status_code == 401
    assert [client.get("account/list", token=t).status_code for t in tokens[1:]] == [200, 200]
    assert fake.live_sessions("alice") == 2


def test_failed_logins_lead_to_a_captcha_penalty(fake: FakeTradovate) -> None:
    client = Client(fake.base_url, 0, "")
    for _ in range(5):  # P-RL: 5 failures per IP and rolling hour
        failed = client.login(password="wrong")
        assert failed.status_code == 200 and failed.json()["errorText"]
    penalty = client.login()  # even the right password: the IP is penalised for about an hour
    assert penalty.status_code == 200
    body = penalty.json()
    assert body["p-captcha"] is True and body["p-ticket"] and 3000 < body["p-time"] <= 3600
    again = client.login(**{"p-ticket": body["p-ticket"]})  # a captcha ticket clears nothing
    assert again.json().get("p-captcha") is True


def test_failed_login_can_answer_401(fake: FakeTradovate) -> None:
    fake.login_failure_mode = "401"
    response = Client(fake.base_url, 0, "").login(sec="wrong")
    assert response.status_code == 401 and "accessToken" not in response.json()


def test_cid_may_be_a_string(fake: FakeTradovate) -> None:
    assert "accessToken" in Client(fake.base_url, 0, "").login(cid="8").json()


def test_expired_or_missing_token_is_401(client: Client, fake: FakeTradovate) -> None:
    assert client.get("account/list").status_code == 200
    fake.expire_tokens()
    for response in (
        client.get("account/list"),
        client.post("order/placeorder", client.order_body()),
        client.get("auth/renewaccesstoken"),  # renewal must happen before expiry (I-50)
        client.get("order/list", token=""),
    ):
        assert response.status_code == 401
    assert client.get("order/list").content == b""
    assert client.login().status_code == 200 and client.get("account/list").status_code == 200


# ----------------------------------------------------------------------------------------------
# §3.0-3.2 entities
def test_account_list_and_the_contract_chain(client: Client) -> None:
    [account] = client.get("account/list").json()
    assert account["name"] == ACCOUNT and account["id"] == client.account_id and account["active"] is True
    contract = client.get("contract/find", name=client.contract).json()
    assert contract["providerTickSize"] == 0.25 and client.contract.startswith("NQ")
    assert client.get("Contract/Item", id=contract["id"]).json() == contract
    maturity = client.get("contractMaturity/item", id=contract["contractMaturityId"]).json()
    product = client.get("product/item", id=maturity["productId"]).json()
    assert (product["name"], product["tickSize"], product["valuePerPoint"]) == ("NQ", 0.25, 20.0)
    assert client.get("product/find", name="MNQ").json()["valuePerPoint"] == 2.0
    names = {c["name"] for c in client.get("contract/suggest", t="NQ", l=10).json()}
    assert len([n for n in names if n.startswith("NQ")]) == 2  # current and next quarter
    assert client.get("contract/find", name="NQZ0").status_code == 404
    assert client.get("nosuch/list").status_code == 404
    cash = client.get("cashBalance/deps", masterid=client.account_id).json()
    assert cash[0]["amount"] == 50_000.0


# ----------------------------------------------------------------------------------------------
# §3.3-3.8 orders, fills, positions
def test_market_order_fills_and_opens_a_position(client: Client) -> None:
    order_id = client.place(orderQty=2, text="copier-1")["orderId"]
    assert client.status(order_id) == "Filled"
    # one id for the order, its New command and its first version (§3.10); text echoed (§3.12)
    version = client.get("orderVersion/item", id=order_id).json()
    assert version["text"] == "copier-1" and version["orderQty"] == 2 and version["orderType"] == "Market"
    assert client.get("command/item", id=order_id).json()["commandType"] == "New"
    [fill] = client.get("fill/deps", masterid=order_id).json()
    assert (fill["qty"], fill["price"], fill["action"]) == (2, 21500.0, "Buy")
    trade = [r for r in client.get("executionReport/list").json() if r["execType"] == "Trade"]
    assert trade[0]["ordStatus"] == "Filled" and trade[0]["cumQty"] == 2
    position = client.position()
    assert (position["netPos"], position["netPrice"], position["bought"]) == (2, 21500.0, 2)
    client.place(action="Sell", orderQty=3)
    position = client.position()
    assert (position["netPos"], position["netPrice"]) == (-1, 21500.0)  # flipped at the fill price


def test_limit_order_works_until_the_market_crosses_it(client: Client, fake: FakeTradovate) -> None:
    order_id = client.place(orderType="Limit", price=21400.0)["orderId"]
    assert client.status(order_id) == "Working"
    fake.set_market_price(client.contract, 21410.0)
    assert client.status(order_id) == "Working"
    fake.set_market_price(client.contract, 21390.0)
    assert client.status(order_id) == "Filled"
    assert client.get("fill/list").json()[0]["price"] == 21400.0
    stop_id = client.place(action="Sell", orderType="Stop", stopPrice=21300.0)["orderId"]
    fake.set_market_price(client.contract, 21299.75)
    assert client.status(stop_id) == "Filled" and client.position()["netPos"] == 0
    assert "netPrice" not in client.position()  # flat
    cash = client.post("cashBalance/getcashbalancesnapshot", {"accountId": client.account_id}).json()
    assert cash["realizedPnL"] == pytest.approx((21299.75 - 21400.0) * 20)


def test_modify_then_cancel(client: Client, fake: FakeTradovate) -> None:
    order_id = client.place(orderType="Limit", price=21000.0)["orderId"]
    modified = client.post(
        "order/modifyorder", {"orderId": order_id, "orderQty": 2, "orderType": "Limit", "price": 21100.0}
    ).json()
    command_id = modified["commandId"]
    version = client.get("orderVersion/item", id=command_id).json()  # version id == Modify command id
    assert (version["orderId"], version["price"], version["orderQty"]) == (order_id, 21100.0, 2)
    replaced = [r for r in client.get("executionReport/list").json() if r["execType"] == "Replaced"]
    assert replaced[0]["orderId"] == order_id
    no_type = client.post("order/modifyorder", {"orderId": order_id, "orderQty": 1, "price": 21000.0})
    assert no_type.status_code == 400
    cancelled = client.post("order/cancelorder", {"orderId": order_id}).json()
    assert "commandId" in cancelled and client.status(order_id) == "Canceled"
    again = client.post("order/cancelorder", {"orderId": order_id})
    assert again.status_code == 200 and again.json()["failureReason"] == "TooLate"
    fake.set_market_price(client.contract, 20000.0)
    assert client.get("fill/list").json() == []


def test_placeoso_legs_wait_for_the_entry_then_act_as_oco(client: Client, fake: FakeTradovate) -> None:
    result = client.post(
        "order/placeOSO",
        client.order_body(
            orderType="Limit",
            price=21400.0,
            orderQty=2,
            bracket1={"action": "Sell", "orderType": "Limit", "price": 21450.0},
            bracket2={"action": "Sell", "orderType": "Stop", "stopPrice": 21350.0},
        ),
    ).json()
    entry, take_profit, stop_loss = result["orderId"], result["oso1Id"], result["oso2Id"]
    assert [client.status(i) for i in (entry, take_profit, stop_loss)] == [
        "Working",
        "Suspended",
        "Suspended",
    ]
    assert client.get("command/item", id=take_profit).json()["commandStatus"] == "OnHold"
    leg = client.get("order/item", id=take_profit).json()
    assert leg["parentId"] == entry and leg["linkedId"] == stop_loss
    fake.set_market_price(client.contract, 21400.0)
    assert [client.status(i) for i in (entry, take_profit, stop_loss)] == ["Filled", "Working", "Working"]
    assert client.get("orderVersion/item", id=take_profit).json()["orderQty"] == 2  # the entry's quantity
    fake.set_market_price(client.contract, 21450.0)
    assert [client.status(i) for i in (take_profit, stop_loss)] == ["Filled", "Canceled"]
    assert client.position()["netPos"] == 0
    [pair] = client.get("fillPair/list").json()
    assert (pair["qty"], pair["buyPrice"], pair["sellPrice"]) == (2, 21400.0, 21450.0)
    cash = client.post("cashBalance/getCashBalanceSnapshot", {"accountId": client.account_id}).json()
    assert cash["realizedPnL"] == 2000.0 and cash["netLiq"] == 52_000.0


def test_cancelling_an_oso_entry_cancels_its_legs(client: Client) -> None:
    result = client.post(
        "order/placeoso",
        client.order_body(
            orderType="Limit",
            price=21000.0,
            bracket1={"action": "Sell", "orderType": "Limit", "price": 21100.0},
        ),
    ).json()
    client.post("order/cancelorder", {"orderId": result["orderId"]})
    assert client.status(result["oso1Id"]) == "Canceled"
    cancels = [
        c
        for c in client.get("command/deps", masterid=result["oso1Id"]).json()
        if c["commandType"] == "Cancel"
    ]
    assert cancels[0]["isAutomated"] is True
    assert client.post("order/placeoso", client.order_body()).json()["violations"]


def test_start_order_strategy_places_brackets_at_offsets(client: Client, fake: FakeTradovate) -> None:
    params = {
        "entryVersion": {"orderQty": 1, "orderType": "Market"},
        "brackets": [{"qty": 1, "profitTarget": 10, "stopLoss": -5}],
    }
    body = {
        "accountId": client.account_id,
        "accountSpec": ACCOUNT,
        "symbol": client.contract,
        "action": "Buy",
        "orderStrategyTypeId": 2,
        "params": json.dumps(params),
    }
    strategy = client.post("orderStrategy/startOrderStrategy", body).json()["orderStrategy"]
    assert strategy["status"] == "ActiveStrategy"
    links = client.get("orderStrategyLink/deps", masterid=strategy["id"]).json()
    legs = [link["orderId"] for link in links if link["label"] == "0"]
    prices = sorted(
        v.get("price", v.get("stopPrice"))
        for v in (client.get("orderVersion/item", id=i).json() for i in legs)
    )
    assert prices == [21495.0, 21510.0]
    fake.set_market_price(client.contract, 21495.0)
    assert client.get("orderStrategy/item", id=strategy["id"]).json()["status"] == "ExecutionFinished"
    assert client.position()["netPos"] == 0


def test_liquidateposition_cancels_working_orders_and_flattens(client: Client) -> None:
    client.place(orderQty=3)
    resting = client.place(orderType="Limit", price=21000.0)["orderId"]
    contract_id = client.get("contract/find", name=client.contract).json()["id"]
    result = client.post(
        "order/liquidatePosition", {"accountId": client.account_id, "contractId": contract_id, "admin": False}
    ).json()
    assert client.status(result["orderId"]) == "Filled" and client.status(resting) == "Canceled"
    assert client.position()["netPos"] == 0
    flat = client.post(
        "order/liquidateposition", {"accountId": client.account_id, "contractId": contract_id, "admin": False}
    )
    assert flat.json()["failureReason"]


def test_partial_fills_and_ioc(client: Client, fake: FakeTradovate) -> None:
    fake.fill_limit = 1
    order_id = client.place(orderType="Limit", price=21500.0, orderQty=3)["orderId"]
    assert client.status(order_id) == "Working" and client.position()["netPos"] == 1  # partial = Working
    fake.set_market_price(client.contract, 21500.0)
    fake.set_market_price(client.contract, 21500.0)
    assert client.status(order_id) == "Filled" and client.position()["netPos"] == 3
    ioc = client.place(orderQty=2, timeInForce="IOC")["orderId"]
    assert client.status(ioc) == "Canceled" and client.position()["netPos"] == 4
    fok = client.place(orderQty=2, timeInForce="FOK")["orderId"]
    assert client.status(fok) == "Canceled" and client.position()["netPos"] == 4


# ----------------------------------------------------------------------------------------------
# §4 errors, penalties, faults
def test_business_errors_are_http_200(client: Client, fake: FakeTradovate) -> None:
    unknown = client.post("order/placeorder", client.order_body(symbol="E6H9"))
    assert unknown.status_code == 200
    assert unknown.json() == {"failureReason": "UnknownReason", "failureText": "Access is denied"}  # I-45
    body = client.order_body()
    del body["accountSpec"]
    violation = client.post("order/placeorder", body)
    assert violation.status_code == 200 and violation.json()["violations"][0]["description"]
    assert client.place(orderType="Limit", price=21400.1)["failureReason"] == "InvalidPrice"
    fake.reject_next("MaxPosLimitReached", "Max position limit reached")
    assert client.place()["failureReason"] == "MaxPosLimitReached"
    fake.restrict_account(client.account_id, "TradingLocked")
    assert client.place()["failureReason"] == "TradingLocked"
    fake.restrict_account(client.account_id, None)
    assert "orderId" in client.place()
    snapshot = client.post("cashBalance/getcashbalancesnapshot", {"accountId": 1})
    assert snapshot.status_code == 200 and snapshot.json()["errorText"]
    assert client.post("order/placeorder", {}).status_code == 200
    assert client.http.post(f"{client.base}/order/placeorder", data=b"{", timeout=5).status_code == 400


def test_clordid_is_not_deduplicated_unless_switched_on(client: Client, fake: FakeTradovate) -> None:
    first, second = (client.place(clOrdId="copy-1")["orderId"] for _ in range(2))
    assert first != second  # §3.12: no server dedup documented
    assert client.get("command/item", id=first).json()["clOrdId"] == "copy-1"
    fake.dedupe_clordid = True
    assert client.place(clOrdId="copy-1")["orderId"] == first


def test_penalty_ticket_then_success_with_the_ticket(client: Client, fake: FakeTradovate) -> None:
    fake.fail_next("order/placeorder", "penalty", p_time=1)
    body = client.order_body()
    penalty = client.post("order/placeorder", body).json()
    assert set(penalty) == {"p-ticket", "p-time"} and penalty["p-time"] == 1
    assert (
        client.post("order/placeorder", body).json()["p-ticket"] == penalty["p-ticket"]
    )  # no ticket: still penalised
    early = client.post("order/placeorder", {**body, "p-ticket": penalty["p-ticket"]}).json()
    assert "p-ticket" in early  # before p-time
    time.sleep(1.05)
    done = client.post("order/placeorder", {**body, "p-ticket": penalty["p-ticket"]}).json()
    assert "orderId" in done and len(client.get("order/list").json()) == 1


def test_captcha_fault(client: Client, fake: FakeTradovate) -> None:
    fake.fail_next("/v1/order/placeorder", "captcha")
    assert client.post("order/placeorder", client.order_body()).json()["p-captcha"] is True
    assert client.post("order/placeorder", client.order_body()).json()["p-captcha"] is True
    assert client.get("order/list").json() == []


def test_timeout_still_applies_the_request(client: Client, fake: FakeTradovate) -> None:
    fake.fail_next("order/placeorder", "timeout", delay=0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.post("order/placeorder", client.order_body(text="tag-7"), timeout=0.2)
    deadline = time.monotonic() + 5
    orders: list[Any] = []
    while not orders and time.monotonic() < deadline:
        orders = client.get("order/list").json()
        time.sleep(0.05)
    assert len(orders) == 1 and client.get("orderVersion/item", id=orders[0]["id"]).json()["text"] == "tag-7"


def test_http500_is_not_applied_and_user_limits_answer_429(client: Client, fake: FakeTradovate) -> None:
    fake.fail_next("order/placeorder", "http500")
    assert client.post("order/placeorder", client.order_body()).status_code == 500
    assert client.get("order/list").json() == []
    fake.user_limits = (5000, 3)
    statuses = [client.get("account/list").status_code for _ in range(4)]
    assert 429 in statuses
    limited = client.get("account/list")
    assert limited.status_code == 429 and limited.content == b""


def test_renew_endpoint_penalty_is_cleared_by_its_ticket(client: Client, fake: FakeTradovate) -> None:
    fake.endpoint_limits["auth/renewaccesstoken"] = (1, 1.0, False)
    assert "accessToken" in client.get("auth/renewaccesstoken").json()
    penalty = client.get("auth/renewaccesstoken").json()
    assert penalty["p-time"] == 1 and "p-captcha" not in penalty
    time.sleep(1.05)
    assert "accessToken" in client.get("auth/renewaccesstoken", **{"p-ticket": penalty["p-ticket"]}).json()


# ----------------------------------------------------------------------------------------------
# events for a later websocket (§5.3, §5.5)
def test_entity_changes_reach_listeners_in_order(client: Client, fake: FakeTradovate) -> None:
    seen: list[PropsEvent] = []
    fake.add_listener(seen.append)
    order_id = client.place()["orderId"]
    kinds = [(e.entity_type, e.event_type) for e in seen]
    assert kinds[:3] == [("order", "Created"), ("command", "Created"), ("orderVersion", "Created")]
    assert ("fill", "Created") in kinds and ("position", "Updated") in kinds
    assert kinds.index(("fill", "Created")) < kinds.index(("position", "Updated"))
    assert all(e.account_id == client.account_id and e.user_id for e in seen)
    statuses = [
        e.entity["ordStatus"] for e in seen if e.entity_type == "order" and e.entity["id"] == order_id
    ]
    assert statuses == ["Unknown", "PendingNew", "Working", "Filled"]
    assert seen[0].props["e"] == "props" and seen[0].props["d"]["entityType"] == "order"
    assert set(fake.snapshot("alice")) >= {"users", "accounts", "orders", "positions", "contractGroups"}


def test_cli_prints_working_credentials() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.brokers.tradovate", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        while not lines or lines[-1] != "}\n":
            lines.append(process.stdout.readline())
        printed = json.loads("".join(lines))
        login = requests.post(
            f"{printed['baseUrl']}/auth/accesstokenrequest", json=printed["credentials"], timeout=5
        )
        assert "accessToken" in login.json()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_stop_limit_mit_trailing_stop_and_session_end(client: Client, fake: FakeTradovate) -> None:
    stop_limit = client.place(orderType="StopLimit", stopPrice=21510.0, price=21505.0)["orderId"]
    mit = client.place(action="Sell", orderType="MIT", price=21600.0, timeInForce="GTC")["orderId"]
    trailing = client.place(action="Sell", orderType="TrailingStop", pegDifference=20.0, timeInForce="GTC")
    day_limit = client.place(orderType="Limit", price=21000.0)["orderId"]
    fake.set_market_price(client.contract, 21512.0)  # stop triggers; the market is above the limit
    assert client.status(stop_limit) == "Working"
    fake.set_market_price(client.contract, 21505.0)
    assert client.status(stop_limit) == "Filled" and client.get("fill/list").json()[0]["price"] == 21505.0
    fake.set_market_price(client.contract, 21600.0)  # MIT sells; the trailing stop follows to 21580
    assert client.status(mit) == "Filled" and client.status(trailing["orderId"]) == "Working"
    fake.set_market_price(client.contract, 21581.0)
    assert client.status(trailing["orderId"]) == "Working"
    fake.set_market_price(client.contract, 21580.0)
    assert client.status(trailing["orderId"]) == "Filled"
    fake.end_session()
    assert client.status(day_limit) == "Expired"
    assert client.place(orderType="TrailingStopLimit", stopPrice=1.0, price=1.0)["failureReason"] == (
        "AdvancedTrailingStopUnsupported"
    )


def test_auth_me_and_the_423_fault(client: Client, fake: FakeTradovate) -> None:
    me = client.get("auth/me").json()
    assert me["name"] == "alice" and me["userId"] == client.login().json()["userId"]
    fake.fail_next("account/list", "http423")
    assert client.get("account/list").status_code == 423
    assert client.get("account/list").status_code == 200
