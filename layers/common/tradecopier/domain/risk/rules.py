"""The risk rules, as pure checks: opening rules before a copy that opens or adds, loss rules after
each fill or price mark, flat-by on the clock. Each answer names the rule and its figures.

Exits are never checked here: the caller passes only the part of a copy that opens or adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import AwareDatetime, Field

from tradecopier.domain.enums import Side
from tradecopier.domain.instruments import is_micro
from tradecopier.domain.risk.calendar import chicago_time, flat_by_due, in_window, next_session_start
from tradecopier.domain.risk.settings import DrawdownMode, RiskSettings
from tradecopier.domain.risk.state import AccountSnapshot, RiskState
from tradecopier.domain.symbols import matches
from tradecopier.domain.types import Quantity, StrictModel, Symbol

CENT = Decimal("0.01")


class RiskRule(StrEnum):
    ALLOWED_SYMBOLS = "allowed_symbols"
    TRADING_HOURS = "trading_hours"
    MAX_TRADES_PER_DAY = "max_trades_per_day"
    MAX_POSITION = "max_position"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    TRAILING_DRAWDOWN = "trailing_drawdown"
    FLAT_BY = "flat_by"


class OpeningProposal(StrictModel):
    """The part of a follower's copy that opens or adds to a position."""

    symbol: Symbol
    side: Side
    qty: Quantity


class OpeningVerdict(StrictModel):
    """How much of a proposed opening may go: all, a capped part, or nothing (``rejection``)."""

    qty: int = Field(ge=0)
    rule: RiskRule | None = None
    rejection: str | None = Field(default=None, description='"risk: <rule> ..." when qty is 0')
    capped: str | None = Field(default=None, description='"risk: max_position ..." when qty was cut')

    @property
    def allowed(self) -> bool:
        return self.qty > 0


class Breach(StrictModel):
    """A loss or clock rule the follower broke: flatten it, then lock it with ``reason``."""

    rule: RiskRule
    reason: str
    locked_until: AwareDatetime | None = Field(description="the next session start, or null until a reset")


def usd(amount: Decimal) -> str:
    """Two decimals for a reason a trader reads, rounded half up (never a binary float)."""
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):f}"


def _contracts(count: Decimal) -> str:
    """A (weighted) contract count without trailing zeros: 5, 2.5."""
    return f"{count.normalize():f}"


# --- opening rules ------------------------------------------------------------------------------


def contract_weight(settings: RiskSettings, symbol: str) -> Decimal:
    """What one contract of ``symbol`` counts toward max_position: micro_weight for a micro."""
    return settings.micro_weight if is_micro(symbol) else Decimal(1)


def contracts_held(settings: RiskSettings, positions: Mapping[str, int]) -> Decimal:
    """Absolute positions summed over all symbols, as prop firms count them (long 2 ES + short 3 CL = 5)."""
    return sum(
        (abs(qty) * contract_weight(settings, symbol) for symbol, qty in positions.items()), Decimal(0)
    )


def trades_this_session(state: RiskState, now: datetime) -> int:
    """The session's count; 0 once the session is over even if the roll has not run yet, so a late
    scheduler never blocks the next day's first trades."""
    return 0 if now >= next_session_start(state.session_started_at) else state.trades_today


def _rejected(rule: RiskRule, reason: str) -> OpeningVerdict:
    return OpeningVerdict(qty=0, rule=rule, rejection=f"risk: {rule.value} {reason}")


def check_opening(
    settings: RiskSettings,
    state: RiskState,
    proposal: OpeningProposal,
    positions: Mapping[str, int],
    now: datetime,
) -> OpeningVerdict:
    """The opening rules in order: allowed_symbols, trading_hours, max_trades_per_day, max_position.

    The first that says no rejects the copy; max_position may instead cap it to the room left.
    """
    symbol = proposal.symbol
    allowed = settings.allowed_symbols
    if allowed is not None and not any(matches(symbol, entry) for entry in allowed):
        return _rejected(RiskRule.ALLOWED_SYMBOLS, f"{', '.join(allowed)} do not include {symbol}")

    hours = settings.trading_hours
    if hours is not None and not in_window(hours.start, hours.end, now):
        wall = chicago_time(now).strftime("%H:%M")
        window = f"{hours.start:%H:%M}–{hours.end:%H:%M}"
        return _rejected(RiskRule.TRADING_HOURS, f"{window} CT (now {wall} CT)")

    cap = settings.max_trades_per_day
    trades = trades_this_session(state, now)
    if cap is not None and trades >= cap:
        return _rejected(RiskRule.MAX_TRADES_PER_DAY, f"{cap} reached ({trades} opened this session)")

    if settings.max_position is None:
        return OpeningVerdict(qty=proposal.qty)
    return _fit_max_position(settings, settings.max_position, proposal, positions)


