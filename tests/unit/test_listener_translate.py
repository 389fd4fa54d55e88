"""The listener's pure translation: Tradovate user-sync entities → leader view → leader events.

Each case is a last-seen broker state and the broker state now (as raw Tradovate entities, the
shapes of broker notes §3.7, §3.8, §5.5), and the leader events that must come out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from listener.ours import is_copier_order
from listener.streams.tradovate_entities import EntityCache, MalformedEntity, leader_view
from listener.translate import LeaderView, diff
from tradecopier.domain.decide import client_order_id

LEADER, OTHER, NQ = 7001, 7002, 4327110
SYMBOLS = {NQ: "NQZ6"}
OURS = client_order_id("g-1", "E-1", "EVAL-1")

Json = dict[str, Any]


def order(
    oid: int, status: str, *, action: str = "Buy", account: int = LEADER, parent: int | None = None
) -> Json:
    row: Json = {"id": oid, "accountId": account, "contractId": NQ, "action": action, "ordStatus": status}
    if parent is not None:
        row["parentId"] = parent
    return row


def version(
    vid: int, oid: int, qty: int = 2, kind: str = "Market", text: str | None = None, **prices: float
) -> Json:
    row: Json = {"id": vid, "orderId": oid, "orderQty": qty, "orderType": kind, **prices}
    if text is not None:
        row["text"] = text
    return row


def fill(fid: int, oid: int, qty: int = 2, px: float = 21450.25, action: str = "Buy") -> Json:
    return {"id": fid, "orderId": oid, "qty": qty, "price": px, "action": action, "active": True}


def position(net: int, account: int = LEADER) -> Json:
    return {"id": 900 + account, "accountId": account, "contractId": NQ, "netPos": net}


def state(*rows: tuple[str, Json]) -> LeaderView:
    cache = EntityCache()
    for entity_type, entity in rows:
        cache.apply({"entityType": entity_type, "eventType": "Created", "entity": entity})
    view, _ = leader_view(cache, LEADER, SYMBOLS, is_copier_order)
    return view


def summary(old: LeaderView | None, new: LeaderView) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for event in diff(old, new, "tv").events:
        fields = event.model_dump(exclude_none=True, exclude={"occurred_at"})
        out.append((fields.pop("type"), fields.pop("event_id"), fields))
    return out


EMPTY = state()
WORKING_LIMIT = [
    ("order", order(10, "Working")),
    ("orderVersion", version(10, 10, 1, "Limit", price=21400.0)),
]
POSITION_2 = [("position", position(2))]

CASES: list[tuple[str, LeaderView | None, LeaderView, list[tuple[Any, ...]]]] = [
    ("first start: what predates the listener is the baseline", None, state(*WORKING_LIMIT), []),
    (
        "a market order placed and filled in one frame",
        EMPTY,
        state(
            ("order", order(10, "Filled")),
            ("orderVersion", version(10, 10)),
            ("fill", fill(13, 10)),
            *POSITION_2,
        ),
        [
            (
                "order.placed",
                "tv-10-placed",
                {
                    "order_id": "10",
                    "symbol": "NQZ6",
                    "side": "buy",
                    "qty": 2,
                    "order_type": "market",
                    "price": Decimal("21450.25"),
                    "position_after": 2,
                },
            ),
            (
                "order.filled",
                "tv-10-f13",
                {
                    "order_id": "10",
                    "symbol": "NQZ6",
                    "side": "buy",
                    "qty": 2,
                    "price": Decimal("21450.25"),
                    "position_after": 2,
                },
            ),
        ],
    ),
    (
        "pending (not yet taken by the broker): nothing yet",
        EMPTY,
        state(("order", order(10, "PendingNew")), ("orderVersion", version(10, 10))),
        [],
    ),
    (
        "rejected before it was taken: never copied",
        state(("order", order(10, "PendingNew")), ("orderVersion", version(10, 10))),
        state(("order", order(10, "Rejected")), ("orderVersion", version(10, 10))),
        [],
    ),
    (
        "a limit order: placed with its price",
        EMPTY,
        state(*WORKING_LIMIT),
        [
            (
                "order.placed",
                "tv-10-placed",
                {
                    "order_id": "10",
                    "symbol": "NQZ6",
                    "side": "buy",
                    "qty": 1,
                    "order_type": "limit",
                    "limit_price": Decimal("21400"),
                    "price": Decimal("21400"),
                    "position_after": 1,
                },
            )
        ],
    ),
    (
        "a modify (a new orderVersion) → order.modified named by the version id",
        state(*WORKING_LIMIT),
        state(*WORKING_LIMIT, ("orderVersion", version(22, 10, 1, "Limit", price=21390.5))),
        [
            (
                "order.modified",
                "tv-10-m22",
                {"order_id": "10", "symbol": "NQZ6", "qty": 1, "limit_price": Decimal("21390.5")},
            )
        ],
    ),
    (
        "a new version with the same terms is not a modify",
        state(*WORKING_LIMIT),
        state(*WORKING_LIMIT, ("orderVersion", version(22, 10, 1, "Limit", price=21400.0))),
        [],
    ),
    (
        "cancel",
        state(*WORKING_LIMIT),
        state(("order", order(10, "Canceled")), ("orderVersion", version(10, 10, 1, "Limit", price=21400.0))),
        [("order.cancelled", "tv-10-cancelled", {"order_id": "10", "symbol": "NQZ6"})],
    ),
    (
        "an OSO bracket: one order.placed with take_profit and stop_loss from the linked legs",
        EMPTY,
        state(
            *WORKING_LIMIT,
            ("order", order(11, "Suspended", action="Sell", parent=10)),
            ("orderVersion", version(11, 11, 1, "Limit", price=21450.0)),
            ("order", order(12, "Suspended", action="Sell", parent=10)),
            ("orderVersion", version(12, 12, 1, "Stop", stopPrice=21380.0)),
        ),
        [
            (
                "order.placed",
                "tv-10-placed",
                {
                    "order_id": "10",
                    "symbol": "NQZ6",
                    "side": "buy",
                    "qty": 1,
                    "order_type": "limit",
                    "limit_price": Decimal("21400"),
                    "price": Decimal("21400"),
                    "position_after": 1,
                    "take_profit": {"order_id": "11", "price": Decimal("21450")},
                    "stop_loss": {"order_id": "12", "price": Decimal("21380")},
                },
            )
        ],
    ),
    (
        "a leg fill closes the position: fill, position.flattened; the broker-cancelled sibling is silent",
        state(
            ("order", order(10, "Filled")),
            ("orderVersion", version(10, 10, 1)),
            ("fill", fill(13, 10, 1)),
            ("order", order(11, "Working", action="Sell", parent=10)),
            ("orderVersion", version(11, 11, 1, "Limit", price=21460.0)),
            ("order", order(12, "Working", action="Sell", parent=10)),
            ("orderVersion", version(12, 12, 1, "Stop", stopPrice=21380.0)),
            ("position", position(1)),
        ),
        state(
            ("order", order(10, "Filled")),
            ("orderVersion", version(10, 10, 1)),
            ("fill", fill(13, 10, 1)),
            ("order", order(11, "Filled", action="Sell", parent=10)),
            ("orderVersion", version(11, 11, 1, "Limit", price=21460.0)),
            ("fill", fill(30, 11, 1, 21460.0, "Sell")),
            ("order", order(12, "Canceled", action="Sell", parent=10)),
            ("orderVersion", version(12, 12, 1, "Stop", stopPrice=21380.0)),
            ("position", position(0)),
        ),
        [
            (
                "order.filled",
                "tv-11-f30",
                {
                    "order_id": "11",
                    "symbol": "NQZ6",
                    "side": "sell",
                    "qty": 1,
                    "price": Decimal("21460"),
                    "position_after": 0,
                },
            ),
            ("position.flattened", "tv-flat-NQZ6-30", {"symbol": "NQZ6"}),
        ],
    ),
    (
        "the copier's own order (tagged with our client order id) never comes back",
        EMPTY,
        state(
            ("order", order(10, "Filled")),
            ("orderVersion", version(10, 10, text=OURS)),
            ("fill", fill(13, 10)),
        ),
        [],
    ),
    (
        "another account of the same user is not the leader",
        EMPTY,
        state(
            ("order", order(10, "Working", account=OTHER)),
            ("orderVersion", version(10, 10, 1, "Limit", price=1.0)),
        ),
        [],
    ),
    (
        "reconnect: a working order that filled while the stream was down → only its fill",
        state(*WORKING_LIMIT),
        state(
            ("order", order(10, "Filled")),
            ("orderVersion", version(10, 10, 1, "Limit", price=21400.0)),
            ("fill", fill(14, 10, 1, 21400.0)),
            ("position", position(1)),
        ),
        [
            (
                "order.filled",
                "tv-10-f14",
                {
                    "order_id": "10",
                    "symbol": "NQZ6",
                    "side": "buy",
                    "qty": 1,
                    "price": Decimal("21400"),
                    "position_after": 1,
                },
            )
        ],
    ),
    (
        "placed and cancelled while down, never filled: nothing to copy",
        EMPTY,
        state(("order", order(10, "Canceled")), ("orderVersion", version(10, 10, 1, "Limit", price=21400.0))),
        [],
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_translation(old: LeaderView | None, new: LeaderView, expected: list[tuple[Any, ...]]) -> None:
    assert summary(old, new) == expected


def test_the_same_broker_fact_always_gives_the_same_event_ids() -> None:
    new = state(
        ("order", order(10, "Filled")), ("orderVersion", version(10, 10)), ("fill", fill(13, 10)), *POSITION_2
    )
    first = [e.event_id for e in diff(EMPTY, new, "tv").events]
    assert first == [e.event_id for e in diff(EMPTY, new, "tv").events] == ["tv-10-placed", "tv-10-f13"]
    assert diff(new, new, "tv").events == []  # a repeated frame changes nothing


def test_a_leg_first_seen_after_its_entry_was_copied_is_reported_not_copied() -> None:
    old = state(*WORKING_LIMIT)
    new = state(
        *WORKING_LIMIT,
        ("order", order(11, "Suspended", action="Sell", parent=10)),
        ("orderVersion", version(11, 11, 1, "Limit", price=21450.0)),
    )
    result = diff(old, new, "tv")
    assert (result.events, result.late_legs) == ([], [11])


def test_own_orders_are_counted() -> None:
    new = state(
        ("order", order(10, "Working")),
        ("orderVersion", version(10, 10, 1, "Limit", price=1.0, text=OURS + ":tp")),
    )
    assert diff(EMPTY, new, "tv").ours_skipped == 1


@pytest.mark.parametrize(
    "props",
    [
        None,
        [],
        {"entityType": "order", "eventType": "Exploded", "entity": {"id": 1}},
        {"entityType": "order", "eventType": "Created", "entity": {"id": "x"}},
        {"entityType": "order", "eventType": "Created", "entity": [{"nope": 1}]},
    ],
)
def test_malformed_props_raise_the_one_error_the_stream_counts(props: Any) -> None:
    with pytest.raises(MalformedEntity):
        EntityCache().apply(props)


def test_noise_entity_types_are_ignored_and_deleted_rows_go() -> None:
    cache = EntityCache()
    assert (
        cache.apply({"entityType": "userSessionStats", "eventType": "Updated", "entity": {"id": 1}}) is False
    )
    cache.apply({"entityType": "order", "eventType": "Created", "entity": order(10, "Working")})
    cache.apply({"entityType": "order", "eventType": "Deleted", "entity": {"id": 10}})
    assert cache.rows["order"] == {}


def test_an_order_on_an_unknown_contract_is_reported_unreadable() -> None:
    cache = EntityCache()
    cache.apply({"entityType": "order", "eventType": "Created", "entity": order(10, "Working")})
    cache.apply({"entityType": "orderVersion", "eventType": "Created", "entity": version(10, 10)})
    view, unreadable = leader_view(cache, LEADER, {}, is_copier_order)
    assert (view.orders, unreadable) == ({}, [10])


def test_our_client_order_ids_are_recognised() -> None:
    assert is_copier_order(OURS) and is_copier_order(OURS + ":sl")
    assert (
        not is_copier_order("Tradingview") and not is_copier_order(None) and not is_copier_order(OURS + "x")
    )
