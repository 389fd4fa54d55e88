"""Loss rules and the engine's state: daily loss, trailing drawdown (intraday vs end of day), the
session roll, flat-by, reset, and the risk_status view. Figures from API.md and propfirms.md."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tradecopier.domain.instruments import pnl
from tradecopier.domain.risk.engine import (
    mark,
    on_clock,
    on_mark,
    open_state,
    record_opening,
    reset_session,
    risk_status,
    roll_session,
)
from tradecopier.domain.risk.rules import Breach, RiskRule, check_flat_by, check_losses, drawdown_floor
from tradecopier.domain.risk.settings import RiskSettings
from tradecopier.domain.risk.state import AccountSnapshot, RiskState

MORNING = datetime(2026, 1, 14, 15, 0, tzinfo=UTC)  # Wednesday 09:00 CST
NEXT_SESSION = datetime(2026, 1, 14, 23, 0, tzinfo=UTC)  # 17:00 CST


def settings(**fields: Any) -> RiskSettings:
    return RiskSettings.model_validate(fields)


def snap(balance: str | int, unrealized: str | int = 0, fees: str | int = 0) -> AccountSnapshot:
    return AccountSnapshot(balance=Decimal(balance), unrealized_pnl=Decimal(unrealized), fees=Decimal(fees))


def walk(risk: RiskSettings, state: RiskState, *marks: AccountSnapshot) -> tuple[RiskState, Breach | None]:
    """Feeds marks a minute apart; returns the last state and the first breach."""
    first: Breach | None = None
    now = MORNING
    for snapshot in marks:
        outcome = on_mark(risk, state, snapshot, now)
        state, first = outcome.state, first or outcome.breach
        now += timedelta(minutes=1)
    return state, first


# --- daily loss ---------------------------------------------------------------------------------


def test_two_nq_down_25_points_reach_a_1000_daily_limit() -> None:
    risk = settings(daily_loss_limit=1000)
    unrealized = pnl("NQZ6", 2, Decimal(21000), Decimal(20975))
    assert unrealized == Decimal(-1000)
    breach = check_losses(risk, open_state(risk, MORNING), snap(50000, unrealized), MORNING)
    assert breach == Breach(
        rule=RiskRule.DAILY_LOSS_LIMIT,
        reason="risk: daily loss limit 1000.00 reached (session P&L -1000.00)",
        locked_until=NEXT_SESSION,
    )


def test_one_tick_better_is_not_a_breach() -> None:
    risk = settings(daily_loss_limit=1000)
    unrealized = pnl("NQZ6", 2, Decimal(21000), Decimal("20975.25"))  # -990
    assert check_losses(risk, open_state(risk, MORNING), snap(50000, unrealized), MORNING) is None


def test_fees_count_in_the_session_pnl() -> None:
    """propfirms.md §2.5: opening 51,200, realized -600, fees -30, open -390 → -1,020."""
    risk = settings(daily_loss_limit=1000)
    state = open_state(risk, MORNING, balance=Decimal(51200))
    breach = check_losses(risk, state, snap(50600, -390, fees=30), MORNING)
    assert breach is not None
    assert breach.reason == "risk: daily loss limit 1000.00 reached (session P&L -1020.00)"
    assert check_losses(risk, state, snap(50600, -390), MORNING) is None  # -990 without the fees


def test_daily_loss_counts_from_the_sessions_opening_balance() -> None:
    risk = settings(daily_loss_limit=1000)
    state = open_state(risk, MORNING)
    state, _ = walk(risk, state, snap(51500))  # yesterday's profit ...
    state = roll_session(risk, state, snap(51500), NEXT_SESSION)
    assert state.opening_balance == Decimal(51500)
    assert check_losses(risk, state, snap(50600), NEXT_SESSION) is None  # -900 today
    late = check_losses(risk, state, snap(50500), NEXT_SESSION)
    assert late is not None and late.locked_until == NEXT_SESSION + timedelta(days=1)


def test_reason_amounts_round_to_cents() -> None:
    risk = settings(daily_loss_limit="1000.5")
    breach = check_losses(risk, open_state(risk, MORNING), snap(50000, "-1020.456"), MORNING)
    assert breach is not None
    assert breach.reason == "risk: daily loss limit 1000.50 reached (session P&L -1020.46)"


# --- trailing drawdown --------------------------------------------------------------------------

UP_THEN_DOWN = (snap(50000, 1000), snap(50000, 2000), snap(50000, 500), snap(50000, -100))


def test_intraday_trailing_follows_the_unrealized_peak() -> None:
    risk = settings(trailing_drawdown=2000, drawdown_mode="intraday")
    state, breach = walk(risk, open_state(risk, MORNING), *UP_THEN_DOWN)
    assert state.high_water_mark == Decimal(52000)
    assert breach == Breach(
        rule=RiskRule.TRAILING_DRAWDOWN,
        reason="risk: trailing drawdown 2000.00 reached (equity 49900.00, floor 50000.00)",
        locked_until=None,
    )


def test_end_of_day_trailing_ignores_the_intraday_peak() -> None:
    risk = settings(trailing_drawdown=2000, drawdown_mode="end_of_day")
    state, breach = walk(risk, open_state(risk, MORNING), *UP_THEN_DOWN)
    assert breach is None
    assert state.high_water_mark == Decimal(50000)
    assert drawdown_floor(risk, state.high_water_mark) == Decimal(48000)


def test_end_of_day_is_the_default_mode() -> None:
    risk = settings(trailing_drawdown=2000)
    assert walk(risk, open_state(risk, MORNING), *UP_THEN_DOWN)[1] is None


def test_equity_at_the_floor_is_a_breach() -> None:
    risk = settings(trailing_drawdown=2000)
    state = open_state(risk, MORNING)
    assert check_losses(risk, state, snap(48000), MORNING) is not None
    assert check_losses(risk, state, snap(49000, "-999.99"), MORNING) is None


def test_trailing_stop_at_caps_the_floor() -> None:
    risk = settings(trailing_drawdown=2000, trailing_stop_at=50000, drawdown_mode="intraday")
    state, breach = walk(risk, open_state(risk, MORNING), snap(53000), snap(50500))
    assert breach is None  # hwm 53,000 would put the floor at 51,000; it stops at 50,000
    assert drawdown_floor(risk, state.high_water_mark) == Decimal(50000)
    _, breach = walk(risk, state, snap(50000))
    assert breach is not None
    assert breach.reason == "risk: trailing drawdown 2000.00 reached (equity 50000.00, floor 50000.00)"


def test_topstep_end_of_day_worked_example() -> None:
    """propfirms.md §2.2: Topstep 50K, $2,000 EOD trailing, stops at the start."""
    risk = settings(trailing_drawdown=2000, drawdown_mode="end_of_day", trailing_stop_at=50000)
    state = open_state(risk, MORNING)
    closes = [("50900", "50500", "48500"), ("48600", "50000", "48500"), (None, "52500", "50000")]
    closes += [(None, "55000", "50000")]
    day = MORNING
    for extreme, close, floor_next in closes:
        if extreme is not None:  # an intraday equity extreme, judged against today's floor
            assert check_losses(risk, state, snap(extreme), day) is None
        state = mark(risk, state, snap(close), day)
        day += timedelta(days=1)
        state = roll_session(risk, state, snap(close), day)
        assert drawdown_floor(risk, state.high_water_mark) == Decimal(floor_next)
    assert check_losses(risk, state, snap(50000), day) is not None


def test_apex_intraday_worked_example() -> None:
    """propfirms.md §2.3: Apex legacy 50K, $2,500 intraday: a peak at 50,875 that closes at 50,100
    leaves the floor at 48,375."""
    risk = settings(trailing_drawdown=2500, drawdown_mode="intraday")
    state = open_state(risk, MORNING)
    assert drawdown_floor(risk, state.high_water_mark) == Decimal(47500)
    state, _ = walk(risk, state, snap(50000, 500), snap(50500))
    assert drawdown_floor(risk, state.high_water_mark) == Decimal(48000)
    state, _ = walk(risk, state, snap(50500, 375), snap(50100))
    assert drawdown_floor(risk, state.high_water_mark) == Decimal(48375)


def test_the_trailing_breach_wins_over_the_daily_one() -> None:
    risk = settings(daily_loss_limit=1000, trailing_drawdown=1500)
    breach = check_losses(risk, open_state(risk, MORNING), snap(48000), MORNING)
    assert breach is not None and breach.rule is RiskRule.TRAILING_DRAWDOWN
    assert breach.locked_until is None


def test_no_loss_rules_never_breach() -> None:
    risk = RiskSettings()
    assert check_losses(risk, open_state(risk, MORNING), snap(1), MORNING) is None


# --- sessions -----------------------------------------------------------------------------------


def test_roll_session_zeroes_the_day_and_raises_the_end_of_day_mark() -> None:
    risk = settings(trailing_drawdown=2000, max_trades_per_day=5)
    state = record_opening(mark(risk, open_state(risk, MORNING), snap(50700, -50), MORNING))
    assert (state.realized_pnl, state.trades_today) == (Decimal(700), 1)
    rolled = roll_session(risk, state, snap(50800), NEXT_SESSION)
    assert rolled.session_started_at == NEXT_SESSION
    assert (rolled.realized_pnl, rolled.trades_today) == (Decimal(0), 0)
    assert rolled.high_water_mark == Decimal(50800)
    assert rolled.opening_balance == rolled.balance == Decimal(50800)


def test_roll_session_never_lowers_the_mark_and_leaves_intraday_alone() -> None:
    eod = settings(trailing_drawdown=2000)
    state = open_state(eod, MORNING, balance=Decimal(51000))
    assert roll_session(eod, state, snap(49000), NEXT_SESSION).high_water_mark == Decimal(51000)
    intraday = settings(trailing_drawdown=2000, drawdown_mode="intraday")
    state = open_state(intraday, MORNING)
    assert roll_session(intraday, state, snap(50900), NEXT_SESSION).high_water_mark == Decimal(50000)


def test_roll_without_a_snapshot_closes_at_the_last_known_balance() -> None:
    risk = settings(trailing_drawdown=2000)
    state = mark(risk, open_state(risk, MORNING), snap(50300), MORNING)
    assert roll_session(risk, state, None, NEXT_SESSION).high_water_mark == Decimal(50300)


def test_a_mark_after_a_missed_roll_rolls_first() -> None:
    risk = settings(daily_loss_limit=1000)
    state = mark(risk, open_state(risk, MORNING), snap(49100), MORNING)  # -900 yesterday
    two_days_later = MORNING + timedelta(days=2)
    outcome = on_mark(risk, state, snap(49000), two_days_later)  # -100 today, not -1,000
    assert outcome.breach is None
    assert outcome.state.session_started_at == NEXT_SESSION + timedelta(days=1)
    assert outcome.state.opening_balance == Decimal(49100)  # the old session's last balance
    assert outcome.state.realized_pnl == Decimal(-100)


# --- flat by --------------------------------------------------------------------------------------


def test_flat_by_breaches_once_and_locks_until_the_next_session() -> None:
    risk = settings(flat_by="15:08")
    state = open_state(risk, MORNING)
    breaches = []
    now = datetime(2026, 1, 14, 21, 0, tzinfo=UTC)  # 15:00 CST
    while now < datetime(2026, 1, 15, 22, 0, tzinfo=UTC):
        outcome = on_clock(risk, state, None, now)
        state = outcome.state
        if outcome.breach:
            breaches.append((now, outcome.breach))
        now += timedelta(minutes=1)
    assert [(at.isoformat(), breach.reason) for at, breach in breaches] == [
        ("2026-01-14T21:08:00+00:00", "risk: flat by 15:08"),
        ("2026-01-15T21:08:00+00:00", "risk: flat by 15:08"),
    ]
    assert breaches[0][1].locked_until == NEXT_SESSION
    assert breaches[0][1].rule is RiskRule.FLAT_BY


def test_no_flat_by_rule_never_fires() -> None:
    risk = RiskSettings()
    assert check_flat_by(risk, open_state(risk, MORNING), MORNING + timedelta(hours=7)) is None


def test_on_clock_rolls_the_session_at_five_pm() -> None:
    risk = settings(max_trades_per_day=3)
    state = record_opening(open_state(risk, MORNING))
    before = on_clock(risk, state, None, NEXT_SESSION - timedelta(minutes=1)).state
    after = on_clock(risk, before, None, NEXT_SESSION).state
    assert (before.trades_today, after.trades_today) == (1, 0)
    assert after.session_started_at == NEXT_SESSION


# --- reset and status -------------------------------------------------------------------------


def test_reset_starts_a_session_now_and_does_not_refire_flat_by() -> None:
    risk = settings(flat_by="15:08", max_trades_per_day=1)
    after_flat = datetime(2026, 1, 14, 21, 30, tzinfo=UTC)  # 15:30 CST, flat-by has fired
    state = record_opening(mark(risk, open_state(risk, MORNING), snap(49500, -20), MORNING))
    reset = reset_session(state, after_flat, balance=Decimal(49500))
    assert reset.session_started_at == after_flat
    assert (reset.trades_today, reset.realized_pnl, reset.unrealized_pnl) == (0, 0, 0)
    assert reset.high_water_mark == state.high_water_mark
    assert on_clock(risk, reset, None, after_flat + timedelta(minutes=1)).breach is None


def test_reset_with_a_starting_balance_restarts_balance_and_mark() -> None:
    risk = settings(trailing_drawdown=2000, drawdown_mode="intraday")
    state, _ = walk(risk, open_state(risk, MORNING), snap(53000))
    reset = reset_session(state, MORNING, balance=Decimal(53000), starting_balance=Decimal(100000))
    assert reset.starting_balance == reset.balance == reset.high_water_mark == Decimal(100000)


def test_risk_status_shows_only_what_the_rules_need() -> None:
    assert risk_status(RiskSettings(), open_state(RiskSettings(), MORNING)).model_dump(
        mode="json", exclude={"session_started_at"}
    ) == {
        "balance": None,
        "realized_pnl": None,
        "unrealized_pnl": None,
        "session_pnl": None,
        "high_water_mark": None,
        "drawdown_floor": None,
        "trades_today": None,
    }
    risk = settings(
        daily_loss_limit=1000, trailing_drawdown=2000, trailing_stop_at=50000, max_trades_per_day=9
    )
    state = record_opening(mark(risk, open_state(risk, MORNING), snap("50250.5", -100), MORNING))
    assert risk_status(risk, state).model_dump(mode="json") == {
        "session_started_at": "2026-01-13T23:00:00Z",
        "balance": 50250.5,
        "realized_pnl": 250.5,
        "unrealized_pnl": -100,
        "session_pnl": 150.5,
        "high_water_mark": 50000,
        "drawdown_floor": 48000,
        "trades_today": 1,
    }


def test_state_round_trips_through_json_for_storage() -> None:
    risk = settings(trailing_drawdown=2000)
    state = mark(risk, open_state(risk, MORNING), snap("50001.25", "-12.5"), MORNING)
    assert RiskState.model_validate_json(state.model_dump_json()) == state


def test_naive_datetimes_are_refused_in_state() -> None:
    with pytest.raises(ValueError, match="timezone"):
        RiskState.model_validate(
            {
                "session_started_at": "2026-01-14T12:00:00",
                "starting_balance": 1,
                "opening_balance": 1,
                "balance": 1,
                "high_water_mark": 1,
            }
        )
