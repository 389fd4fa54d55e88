"""The fake Tradovate of the ``listener`` bench part, in its own process: it stamps a tagged order
(a copier copy: ``clOrdId``) when its placement is done, reports fills, and serves new users."""

from __future__ import annotations

import time

from bench.e2e import Api
from bench.leaderfake import LeaderFake
from bench.listener import Platform


def test_a_tagged_order_is_stamped_by_the_fake_between_the_call_and_its_answer() -> None:
    with LeaderFake() as fake:
        credentials = fake.add_user("follower1")
        assert (credentials["broker_account"], credentials["api_url"]) == ("FOLLOWER1", fake.rest)
        platform = Platform.login(fake, "follower1")
        assert platform.account["name"] == "FOLLOWER1" and fake.synced() == 0

        untagged, _ = platform.place("buy", 1)
        assert fake.wait_fill(untagged, timeout=10) is not None
        body = {
            "accountSpec": "FOLLOWER1",
            "accountId": platform.account["id"],
            "action": "Sell",
            "symbol": fake.symbol,
            "orderQty": 1,
            "orderType": "Market",
            "isAutomated": True,
            "clOrdId": "tc-" + "a" * 40,
        }
        sent = time.time()
        status, answer = Api(fake.rest).call("POST", "/v1/order/placeorder", body, platform.headers)
        returned = time.time()
        assert status == 200 and "orderId" in answer, answer
        stamped = fake.wait_placed(["tc-" + "a" * 40], timeout=10)
        assert stamped is not None and sent <= stamped[0] <= returned
        assert fake.wait_placed(["tc-" + "b" * 40], timeout=0.3) is None  # never placed
