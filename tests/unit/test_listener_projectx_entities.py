"""ProjectX hub payloads and REST rows → the leader view (pure)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from listener.ours import is_copier_order
from listener.streams.projectx import split_records, websocket_url
from listener.streams.projectx_entities import HubCache, MalformedEntity, leader_view
from listener.translate import Phase, diff
from tradecopier.brokers.projectx.parsing import event_data
from tradecopier.domain.enums import Leg, OrderType, Side

ACCOUNT, CONTRACT = 18000001, "CON.F.US.ENQ.Z26"


def order(
    oid: int, status: int = 1, updated: str = "2026-12-02T10:00:00.000001+00:00", **extra: Any
) -> dict[str, Any]:
    row = {
        "id": oid,
        "accountId": ACCOUNT,
        "contractId": CONTRACT,
        "symbolId": "F.US.ENQ",
        "creationTimestamp": "2026-12-02T10:00:00+00:00",
        "updateTimestamp": updated,
        "status": status,
        "type": 1,
        "side": 0,
        "size": 2,
        "limitPrice": 21400.25,
        "fillVolume": 0,
        **extra,
    }
    return row


def trade(tid: int, oid: int, size: int = 2) -> dict[str, Any]:
    return {
        "id": tid,
        "accountId": ACCOUNT,
        "contractId": CONTRACT,
        "creationTimestamp": "2026-12-02T10:00:01+00:00",
        "price": 21400.25,
        "fees": 1.4,
        "side": 0,
        "size": size,
        "voided": False,
        "orderId": oid,
    }


def view(cache: HubCache) -> Any:
    return leader_view(cache, ACCOUNT, is_copier_order)[0]


def test_an_open_limit_order_becomes_a_live_order_with_the_cme_symbol() -> None:
    cache = HubCache()
    assert cache.apply("GatewayUserOrder", order(3300000001))
    state = view(cache).orders[3300000001]
    assert (state.symbol, state.side, state.qty, state.order_type) == ("NQZ6", Side.BUY, 2, OrderType.LIMIT)
    assert (state.limit_price, state.phase) == (Decimal("21400.25"), Phase.LIVE)


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        (6, Phase.PENDING),
        (0, Phase.PENDING),
        (8, Phase.LIVE),
        (2, Phase.FILLED),
        (4, Phase.CANCELLED),
        (5, Phase.REJECTED),
    ],
)
def test_statuses_map_to_phases(status: int, phase: Phase) -> None:
    cache = HubCache()
    cache.apply("GatewayUserOrder", order(1, status))
    assert view(cache).orders[1].phase is phase


def test_an_older_update_never_overwrites_a_newer_one() -> None:
    cache = HubCache()
    cache.apply("GatewayUserOrder", order(1, 2, updated="2026-12-02T10:00:05+00:00"))
    cache.apply("GatewayUserOrder", order(1, 1, updated="2026-12-02T10:00:01+00:00"))
    assert view(cache).orders[1].phase is Phase.FILLED


def test_trades_are_fills_and_voided_ones_are_not() -> None:
    cache = HubCache()
    cache.apply("GatewayUserOrder", order(1, 2))
    cache.apply("GatewayUserTrade", trade(1700000001, 1))
    cache.apply("GatewayUserTrade", {**trade(1700000002, 1), "voided": True})
    fills = view(cache).orders[1].fills
    assert [(f.fill_id, f.qty, f.price) for f in fills] == [(1700000001, 2, Decimal("21400.25"))]


def test_positions_are_signed_and_a_closed_one_is_flat() -> None:
    cache = HubCache()
    short = {"id": 4, "accountId": ACCOUNT, "contractId": CONTRACT, "type": 2, "size": 3, "averagePrice": 1.0}
    cache.apply("GatewayUserPosition", short)
    assert view(cache).positions == {"NQZ6": -3}
    cache.apply("GatewayUserPosition", {**short, "type": 0, "size": 0})
    assert view(cache).positions == {"NQZ6": 0}


def test_a_suspended_bracket_child_is_priced_from_its_distance_and_rides_on_the_entry() -> None:
    cache = HubCache()
    cache.apply("GatewayUserOrder", order(10, 1, customTag="T", limitPrice=21400.0))
    stop_loss = order(
        11, 8, type=4, side=1, customTag="T-SL", parentOrderId=10, trailDistance=-40, trailPrice=-10.0
    )
    del stop_loss["limitPrice"]  # live payloads omit nulls
    take_profit = order(12, 8, side=1, customTag="T-TP", parentOrderId=10, linkedOrderId=11, trailPrice=20.0)
    del take_profit["limitPrice"]
    cache.apply("GatewayUserOrder", stop_loss)
    cache.apply("GatewayUserOrder", take_profit)
    orders = view(cache).orders
    assert (orders[11].leg, orders[11].stop_price) == (Leg.STOP_LOSS, Decimal("21390.0"))
    assert (orders[12].leg, orders[12].limit_price) == (Leg.TAKE_PROFIT, Decimal("21420.0"))
    placed = diff(leader_view(HubCache(), ACCOUNT, is_copier_order)[0], view(cache), "px").events[0]
    assert placed.event_id == "px-10-placed" and placed.stop_loss and placed.take_profit
    assert (placed.stop_loss.price, placed.take_profit.price) == (Decimal("21390.0"), Decimal("21420.0"))


def test_orders_the_copier_placed_are_marked_ours_children_included() -> None:
    cache = HubCache()
    tag = "tc-" + "b" * 40
    cache.apply("GatewayUserOrder", order(1, customTag=tag))
    cache.apply("GatewayUserOrder", order(2, 8, type=4, customTag=tag + "-SL", parentOrderId=1))
    cache.apply("GatewayUserOrder", order(3, customTag="my own tag"))
    orders = view(cache).orders
    assert (orders[1].ours, orders[2].ours, orders[3].ours) == (True, True, False)


def test_a_fill_seen_before_the_order_was_working_places_it_once() -> None:
    cache = HubCache()
    cache.apply("GatewayUserOrder", order(1, 6))
    first = view(cache)
    cache.apply("GatewayUserTrade", trade(1700000001, 1))
    second = view(cache)
    cache.apply("GatewayUserOrder", order(1, 2, updated="2026-12-02T10:00:02+00:00"))
    ids = [e.event_id for e in diff(first, second, "px").events + diff(second, view(cache), "px").events]
    assert ids == ["px-1-placed", "px-1-f1700000001"]


def test_other_accounts_and_unreadable_rows() -> None:
    cache = HubCache()
    cache.apply("GatewayUserOrder", {**order(1), "accountId": 99})
    cache.apply("GatewayUserOrder", order(2, type=3))  # StopLimit: not a domain order type
    leader, unreadable = leader_view(cache, ACCOUNT, is_copier_order)
    assert leader.orders == {} and unreadable == [2]
    with pytest.raises(MalformedEntity):
        cache.apply("GatewayUserOrder", {"id": "NaN"})
    assert not cache.apply("GatewayUserAccount", {"id": 1})


def test_the_snapshot_replaces_trades_and_positions_and_drops_finished_orders_out_of_its_window() -> None:
    cache = HubCache()
    cache.apply("GatewayUserOrder", order(1, 3))
    cache.apply("GatewayUserOrder", order(2, 1))
    cache.apply("GatewayUserTrade", trade(5, 2))
    cache.load_snapshot([order(3, 1)], [], [])
    assert sorted(cache.orders) == [2, 3] and cache.trades == {}


def test_records_and_urls() -> None:
    assert split_records('{"type":6}\x1e{bad\x1e{}\x1e') == ([{"type": 6}, {}], 1)
    assert event_data({"action": 1, "data": {"id": 1}}) == {"id": 1}
    assert event_data({"id": 1}) == {"id": 1}  # bare, as some report it (§4.3)
    url = websocket_url("https://rtc.topstepx.com/hubs/user", "c t", "jwt")
    assert url == "wss://rtc.topstepx.com/hubs/user?id=c%20t&access_token=jwt"
