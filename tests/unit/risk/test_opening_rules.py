"""Opening rules: symbols, hours, trades per session, and max_position capping to the room left."""

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecopier.domain.enums import Side
from tradecopier.domain.risk.engine import open_state, record_opening
from tradecopier.domain.risk.rules import (
    OpeningProposal,
    OpeningVerdict,
    RiskRule,
    check_opening,
    contract_weight,
    contracts_held,
)
from tradecopier.domain.risk.settings import RiskSettings
from tradecopier.domain.risk.state import RiskState

NOON_CT = datetime(2026, 1, 14, 18, 0, tzinfo=UTC)  # Wednesday 12:00 CST


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def settings(**fields: Any) -> RiskSettings:
    return RiskSettings.model_validate(fields)


def opening(
    risk: RiskSettings,
    symbol: str,
    side: Side,
    qty: int,
    positions: Mapping[str, int] | None = None,
    now: datetime = NOON_CT,
    state: RiskState | None = None,
) -> OpeningVerdict:
    proposal = OpeningProposal(symbol=symbol, side=side, qty=qty)
    return check_opening(risk, state or open_state(risk, now), proposal, positions or {}, now)


def test_no_rules_let_everything_open() -> None:
    verdict = opening(RiskSettings(), "NQZ6", Side.BUY, 7, {"ESZ6": 40})
    assert verdict == OpeningVerdict(qty=7)
    assert verdict.allowed


@pytest.mark.parametrize(
    ("symbol", "allowed"),
    [("NQZ6", True), ("MNQH7", True), ("NQ", True), ("ESZ6", False), ("MNQ", True), ("NQZ", False)],
)
def test_allowed_symbols_match_roots_and_whole_symbols(symbol: str, allowed: bool) -> None:
    verdict = opening(settings(allowed_symbols=["NQ", "MNQ"]), symbol, Side.BUY, 1)
    assert verdict.allowed is allowed
    if not allowed:
        assert verdict.rule is RiskRule.ALLOWED_SYMBOLS
        assert verdict.rejection == f"risk: allowed_symbols NQ, MNQ do not include {symbol}"


@pytest.mark.parametrize(
    ("window", "now", "allowed"),
    [
        (("08:30", "15:00"), "2026-01-14 14:30", True),  # 08:30 CST
        (("08:30", "15:00"), "2026-01-14 20:59", True),  # 14:59
        (("08:30", "15:00"), "2026-01-14 21:00", False),  # 15:00 exactly
        (("08:30", "15:00"), "2026-07-14 20:00", False),  # 15:00 CDT
        (("18:00", "03:00"), "2026-01-15 08:59", True),  # 02:59 CST
        (("18:00", "03:00"), "2026-01-15 09:00", False),  # 03:00 CST
        (("18:00", "03:00"), "2026-01-15 00:00", True),  # 18:00 CST
    ],
)
def test_trading_hours(window: tuple[str, str], now: str, allowed: bool) -> None:
    risk = settings(trading_hours={"start": window[0], "end": window[1]})
    verdict = opening(risk, "NQZ6", Side.SELL, 2, now=utc(now))
    assert verdict.allowed is allowed
    if not allowed:
        assert verdict.rejection is not None
        assert verdict.rejection.startswith(f"risk: trading_hours {window[0]}–{window[1]} CT (now ")


def test_trading_hours_reason_names_the_window_and_the_time() -> None:
    risk = settings(trading_hours={"start": "08:30", "end": "15:00"})
    verdict = opening(risk, "NQZ6", Side.BUY, 1, now=utc("2026-01-14 21:00"))
    assert verdict.rejection == "risk: trading_hours 08:30–15:00 CT (now 15:00 CT)"


def test_max_trades_per_day_rejects_the_next_opening() -> None:
    risk = settings(max_trades_per_day=2)
    state = open_state(risk, NOON_CT)
    assert opening(risk, "NQZ6", Side.BUY, 1, state=state).allowed
    state = record_opening(record_opening(state))
    verdict = opening(risk, "NQZ6", Side.BUY, 1, state=state)
    assert verdict.rejection == "risk: max_trades_per_day 2 reached (2 opened this session)"


def test_trades_of_a_session_that_is_over_do_not_count_even_before_the_roll() -> None:
    risk = settings(max_trades_per_day=1)
    state = record_opening(open_state(risk, NOON_CT))
    next_morning = utc("2026-01-15 15:00")  # 09:00 CST: the session opened at 17:00 yesterday
    assert opening(risk, "NQZ6", Side.BUY, 1, state=state, now=next_morning).allowed
    assert record_opening(state, next_morning).trades_today == 1


def test_rules_apply_in_order_symbols_first() -> None:
    risk = settings(
        allowed_symbols=["NQ"],
        trading_hours={"start": "08:30", "end": "15:00"},
        max_trades_per_day=1,
        max_position=1,
    )
    state = record_opening(open_state(risk, NOON_CT))
    night = utc("2026-01-15 03:00")
    assert opening(risk, "ESZ6", Side.BUY, 1, {"NQZ6": 1}, night, state).rule is RiskRule.ALLOWED_SYMBOLS
    assert opening(risk, "NQZ6", Side.BUY, 1, {"NQZ6": 1}, night, state).rule is RiskRule.TRADING_HOURS
    assert opening(risk, "NQZ6", Side.BUY, 1, {"NQZ6": 1}, state=state).rule is RiskRule.MAX_TRADES_PER_DAY
    assert opening(risk, "NQZ6", Side.BUY, 1, {"NQZ6": 1}).rule is RiskRule.MAX_POSITION


