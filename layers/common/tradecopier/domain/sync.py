"""Sync (API.md v2 "Sync (reconciliation)"): what a follower should hold, whether it does, and what
its ``sync_policy`` does about it. Pure: every figure comes in as an argument.

- ``expected_position``: the leader's signed position sized for one follower with the SAME code as
  copies (``map_symbol``, ``side_for`` for inverse, ``size_copy`` for multiplier, rounding and
  ``max_qty``), then capped by the risk rule ``max_position`` when the caller passes it.
- ``sync_status``: ``in_sync`` / ``out_of_sync`` / ``unknown`` (no leader position, or no broker answer).
- ``decide_catch_up``: per policy. ``alert`` changes nothing. ``close_only`` closes a position the
  leader does not have (leader flat, or the follower on the other side). ``mirror`` also trims a
  position larger than the leader's (sized) down to it (an exit: no price guard), and opens a
  missing or short position at market, only when the latest price is within ``max_catchup_ticks``
  of the leader's average entry price. Nothing ever opens on a follower that may only reduce
  (locked, liquidating), and no catch-up leaves the follower beyond the leader's sized position:
  the order takes the follower from ``actual`` to at most ``expected``, never past it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from tradecopier.domain.enums import Rounding, Side
from tradecopier.domain.instruments import is_micro, spec_for
from tradecopier.domain.leader_position import LeaderPosition
from tradecopier.domain.sizing import size_copy
from tradecopier.domain.symbols import map_symbol, side_for
from tradecopier.domain.sync_settings import SyncPolicy, SyncStatus

__all__ = ["SyncPolicy", "SyncStatus"]  # re-exported: callers of sync speak them


class SizedFollower(Protocol):
    """The follower settings sizing reads (``Follower`` has them all)."""

    @property
    def multiplier(self) -> Decimal: ...
    @property
    def rounding(self) -> Rounding: ...
    @property
    def max_qty(self) -> int | None: ...
    @property
    def symbol_map(self) -> dict[str, str]: ...
    @property
    def inverse(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Expected:
    leader_symbol: str
    symbol: str  # the follower's (mapped) symbol
    leader_qty: int
    qty: int  # signed
    explanation: str


def _sign(qty: int) -> int:
    return (qty > 0) - (qty < 0)


def max_position_contracts(max_position: int | None, micro_weight: Decimal, symbol: str) -> int | None:
    """How many contracts of ``symbol`` ``max_position`` allows on its own (a micro counts
    ``micro_weight``); None without the rule."""
    if max_position is None:
        return None
    if not is_micro(symbol) or micro_weight == 1:
        return max_position
    return int(Decimal(max_position) / micro_weight)


def expected_position(
    leader: LeaderPosition,
    follower: SizedFollower,
    *,
    max_position: int | None = None,
    micro_weight: Decimal = Decimal(1),
) -> Expected:
    """The follower's signed position in its mapped symbol for the leader's ``leader.qty``."""
    symbol = map_symbol(leader.symbol, follower.symbol_map)
    if leader.qty == 0:
        return Expected(leader.symbol, symbol, 0, 0, "leader flat")
    sizing = size_copy(abs(leader.qty), follower.multiplier, follower.rounding, follower.max_qty)
    qty, explanation = sizing.qty, sizing.explanation
    cap = max_position_contracts(max_position, micro_weight, symbol)
    if cap is not None and qty > cap:
        qty, explanation = cap, f"{explanation}, capped at max_position {cap}"
    leader_side = Side.BUY if leader.qty > 0 else Side.SELL
    signed = qty * side_for(leader_side, follower.inverse).sign
    if follower.inverse:
        explanation = f"inverse; {explanation}"
    return Expected(leader.symbol, symbol, leader.qty, signed, explanation)


def sync_status(expected: Expected | None, actual: int | None) -> SyncStatus:
    if expected is None or actual is None:
        return SyncStatus.UNKNOWN
    return SyncStatus.IN_SYNC if expected.qty == actual else SyncStatus.OUT_OF_SYNC


@dataclass(frozen=True, slots=True)
class CatchUp:
    """A market order on the follower: ``closing`` contracts reduce its position, ``opening`` add
    toward the leader's sized position. ``figures`` says why, in numbers."""

    symbol: str
    side: Side
    closing: int
    opening: int
    figures: str

    @property
    def qty(self) -> int:
        return self.closing + self.opening


