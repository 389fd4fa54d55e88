"""End-to-end sync on the local stack (API.md v2 "Sync"): a follower whose broker was unreachable
while the leader bought is out_of_sync; close_only closes once the leader is flat; mirror catches up
within its ticks and only reports beyond them; a locked follower is never opened; a manual trade
shows out_of_sync and alert leaves it alone. ``POST /groups/{id}/sync`` runs the check the schedule
runs (``tradecopier.logic.sync.run_sync_checks``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack.samples import market
from devstack.stack import LocalStack
from tests.e2e.conftest import Api, uid

pytestmark = pytest.mark.e2e


def _send(api: Api, group_id: str, token: str, event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    response = api.send(group_id, token, event)
    assert response.status_code == 202, response.text
    return api.wait_final(group_id, event["event_id"], timeout=240)  # a shared, loaded machine


def _check(api: Api, group_id: str, *, act: bool) -> dict[str, dict[str, Any]]:
    body = api.ok("POST" if act else "GET", f"/groups/{group_id}/sync")
    return {follower["account_id"]: follower for follower in body["followers"]}


def _nq(report: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in report["symbols"] if s["symbol"] == "NQZ6")


def test_missed_buy_out_of_sync_then_mirror_catches_up_within_the_ticks(api: Api) -> None:
    group_id, token, leader = api.group()
    mirror, alert = uid("EVAL"), uid("EVAL")
    for account in (mirror, alert):
        api.follower(
            group_id, account, simulate="disconnect", sync_policy="mirror" if account == mirror else "alert"
        )
    copies = _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, price=21450, position_after=2))
    assert {copy["status"] for copy in copies.values()} == {"failed"}  # unreachable, then locked
    for account in (mirror, alert):
        api.ok("PATCH", f"/groups/{group_id}/followers/{account}", {"simulate": None})

    report = _check(api, group_id, act=False)
    assert report[mirror]["status"] == report[alert]["status"] == "out_of_sync"
    assert _nq(report[mirror]) == {
        "symbol": "NQZ6",
        "leader_qty": 2,
        "expected_qty": 2,
        "actual_qty": 0,
        "status": "out_of_sync",
    }
    # Still locked after the failed copy: a locked follower is never opened.
    acted = _check(api, group_id, act=True)
    assert "may only reduce" in acted[mirror]["actions"][0]["reason"] and api.positions(mirror) == {}

    for account in (mirror, alert):
        api.ok("POST", f"/groups/{group_id}/followers/{account}/unlock")
    acted = _check(api, group_id, act=True)
    assert acted[mirror]["status"] == "in_sync" and api.positions(mirror) == {"NQZ6": 2}
    assert acted[alert]["status"] == "out_of_sync" and api.positions(alert) == {}
    _check(api, group_id, act=True)
    assert len(api.orders(mirror)) == 1  # checked again: never a second catch-up
    assert api.orders(leader) == []
    [entry] = [
        e
        for e in api.ok("GET", f"/groups/{group_id}/followers/{mirror}/sync-history")["entries"]
        if e["action"] == "catch_up"
    ]
    assert (entry["status"], entry["qty"], entry["leader_avg_price"]) == ("placed", 2, "21450")
    follower = api.ok("GET", f"/groups/{group_id}/followers/{alert}")
    assert follower["sync"]["status"] == "out_of_sync" and follower["sync"]["symbols_out_of_sync"] == ["NQZ6"]


def test_mirror_refuses_when_the_price_moved_too_far(api: Api) -> None:
    group_id, token, _ = api.group()
    follower = uid("EVAL")
    api.follower(group_id, follower, sync_policy="mirror", max_catchup_ticks=8, simulate="disconnect")
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, price=21450, position_after=2))
    api.ok("PATCH", f"/groups/{group_id}/followers/{follower}", {"simulate": None})
    api.ok("POST", f"/groups/{group_id}/followers/{follower}/unlock")
    # The market ran: the leader adds 1 at 21475 (entry average 21458.33, 66.7 ticks away).
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=1, price=21475, position_after=3))
    acted = _check(api, group_id, act=True)[follower]
    assert acted["status"] == "out_of_sync" and _nq(acted)["actual_qty"] == 1
    assert "price moved too far" in acted["actions"][0]["reason"]
    assert api.positions(follower) == {"NQZ6": 1}


def test_close_only_closes_after_the_leader_goes_flat(api: Api) -> None:
    group_id, token, _ = api.group()
    follower = uid("EVAL")
    api.follower(group_id, follower, sync_policy="close_only")
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, price=21450, position_after=2))
    api.ok("PATCH", f"/groups/{group_id}/followers/{follower}", {"simulate": "disconnect"})
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, side="sell", price=21460, position_after=0))
    api.ok("PATCH", f"/groups/{group_id}/followers/{follower}", {"simulate": None})
    assert api.positions(follower) == {"NQZ6": 2}
    assert _check(api, group_id, act=False)[follower]["status"] == "out_of_sync"
    acted = _check(api, group_id, act=True)[follower]
    assert acted["status"] == "in_sync" and api.positions(follower) == {}


@pytest.fixture
def paper_account(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Trades by hand in a paper account of the stack (as a trader would in the broker's platform)."""
    from tradecopier import aws
    from tradecopier.brokers.paper import PaperBroker
    from tradecopier.brokers.paper.store import PaperStore

    for name, value in stack.client_env.items():
        monkeypatch.setenv(name, value)
    aws.clear_clients()
    table = next(name for lid, name in stack.tables.items() if lid == "PaperBrokerTable")
    yield lambda account_id: PaperBroker(account_id, PaperStore(table))
    aws.clear_clients()


def test_manual_trade_is_out_of_sync_and_alert_leaves_it(api: Api, paper_account: Any) -> None:
    from tradecopier.domain.enums import OrderType, Side
    from tradecopier.domain.orders import FollowerOrder

    group_id, token, _ = api.group()
    follower = uid("EVAL")
    api.follower(group_id, follower)
    _send(api, group_id, token, market(uid("E"), uid("L"), qty=2, price=21450, position_after=2))
    assert _check(api, group_id, act=False)[follower]["status"] == "in_sync"
    paper_account(follower).place(
        FollowerOrder(
            client_order_id=uid("manual"),
            account_id=follower,
            symbol="NQZ6",
            side=Side.SELL,
            qty=1,
            order_type=OrderType.MARKET,
            reference_price=21452,
        )
    )
    acted = _check(api, group_id, act=True)[follower]
    assert acted["status"] == "out_of_sync" and _nq(acted)["actual_qty"] == 1
    assert acted["actions"][0]["action"] == "reported"
    assert api.positions(follower) == {"NQZ6": 1}
