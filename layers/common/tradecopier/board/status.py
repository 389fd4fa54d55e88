"""The ``status`` data: every group, its followers, each follower's position per symbol and its last
copy. Read from the HTTP API only, so the CLI, the dashboard widget and the local page agree.

v2 follower fields (``state`` values, ``locked_until``, ``risk_status``, ``connection``, ``sync``)
are shown where the API gives them; a follower without them is shown with what it has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from tradecopier.board.api_client import ApiError, Unreachable, path

Get = Callable[[str], Any]
EVENTS_PER_GROUP = 20  # the last copies come from the group's latest events
PARALLEL_READS = 8
ERROR_CHARS = 90  # of a broker's failure, on its follower's row
Positions = tuple[list[dict[str, Any]] | None, str | None]  # (open positions, why they are unknown)


def collect(get: Get, group_ids: Iterable[str] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """``{"generated_at", "groups": [group + followers with "positions" and "last_copy"]}``.

    Per group, three reads at once: the group, its latest events and every follower's positions
    (``GET /groups/{id}/positions``, one call); a stack without that route is read one account at
    a time. A follower whose broker does not answer shows why (``positions_error``)."""
    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        if group_ids is None:
            groups = list(get("/groups")["groups"])
            ids = [g["group_id"] for g in groups]
            events, positions = _per_group(pool, get, ids)
        else:
            ids = list(group_ids)
            group_reads = [pool.submit(get, path("groups", gid)) for gid in ids]
            events, positions = _per_group(pool, get, ids)
            groups = [read.result() for read in group_reads]
        for gid, group in zip(ids, groups, strict=True):
            followers = group.get("followers") or []
            held = _held(pool, get, positions[gid], [f["account_id"] for f in followers])
            group_events = events[gid].result()
            for follower in followers:
                follower["positions"], follower["positions_error"] = held[follower["account_id"]]
                follower["last_copy"] = last_copy(group_events, follower["account_id"])
    return {"generated_at": (now or datetime.now(UTC)).isoformat(), "groups": groups}


def _per_group(
    pool: ThreadPoolExecutor, get: Get, ids: list[str]
) -> tuple[dict[str, Future[list[dict[str, Any]]]], dict[str, Future[dict[str, Positions] | None]]]:
    events = {gid: pool.submit(_events, get, gid) for gid in ids}
    positions = {gid: pool.submit(_group_positions, get, gid) for gid in ids}
    return events, positions


def _held(
    pool: ThreadPoolExecutor,
    get: Get,
    answer: Future[dict[str, Positions] | None],
    accounts: list[str],
) -> dict[str, Positions]:
    """Every follower's positions: from the group's answer; one read per account it lacks (a stack
    without the route, or a follower added between the two reads)."""
    held = answer.result() or {}
    missing = [a for a in accounts if a not in held]
    held.update(zip(missing, pool.map(lambda a: _positions(get, a), missing), strict=True))
    return held


def _events(get: Get, group_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = get(path("groups", group_id, "events") + f"?limit={EVENTS_PER_GROUP}")[
        "events"
    ]
    return events


def _group_positions(get: Get, group_id: str) -> dict[str, Positions] | None:
    """By account, from ``GET /groups/{id}/positions``; None where the stack has no such route."""
    try:
        body = get(path("groups", group_id, "positions"))
    except (ApiError, Unreachable):  # no such route (an older stack), or it failed: per account
        return None
    return {
        entry["account_id"]: (
            None if entry.get("positions") is None else _open(entry["positions"]),
            entry.get("error"),
        )
        for entry in body.get("followers") or []
    }


def _positions(get: Get, account_id: str) -> Positions:
    try:
        body = get(path("accounts", account_id, "positions"))
    except (ApiError, Unreachable) as error:  # a real broker may be down: the board still shows the rest
        return None, str(error)
    return _open(body.get("positions") or []), None


def _open(positions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in positions if p.get("qty")]


def last_copy(events: list[dict[str, Any]], account_id: str) -> dict[str, Any] | None:
    """The newest copy of ``account_id`` among the events, with its event's id, type and time."""
    for event in sorted(events, key=lambda e: str(e.get("received_at") or ""), reverse=True):
        for copy in event.get("copies") or []:
            if copy.get("account_id") == account_id:
                return {
                    "event_id": event["event_id"],
                    "type": event.get("type"),
                    "received_at": event.get("received_at"),
                    "symbol": (event.get("event") or {}).get("symbol"),
                    **{k: copy.get(k) for k in ("status", "qty", "reason", "latency_ms", "broker_order_id")},
                }
    return None