@pytest.mark.parametrize(
    ("limit", "weight", "positions", "symbol", "side", "qty", "allowed"),
    [
        (5, "1", {"NQZ6": 3}, "NQZ6", Side.BUY, 4, 2),  # 3 held, room 2: capped
        (5, "1", {"NQZ6": 3}, "NQZ6", Side.BUY, 2, 2),  # fits exactly
        (5, "1", {"NQZ6": 3}, "ESZ6", Side.SELL, 4, 2),  # counted over all symbols
        (5, "1", {"ESZ6": 2, "CLF7": -3}, "NQZ6", Side.BUY, 1, 0),  # long 2 ES + short 3 CL = 5
        (5, "0.1", {"MNQZ6": 20}, "NQZ6", Side.BUY, 10, 3),  # 20 MNQ = 2: room 3 NQ
        (5, "0.1", {"MNQZ6": 20}, "MNQZ6", Side.BUY, 100, 30),  # ... or 30 MNQ
        (5, "0.1", {"MNQZ6": 49}, "MNQZ6", Side.BUY, 3, 1),
        (5, "0.1", {"MNQZ6": 41}, "NQZ6", Side.BUY, 1, 0),  # 0.9 of room is no whole NQ
        (5, "1", {"MNQZ6": 5}, "MNQZ6", Side.BUY, 1, 0),  # weight 1: a micro is a lot
        (5, "1", {"NQZ6": 3}, "NQZ6", Side.SELL, 4, 4),  # a reversal's new leg: the 3 long close
        (5, "1", {"NQZ6": 3, "ESZ6": 2}, "NQZ6", Side.SELL, 4, 3),
        (5, "1", {"NQZ6": 7}, "ESZ6", Side.BUY, 1, 0),  # already over the limit
        (5, "0.3", {"MESZ6": 10}, "MESZ6", Side.BUY, 9, 6),  # 3 held, room 2 → 6 × 0.3 = 1.8
    ],
)
def test_max_position_caps_to_the_room_left(
    limit: int,
    weight: str,
    positions: dict[str, int],
    symbol: str,
    side: Side,
    qty: int,
    allowed: int,
) -> None:
    verdict = opening(settings(max_position=limit, micro_weight=weight), symbol, side, qty, positions)
    assert verdict.qty == allowed
    if allowed == 0:
        assert verdict.rejection is not None and verdict.rejection.startswith(f"risk: max_position {limit} ")
    elif allowed < qty:
        assert verdict.capped is not None and verdict.capped.startswith("risk: max_position")
        assert verdict.rejection is None
    else:
        assert verdict.capped is None and verdict.rejection is None


def test_max_position_reasons_carry_the_figures() -> None:
    risk = settings(max_position=5, micro_weight="0.1")
    assert opening(risk, "NQZ6", Side.BUY, 4, {"NQZ6": 3}).capped == (
        "risk: max_position 5 caps 4 to 2 (3 held)"
    )
    assert opening(risk, "NQZ6", Side.BUY, 1, {"MNQZ6": 45}).rejection == (
        "risk: max_position 5 reached (4.5 held)"
    )


SYMBOLS = ["NQZ6", "MNQZ6", "ESZ6", "MESZ6", "CLF7", "MCLF7", "AAPL"]


@given(
    limit=st.integers(min_value=1, max_value=50),
    weight=st.sampled_from(["1", "0.5", "0.25", "0.2", "0.1", "0.3", "0.05"]),
    positions=st.dictionaries(st.sampled_from(SYMBOLS), st.integers(min_value=-60, max_value=60)),
    symbol=st.sampled_from(SYMBOLS),
    side=st.sampled_from(list(Side)),
    qty=st.integers(min_value=1, max_value=200),
)
def test_an_allowed_opening_never_takes_the_total_above_max_position(
    limit: int, weight: str, positions: dict[str, int], symbol: str, side: Side, qty: int
) -> None:
    risk = settings(max_position=limit, micro_weight=weight)
    verdict = opening(risk, symbol, side, qty, positions)
    assert 0 <= verdict.qty <= qty
    assert verdict.allowed == (verdict.rejection is None)
    if not verdict.allowed:
        return
    after = dict(positions)
    current = after.get(symbol, 0)
    # a reversal closes the position in the same order; otherwise the opening adds to it
    after[symbol] = side.sign * verdict.qty + (0 if current * side.sign < 0 else current)
    assert contracts_held(risk, after) <= limit
    # and it takes all the room there is: one more contract would not fit
    if verdict.qty < qty:
        assert contracts_held(risk, after) + contract_weight(risk, symbol) > limit


def test_weights_are_exact_decimals() -> None:
    risk = settings(micro_weight="0.1")
    assert contracts_held(risk, {"MNQZ6": 30, "MESZ6": -20, "NQZ6": 1}) == Decimal("6.0")