@dataclass(frozen=True, slots=True)
class Refused:
    """Out of sync, and the policy does not act (or may not): reported only, with why."""

    symbol: str
    reason: str


@dataclass(frozen=True, slots=True)
class CatchUpRules:
    policy: SyncPolicy
    max_catchup_ticks: int
    may_only_reduce: bool
    lock_reason: str | None = None


def decide_catch_up(
    expected: Expected, actual: int, rules: CatchUpRules, leader: LeaderPosition
) -> CatchUp | Refused | None:
    """What the follower's policy does about ``actual`` ≠ ``expected.qty``; None when in sync."""
    if actual == expected.qty:
        return None
    figures = (
        f"leader {expected.leader_qty} {expected.leader_symbol} → expected {expected.qty} "
        f"({expected.explanation}), actual {actual}"
    )
    if rules.policy is SyncPolicy.ALERT:
        return Refused(expected.symbol, f"sync_policy alert: reported only; {figures}")
    wrong_side = actual != 0 and _sign(actual) != _sign(expected.qty)
    closing = abs(actual) if expected.qty == 0 or wrong_side else 0
    short = abs(expected.qty) - (0 if closing else abs(actual))
    if expected.qty != 0 and short < 0:
        # More than the leader (sized), same side: a missed partial exit, or rounding. Trimming it
        # is an exit (no price guard, allowed when locked): mirror does it, close_only reports it.
        if rules.policy is SyncPolicy.MIRROR:
            side = Side.SELL if actual > 0 else Side.BUY
            return CatchUp(
                expected.symbol, side, -short, 0, f"{figures}: reduce {-short} to the leader's (sized)"
            )
        return Refused(
            expected.symbol,
            f"the follower holds more than the leader (sized); close_only closes only what the leader "
            f"does not hold at all: reported only; {figures}",
        )
    opening, refusal = _opening(expected, short, rules, leader)
    if closing + opening == 0:
        return Refused(expected.symbol, f"{refusal}; {figures}")
    side = Side.BUY if (expected.qty - actual) > 0 else Side.SELL
    note = f"; open part refused: {refusal}" if refusal and closing else ""
    return CatchUp(
        expected.symbol, side, closing, opening, f"{figures}: close {closing}, open {opening}{note}"
    )


def _opening(expected: Expected, short: int, rules: CatchUpRules, leader: LeaderPosition) -> tuple[int, str]:
    """How much may be opened to catch up (``short`` at most), or 0 and why not."""
    if short <= 0:
        return 0, ""
    if rules.policy is not SyncPolicy.MIRROR:
        return 0, "sync_policy close_only never opens to catch up"
    if rules.may_only_reduce:
        return 0, f"follower locked ({rules.lock_reason}): a locked follower may only reduce"
    guard = price_guard(expected.symbol, leader, rules.max_catchup_ticks)
    if guard is not None:
        return 0, guard
    return short, ""


def price_guard(symbol: str, leader: LeaderPosition, max_ticks: int) -> str | None:
    """None when the latest price is within ``max_ticks`` ticks (of ``symbol``) of the leader's
    average entry price; else why a catch-up may not open."""
    if leader.avg_price is None or leader.last_price is None:
        return "no price guard: the leader's entry price or the latest price is not known"
    tick = spec_for(symbol).tick
    ticks = abs(leader.last_price - leader.avg_price) / tick
    if ticks > max_ticks:
        return (
            f"price moved too far: latest {shown(leader.last_price)} is {shown(ticks, '0.01')} ticks from "
            f"the leader's entry {shown(leader.avg_price)} (max_catchup_ticks {max_ticks})"
        )
    return None


def shown(value: Decimal, places: str = "0.00000001") -> str:
    """A figure as a trader reads it: at most 8 decimals (an average may have many), no trailing 0s."""
    return f"{value.quantize(Decimal(places)).normalize():f}"


def catch_up_client_order_id(group_id: str, account_id: str, symbol: str, as_of: str, actual: int) -> str:
    """Deterministic: the same follower, symbol, leader state and position it corrects give the
    same id, so a retried check finds the first order instead of placing a second."""
    digest = hashlib.sha256(f"sync#{group_id}#{account_id}#{symbol}#{as_of}#{actual}".encode()).hexdigest()
    return f"tc-{digest[:40]}"
