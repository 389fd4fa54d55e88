"""The moments a trader hears of (``tradecopier.alerts``), one function per moment, each called on a
transition only (never on a healthy copy): a risk breach, the lock after its flatten, a risk lock
lifted at the session start, a follower found out of sync, a broker that stopped answering, a
leader stream that went down. Import this module lazily at the call site; nothing here raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tradecopier.alerts import Alert, AlertKind, AlertLedger, notify
from tradecopier.dal.copier.keys import iso
from tradecopier.domain.accounts import Follower
from tradecopier.domain.risk.rules import Breach


def _send(
    ledger: AlertLedger,
    kind: AlertKind,
    account_id: str,
    reason: str,
    figures: Mapping[str, Any],
    group_id: str | None,
    now: datetime,
) -> bool:
    return notify(Alert(kind, account_id, reason, figures, group_id), ledger=ledger, clock=lambda: now)


def _until(moment: datetime | None) -> str:
    return iso(moment) if moment is not None else "a reset"


def breach(ledger: AlertLedger, group_id: str, account_id: str, found: Breach, now: datetime) -> bool:
    """active → liquidate_only: the rule's reason carries the figure (``session P&L -1020.00``)."""
    figures = {"rule": found.rule.value, "locked until": _until(found.locked_until)}
    return _send(ledger, AlertKind.RISK_BREACH, account_id, found.reason, figures, group_id, now)


def liquidated(ledger: AlertLedger, group_id: str, follower: Follower, closed: int, now: datetime) -> bool:
    """Flat after a breach, and locked until the next session (or a reset)."""
    reason = f"flat and locked after {follower.lock_reason or 'a risk breach'}"
    figures = {"positions closed": closed, "locked until": _until(follower.locked_until)}
    return _send(ledger, AlertKind.FOLLOWER_LIQUIDATED, follower.account_id, reason, figures, group_id, now)


def unlocked(ledger: AlertLedger, group_id: str, account_id: str, now: datetime) -> bool:
    """The risk lock lifted by itself at the session start: copies resume."""
    reason = "risk lock lifted at the session start; copies resume"
    return _send(ledger, AlertKind.FOLLOWER_UNLOCKED, account_id, reason, {}, group_id, now)


def out_of_sync(
    ledger: AlertLedger, group_id: str, account_id: str, symbols: list[str], figures: str, now: datetime
) -> bool:
    """In sync (or unknown) → out of sync: which symbols, and what it holds against what it should."""
    reason = f"holds other than the leader's sized position in {', '.join(symbols)}"
    return _send(ledger, AlertKind.OUT_OF_SYNC, account_id, reason, {"positions": figures}, group_id, now)


def broker_disconnected(
    ledger: AlertLedger, group_id: str, account_id: str, status: str, detail: str | None, now: datetime
) -> bool:
    """A real broker that answered before and now does not (unreachable, login refused)."""
    reason = f"broker {status.replace('_', ' ')}" + (f": {detail}" if detail else "")
    return _send(ledger, AlertKind.BROKER_DISCONNECTED, account_id, reason, {}, group_id, now)


def leader_down(
    ledger: AlertLedger, group_id: str, account_id: str, state: str, reason: str | None, now: datetime
) -> bool:
    """The listener's stream of the leader's orders went from connected to ``state``."""
    text = f"the stream of the leader's orders is {state}" + (f": {reason}" if reason else "")
    return _send(ledger, AlertKind.LEADER_DISCONNECTED, account_id, text, {}, group_id, now)
