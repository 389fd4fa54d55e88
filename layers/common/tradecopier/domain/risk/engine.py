"""The risk engine: moves a follower's ``RiskState`` through sessions, marks and openings, and
answers with the breach to act on. Pure: the caller loads the state and the broker's snapshot,
passes the clock, persists the state it gets back and acts on the breach (liquidate_only →
flatten → locked). A breach repeats at every mark until the follower is locked; acting on it once
is the caller's part.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tradecopier.domain.risk.calendar import next_session_start, session_start
from tradecopier.domain.risk.rules import (
    Breach,
    check_flat_by,
    check_losses,
    drawdown_floor,
    high_water_mark_after,
    trades_this_session,
)
from tradecopier.domain.risk.settings import DrawdownMode, RiskSettings
from tradecopier.domain.risk.state import AccountSnapshot, RiskState, RiskStatus
from tradecopier.domain.types import StrictModel


class RiskOutcome(StrictModel):
    """The state to persist, and the breach to act on if a rule broke."""

    state: RiskState
    breach: Breach | None = None


def open_state(settings: RiskSettings, now: datetime, balance: Decimal | None = None) -> RiskState:
    """A follower's first state, in the session holding ``now``. ``balance`` is the broker's (a real
    account may not be at its starting balance); the high-water mark is never below the start."""
    start = settings.starting_balance
    current = start if balance is None else balance
    return RiskState(
        session_started_at=session_start(now),
        starting_balance=start,
        opening_balance=current,
        balance=current,
        high_water_mark=max(start, current),
    )


def session_over(state: RiskState, now: datetime) -> bool:
    return now >= next_session_start(state.session_started_at)


def roll_session(
    settings: RiskSettings, state: RiskState, snapshot: AccountSnapshot | None, now: datetime
) -> RiskState:
    """The session's close, for the scheduler: P&L and trades to 0, and for end_of_day the
    high-water mark takes the closing balance (the state's latest one if the broker gave none).
    After a missed run the new session is the one holding ``now``, not the one after the old."""
    closing = snapshot.net_balance if snapshot is not None else state.balance
    high_water_mark = state.high_water_mark
    if settings.effective_drawdown_mode is DrawdownMode.END_OF_DAY:
        high_water_mark = max(high_water_mark, closing)
    return state.model_copy(
        update={
            "session_started_at": session_start(now),
            "opening_balance": closing,
            "balance": closing,
            "realized_pnl": Decimal(0),
            "unrealized_pnl": snapshot.unrealized_pnl if snapshot is not None else state.unrealized_pnl,
            "trades_today": 0,
            "high_water_mark": high_water_mark,
        }
    )


def mark(settings: RiskSettings, state: RiskState, snapshot: AccountSnapshot, now: datetime) -> RiskState:
    """The state after a fill or a price: the broker's balance and open P&L, and the high-water mark
    for intraday trailing."""
    return state.model_copy(
        update={
            "balance": snapshot.net_balance,
            "realized_pnl": snapshot.net_balance - state.opening_balance,
            "unrealized_pnl": snapshot.unrealized_pnl,
            "high_water_mark": high_water_mark_after(settings, state.high_water_mark, snapshot.equity),
            "marked_at": now,
        }
    )


def on_mark(
    settings: RiskSettings, state: RiskState, snapshot: AccountSnapshot, now: datetime
) -> RiskOutcome:
    """After each fill or price mark: close a session the scheduler has not closed yet, mark, then
    check the loss rules. A late close uses the last balance of the old session, not this
    snapshot's, which may already hold the new session's P&L."""
    current = roll_session(settings, state, None, now) if session_over(state, now) else state
    breach = check_losses(settings, current, snapshot, now)
    return RiskOutcome(state=mark(settings, current, snapshot, now), breach=breach)


def on_clock(
    settings: RiskSettings, state: RiskState, snapshot: AccountSnapshot | None, now: datetime
) -> RiskOutcome:
    """The scheduler's once-a-minute call: roll the session when it is over, then flat-by."""
    current = roll_session(settings, state, snapshot, now) if session_over(state, now) else state
    breach = check_flat_by(settings, current, now)
    return RiskOutcome(state=current.model_copy(update={"flat_by_checked_at": now}), breach=breach)


def record_opening(state: RiskState, now: datetime | None = None) -> RiskState:
    """A copy that opens or adds was placed: it counts toward max_trades_per_day. With ``now``, a
    session that is already over counts from 0."""
    trades = state.trades_today if now is None else trades_this_session(state, now)
    return state.model_copy(update={"trades_today": trades + 1})


def reset_session(
    state: RiskState, now: datetime, balance: Decimal, starting_balance: Decimal | None = None
) -> RiskState:
    """``POST …/risk/reset``: a new session from ``now`` at the broker's ``balance``, P&L and trades 0.
    With ``starting_balance`` the balance and the high-water mark restart there too."""
    if starting_balance is not None:
        balance = starting_balance
    return state.model_copy(
        update={
            "session_started_at": now,
            "starting_balance": starting_balance if starting_balance is not None else state.starting_balance,
            "opening_balance": balance,
            "balance": balance,
            "realized_pnl": Decimal(0),
            "unrealized_pnl": Decimal(0),
            "trades_today": 0,
            "high_water_mark": starting_balance if starting_balance is not None else state.high_water_mark,
            "flat_by_checked_at": now,
        }
    )


def risk_status(settings: RiskSettings, state: RiskState) -> RiskStatus:
    """API.md's ``risk_status``: money figures when a loss rule is set, the high-water mark and
    floor with a trailing drawdown, the trade count with max_trades_per_day."""
    losses = settings.daily_loss_limit is not None or settings.trailing_drawdown is not None
    trailing = settings.trailing_drawdown is not None
    return RiskStatus(
        session_started_at=state.session_started_at,
        balance=state.balance if losses else None,
        realized_pnl=state.realized_pnl if losses else None,
        unrealized_pnl=state.unrealized_pnl if losses else None,
        session_pnl=state.realized_pnl + state.unrealized_pnl if losses else None,
        high_water_mark=state.high_water_mark if trailing else None,
        drawdown_floor=drawdown_floor(settings, state.high_water_mark) if trailing else None,
        trades_today=state.trades_today if settings.max_trades_per_day is not None else None,
    )