def session_pnl(follower: dict[str, Any]) -> tuple[Any, Any]:
    """(session P&L, daily loss limit) where the follower's risk fields give them, else None."""
    risk_status = follower.get("risk_status") or {}
    risk = follower.get("risk") or {}
    return risk_status.get("session_pnl"), risk.get("daily_loss_limit")


def state_of(follower: dict[str, Any]) -> str:
    return str(follower.get("state") or "active")


def connection_of(follower: dict[str, Any]) -> str:
    conn = follower.get("connection")
    if isinstance(conn, dict) and conn.get("status"):
        return str(conn["status"])
    return "simulated" if follower.get("broker", "paper") == "paper" else "unknown"


def leader_stream_text(leader: dict[str, Any]) -> str | None:
    """``stream connected``, ``stream reconnecting: silent for 10.2 s``, ``stream not running``; None
    for a leader without a stream (paper, or an API from before ``leader_stream``)."""
    stream = leader.get("leader_stream")
    if not isinstance(stream, dict) or not stream.get("status"):
        return None
    text = "stream " + str(stream["status"]).replace("_", " ")
    return f"{text}: {stream['detail']}" if stream.get("detail") else text


def sync_of(follower: dict[str, Any]) -> str | None:
    sync = follower.get("sync")
    return str(sync["status"]) if isinstance(sync, dict) and sync.get("status") else None


def sync_text(follower: dict[str, Any]) -> str:
    """``in sync``, ``out of sync NQZ6, ESZ6``, ``unknown``; ``-`` before its first check."""
    status = sync_of(follower)
    if status is None:
        return "-"
    symbols = (follower.get("sync") or {}).get("symbols_out_of_sync") or []
    text = status.replace("_", " ")
    return f"{text} {', '.join(map(str, symbols))}" if status == "out_of_sync" and symbols else text


def _money(value: Any) -> str:
    return f"{float(value):,.2f}"


def headroom(follower: dict[str, Any]) -> list[str]:
    """The risk figures against their limits: ``P&L -1,020.00 / -1,000.00``, ``floor 48,000.00
    (balance 48,500.00)``, ``trades 2/3``; empty for a follower without rules."""
    risk_status, risk = follower.get("risk_status") or {}, follower.get("risk") or {}
    parts: list[str] = []
    pnl, limit = session_pnl(follower)
    if pnl is not None:
        parts.append(f"P&L {float(pnl):+,.2f}" + ("" if limit is None else f" / -{_money(limit)}"))
    if risk_status.get("drawdown_floor") is not None:
        balance = risk_status.get("balance")
        parts.append(
            f"floor {_money(risk_status['drawdown_floor'])}"
            + ("" if balance is None else f" (balance {_money(balance)})")
        )
    if risk_status.get("trades_today") is not None and risk.get("max_trades_per_day") is not None:
        parts.append(f"trades {risk_status['trades_today']}/{risk['max_trades_per_day']}")
    return parts


def sizing_of(follower: dict[str, Any]) -> str:
    parts = [f"x{follower.get('multiplier', 1)}"]
    if follower.get("max_qty") is not None:
        parts.append(f"max {follower['max_qty']}")
    if follower.get("inverse"):
        parts.append("inverse")
    if follower.get("symbol_map"):
        parts.append(",".join(f"{k}->{v}" for k, v in follower["symbol_map"].items()))
    if follower.get("copy_mode") == "fills":
        parts.append("fills")
    return " ".join(parts)


def positions_text(follower: dict[str, Any]) -> str:
    """``NQZ6 +2 ESZ6 -1``, ``flat``, or ``? <why>`` when the broker did not answer."""
    if follower.get("positions") is None:
        error = str(follower.get("positions_error") or "").strip()
        return f"? {error[: ERROR_CHARS - 3] + '...' if len(error) > ERROR_CHARS else error}".strip()
    return " ".join(f"{p['symbol']} {p['qty']:+d}" for p in follower["positions"]) or "flat"