def _fit_max_position(
    settings: RiskSettings, limit: int, proposal: OpeningProposal, positions: Mapping[str, int]
) -> OpeningVerdict:
    held_now = dict(positions)
    current = held_now.get(proposal.symbol, 0)
    if current * proposal.side.sign < 0:
        # An opening on the side opposite the position is a reversal's new leg: the same order closes
        # that position first, so it no longer counts.
        held_now.pop(proposal.symbol)
    held = contracts_held(settings, held_now)
    weight = contract_weight(settings, proposal.symbol)
    room = Decimal(limit) - held
    fits = int((room / weight).to_integral_value(rounding=ROUND_FLOOR)) if room > 0 else 0
    if fits <= 0:
        return _rejected(RiskRule.MAX_POSITION, f"{limit} reached ({_contracts(held)} held)")
    if fits >= proposal.qty:
        return OpeningVerdict(qty=proposal.qty)
    capped = f"risk: max_position {limit} caps {proposal.qty} to {fits} ({_contracts(held)} held)"
    return OpeningVerdict(qty=fits, rule=RiskRule.MAX_POSITION, capped=capped)


# --- loss rules ---------------------------------------------------------------------------------


def high_water_mark_after(settings: RiskSettings, high_water_mark: Decimal, equity: Decimal) -> Decimal:
    """Intraday trailing follows every equity peak, unrealized included; end of day waits for the
    session's close (``roll_session``)."""
    if settings.effective_drawdown_mode is DrawdownMode.INTRADAY:
        return max(high_water_mark, equity)
    return high_water_mark


def drawdown_floor(settings: RiskSettings, high_water_mark: Decimal) -> Decimal | None:
    """The equity at or below which the account fails: the high-water mark minus the drawdown, but
    never above ``trailing_stop_at`` (firms stop trailing at the start balance, or start + 100)."""
    if settings.trailing_drawdown is None:
        return None
    floor = high_water_mark - settings.trailing_drawdown
    if settings.trailing_stop_at is not None:
        floor = min(floor, settings.trailing_stop_at)
    return floor


def session_pnl(state: RiskState, snapshot: AccountSnapshot) -> Decimal:
    """Realized since the session opened (fees included) plus open P&L at the latest price."""
    return snapshot.net_balance - state.opening_balance + snapshot.unrealized_pnl


def check_losses(
    settings: RiskSettings, state: RiskState, snapshot: AccountSnapshot, now: datetime
) -> Breach | None:
    """The loss rules at this price, judged on the snapshot (``state`` must be this session's).

    Trailing drawdown is checked first: when both break, its lock (until a reset) is the one that
    must win over the daily lock that lifts at the next session.
    """
    equity = snapshot.equity
    floor = drawdown_floor(settings, high_water_mark_after(settings, state.high_water_mark, equity))
    if settings.trailing_drawdown is not None and floor is not None and equity <= floor:
        return Breach(
            rule=RiskRule.TRAILING_DRAWDOWN,
            reason=(
                f"risk: trailing drawdown {usd(settings.trailing_drawdown)} reached "
                f"(equity {usd(equity)}, floor {usd(floor)})"
            ),
            locked_until=None,
        )
    limit = settings.daily_loss_limit
    pnl = session_pnl(state, snapshot)
    if limit is not None and pnl <= -limit:
        return Breach(
            rule=RiskRule.DAILY_LOSS_LIMIT,
            reason=f"risk: daily loss limit {usd(limit)} reached (session P&L {usd(pnl)})",
            locked_until=next_session_start(now),
        )
    return None


def check_flat_by(settings: RiskSettings, state: RiskState, now: datetime) -> Breach | None:
    """Flat-by, once per trading day at the first check at or after its time."""
    if settings.flat_by is None or not flat_by_due(settings.flat_by, now, state.flat_by_checked_at):
        return None
    return Breach(
        rule=RiskRule.FLAT_BY,
        reason=f"risk: flat by {settings.flat_by:%H:%M}",
        locked_until=next_session_start(now),
    )
