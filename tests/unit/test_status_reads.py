"""``tradecopier status`` / the board's reads (``tradecopier.board.status.collect``): every follower's
positions in one call per group, one read per account only against a stack without that route,
and a follower whose broker does not answer shown with why, the others as usual."""

from __future__ import annotations

import threading
from typing import Any

from tradecopier.board import status
from tradecopier.board.api_client import ApiError
from tradecopier_cli import output

GROUP = {
    "group_id": "g-1",
    "name": "Funded",
    "leader": {"account_id": "LEAD", "broker": "paper"},
    "followers": [
        {"account_id": "EVAL-1", "broker": "paper", "multiplier": 2},
        {"account_id": "TV-1", "broker": "tradovate", "multiplier": 1},
    ],
}
DOWN = "the broker of TV-1 could not be reached: connection refused"
EVENTS = {
    "events": [
        {
            "event_id": "L-42",
            "type": "order.placed",
            "received_at": "2031-03-04T14:30:00Z",
            "event": {"symbol": "NQZ6"},
            "copies": [{"account_id": "EVAL-1", "status": "placed", "qty": 4, "latency_ms": 87}],
        }
    ]
}


class FakeApi:
    """Answers the status routes from fixed bodies; records every route read (from any thread)."""

    def __init__(self, *, bulk: bool) -> None:
        self.bulk = bulk
        self.reads: list[str] = []
        self._lock = threading.Lock()

    def get(self, route: str) -> Any:
        with self._lock:
            self.reads.append(route)
        if route == "/groups":
            return {"groups": [_fresh_group()]}
        if route == "/groups/g-1":
            return _fresh_group()
        if route.startswith("/groups/g-1/events?"):
            return EVENTS
        if route == "/groups/g-1/positions":
            if not self.bulk:
                raise ApiError(404, "not_found", "Not Found", route_missing=True)
            return {
                "group_id": "g-1",
                "followers": [
                    {
                        "account_id": "EVAL-1",
                        "broker": "paper",
                        "positions": [{"symbol": "NQZ6", "qty": 4, "avg_price": 21450.25}],
                        "error": None,
                    },
                    {"account_id": "TV-1", "broker": "tradovate", "positions": None, "error": DOWN},
                ],
            }
        if route == "/accounts/EVAL-1/positions":
            return {
                "account_id": "EVAL-1",
                "positions": [{"symbol": "NQZ6", "qty": 4, "avg_price": 21450.25}],
            }
        if route == "/accounts/TV-1/positions":
            raise ApiError(502, "broker_unreachable", DOWN)
        raise AssertionError(f"unexpected read {route}")


def _fresh_group() -> dict[str, Any]:
    return {**GROUP, "followers": [dict(f) for f in GROUP["followers"]]}


def _rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (group,) = data["groups"]
    return {f["account_id"]: f for f in group["followers"]}


def test_one_positions_read_per_group_and_none_per_follower() -> None:
    api = FakeApi(bulk=True)
    for group_ids in (None, ["g-1"]):
        api.reads.clear()
        rows = _rows(status.collect(api.get, group_ids))
        assert not [r for r in api.reads if r.startswith("/accounts/")], api.reads
        assert api.reads.count("/groups/g-1/positions") == 1
        assert rows["EVAL-1"]["positions"] == [{"symbol": "NQZ6", "qty": 4, "avg_price": 21450.25}]
        assert rows["EVAL-1"]["last_copy"]["event_id"] == "L-42"


def test_a_stack_without_the_route_is_read_one_account_at_a_time() -> None:
    api = FakeApi(bulk=False)
    rows = _rows(status.collect(api.get, ["g-1"]))
    assert sorted(r for r in api.reads if r.startswith("/accounts/")) == [
        "/accounts/EVAL-1/positions",
        "/accounts/TV-1/positions",
    ]
    assert [p["qty"] for p in rows["EVAL-1"]["positions"]] == [4]
    assert rows["TV-1"]["positions"] is None and DOWN in rows["TV-1"]["positions_error"]


def test_a_follower_whose_broker_is_down_says_so_on_its_row() -> None:
    for bulk in (True, False):
        rows = _rows(status.collect(FakeApi(bulk=bulk).get, ["g-1"]))
        down, healthy = output._status_row(rows["TV-1"]), output._status_row(rows["EVAL-1"])
        assert down[5].startswith("? ") and "TV-1 could not be reached" in down[5], down
        assert healthy[5] == "NQZ6 +4" and healthy[7] == "L-42 placed 4", healthy


def test_a_long_broker_error_is_cut_on_the_row() -> None:
    text = status.positions_text({"positions": None, "positions_error": "x" * 500})
    assert text.startswith("? xxx") and text.endswith("...") and len(text) == 2 + status.ERROR_CHARS
    assert status.positions_text({"positions": None}) == "?"
    assert status.positions_text({"positions": []}) == "flat"
