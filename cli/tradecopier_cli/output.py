"""Tables for people (rich), JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape as markup_escape
from rich.table import Table

from tradecopier.board import status as st

_STATE_STYLE = {"locked": "bold white on red", "liquidate_only": "bold black on yellow", "active": "green"}


def console() -> Console:
    return Console(soft_wrap=False, width=200 if not sys.stdout.isatty() else None)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    t = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        t.add_column(column)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    console().print(t)


def status_tables(data: dict[str, Any]) -> None:
    out = console()
    if not data["groups"]:
        out.print("no groups yet: tradecopier groups create NAME --leader ACCOUNT")
    for group in data["groups"]:
        leader = group.get("leader") or {}
        stream = st.leader_stream_text(leader)
        t = Table(
            title=f"{group.get('name')}  {group['group_id']}  "
            f"leader {leader.get('account_id')} ({leader.get('broker')})"
            + ("" if stream is None else f" · {markup_escape(stream)}"),
            title_justify="left",
        )
        for column in (
            "follower",
            "broker",
            "state",
            "sync",
            "sizing",
            "position",
            "risk headroom",
            "last copy",
            "latency",
        ):
            t.add_column(column)
        for f in group.get("followers") or []:
            t.add_row(*_status_row(f))
        out.print(t)


def _status_row(f: dict[str, Any]) -> list[str]:
    state = st.state_of(f)
    state_text = f"[{_STATE_STYLE.get(state, '')}]{state}[/]"
    if f.get("lock_reason"):
        state_text += f" {f['lock_reason']}"
    sync_text = st.sync_text(f)
    if st.sync_of(f) == "out_of_sync":
        sync_text = f"[red]{sync_text}[/]"
    copy = f.get("last_copy") or {}
    copy_text = f"{copy['event_id']} {copy.get('status')} {copy.get('qty') or ''}".strip() if copy else "-"
    latency = "-" if copy.get("latency_ms") is None else f"{copy['latency_ms']} ms"
    return [
        f["account_id"],
        f"{f.get('broker', 'paper')} ({st.connection_of(f)})",
        state_text,
        sync_text,
        st.sizing_of(f),
        st.positions_text(f),
        "; ".join(st.headroom(f)) or "-",
        copy_text,
        latency,
    ]


FOLLOWER_COLUMNS = (
    "account",
    "broker",
    "state",
    "multiplier",
    "max_qty",
    "rounding",
    "simulate",
    "lock_reason",
)


def follower_rows(followers: Iterable[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            f["account_id"],
            f.get("broker"),
            st.state_of(f),
            f.get("multiplier"),
            f.get("max_qty"),
            f.get("rounding"),
            f.get("simulate"),
            f.get("lock_reason"),
        ]
        for f in followers
    ]


def copy_rows(event: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            c["account_id"],
            c.get("status"),
            c.get("qty"),
            c.get("broker_order_id"),
            c.get("latency_ms"),
            c.get("reason"),
        ]
        for c in event.get("copies") or []
    ]


COPY_COLUMNS = ("account", "status", "qty", "broker order", "latency ms", "reason")
