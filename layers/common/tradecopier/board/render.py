"""The follower board as HTML: one renderer for the dashboard's custom widget and the local page.

Plain HTML and CSS. ``refresh_seconds`` adds a tiny script that re-reads the page and swaps the board
in place (the local page); the CloudWatch widget runs no script and refreshes with its dashboard.
"""

from __future__ import annotations

from html import escape
from typing import Any

from tradecopier.board import status as st
from tradecopier.board.api_client import path

_STYLE = """
#board{font:13px/1.4 system-ui,sans-serif;color:#16191f}
#board h2{font-size:15px;margin:14px 0 4px}
#board table{border-collapse:collapse;width:100%}
#board th,#board td{text-align:left;padding:3px 8px;border-bottom:1px solid #e1e4e8;white-space:nowrap}
#board th{font-weight:600;background:#f4f5f7}
#board tr.state-locked td{background:#fde2e1}
#board tr.state-liquidate_only td{background:#fff1cc}
#board tr.sync-out_of_sync td.sync{background:#fde2e1}
#board .badge{padding:1px 6px;border-radius:8px;font-weight:600}
#board .badge.active{background:#dff3e3;color:#1d6b2f}
#board .badge.locked{background:#d13212;color:#fff}
#board .badge.liquidate_only{background:#f2a100;color:#000}
#board .muted{color:#687078}
#board .bad{color:#d13212;font-weight:600}
"""

_REFRESH = """<script>
(function(){var ms=%d;function tick(){fetch(location.href,{headers:{accept:'text/html'}})
.then(function(r){return r.ok?r.text():null}).then(function(t){if(!t)return;
var d=new DOMParser().parseFromString(t,'text/html').getElementById('board');
if(d){document.getElementById('board').replaceWith(d)}}).catch(function(){})
.finally(function(){setTimeout(tick,ms)})}setTimeout(tick,ms)})();
</script>"""

COLUMNS = (
    "Follower",
    "Broker",
    "State",
    "Sync",
    "Sizing",
    "Position",
    "Risk headroom",
    "Last copy",
    "Latency",
)


def page(data: dict[str, Any], *, link_base: str = "", refresh_seconds: int | None = None) -> str:
    """A whole HTML document (the local page)."""
    script = _REFRESH % (refresh_seconds * 1000) if refresh_seconds else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Trade copier: followers</title>'
        '<link rel="icon" href="data:,"><meta name="viewport" content="width=device-width">'
        f"<style>body{{margin:16px}}{_STYLE}</style></head><body>{board(data, link_base=link_base)}"
        f"{script}</body></html>"
    )


def widget(data: dict[str, Any], *, link_base: str = "") -> str:
    """A fragment for a CloudWatch custom widget (its own styles, no script)."""
    return f"<style>{_STYLE}</style>{board(data, link_base=link_base)}"


def board(data: dict[str, Any], *, link_base: str = "") -> str:
    groups = data.get("groups") or []
    parts = [f'<div id="board" data-generated-at="{escape(str(data.get("generated_at", "")))}">']
    if not groups:
        parts.append(
            '<p class="muted">No groups yet. Create one: <code>tradecopier groups create</code>.</p>'
        )
    for group in groups:
        parts.append(_group(group, link_base))
    parts.append(f'<p class="muted">Updated {escape(str(data.get("generated_at", "")))}</p></div>')
    return "".join(parts)


def _group(group: dict[str, Any], link_base: str) -> str:
    leader = group.get("leader") or {}
    stream = st.leader_stream_text(leader)
    who = f"{escape(str(leader.get('account_id', '')))} ({escape(str(leader.get('broker', '')))})"
    who += "" if stream is None else f" · {escape(stream)}"
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    rows = "".join(_row(group["group_id"], f, link_base) for f in group.get("followers") or [])
    if not rows:
        rows = f'<tr><td colspan="{len(COLUMNS)}" class="muted">no followers</td></tr>'
    return (
        f'<section class="group" data-group="{escape(group["group_id"])}">'
        f'<h2>{escape(str(group.get("name", "")))} <span class="muted">{escape(group["group_id"])} · leader '
        f"{who}</span></h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _row(group_id: str, follower: dict[str, Any], link_base: str) -> str:
    state = st.state_of(follower)
    cells = [
        escape(follower["account_id"]),
        escape(f"{follower.get('broker', 'paper')} · {st.connection_of(follower)}"),
        _state_cell(follower, state),
        _sync_cell(follower),
        escape(st.sizing_of(follower)),
        escape(st.positions_text(follower)),
        _pnl_cell(follower),
        _copy_cell(group_id, follower.get("last_copy"), link_base),
        _latency(follower.get("last_copy")),
    ]
    tds = "".join(
        f'<td class="{name.split()[0].lower()}">{c}</td>' for name, c in zip(COLUMNS, cells, strict=True)
    )
    sync = escape(st.sync_of(follower) or "none")
    return (
        f'<tr class="follower state-{escape(state)} sync-{sync}" '
        f'data-account="{escape(follower["account_id"])}" data-state="{escape(state)}" '
        f'data-sync="{sync}">{tds}</tr>'
    )


def _state_cell(follower: dict[str, Any], state: str) -> str:
    text = f'<span class="badge {escape(state)}">{escape(state.replace("_", " "))}</span>'
    if follower.get("lock_reason"):
        text += f" {escape(str(follower['lock_reason']))}"
    if follower.get("locked_until"):
        text += f' <span class="muted">until {escape(str(follower["locked_until"]))}</span>'
    return text


def _sync_cell(follower: dict[str, Any]) -> str:
    text = escape(st.sync_text(follower))
    return f'<span class="bad">{text}</span>' if st.sync_of(follower) == "out_of_sync" else text


def _pnl_cell(follower: dict[str, Any]) -> str:
    parts = st.headroom(follower)
    return "<br>".join(map(escape, parts)) if parts else '<span class="muted">–</span>'


def _copy_cell(group_id: str, copy: dict[str, Any] | None, link_base: str) -> str:
    if not copy:
        return '<span class="muted">none yet</span>'
    href = link_base.rstrip("/") + path("groups", group_id, "events", copy["event_id"])
    what = f"{copy.get('status')} {copy.get('qty') or ''} {copy.get('symbol') or ''}".strip()
    reason = f' <span class="muted">{escape(str(copy["reason"]))}</span>' if copy.get("reason") else ""
    return f'<a class="copy" href="{escape(href)}">{escape(copy["event_id"])}</a> {escape(what)}{reason}'


def _latency(copy: dict[str, Any] | None) -> str:
    if not copy or copy.get("latency_ms") is None:
        return '<span class="muted">–</span>'
    return f"{int(copy['latency_ms'])} ms"
