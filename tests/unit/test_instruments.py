"""Contract specs, exact tick rounding and P&L."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecopier.domain.instruments import (
    CONTRACT_SPECS,
    UNKNOWN_SPEC,
    ContractSpec,
    is_micro,
    pnl,
    round_to_tick,
    spec_for,
)

MICROS = {"MNQ", "MES", "M2K", "MYM", "MCL", "MGC", "M6E"}


@pytest.mark.parametrize(
    ("root", "point_value", "tick"),
    [
        ("NQ", "20", "0.25"),
        ("MNQ", "2", "0.25"),
        ("ES", "50", "0.25"),
        ("MES", "5", "0.25"),
        ("YM", "5", "1"),
        ("MYM", "0.5", "1"),
        ("RTY", "50", "0.1"),
        ("M2K", "5", "0.1"),
        ("CL", "1000", "0.01"),
        ("MCL", "100", "0.01"),
        ("GC", "100", "0.1"),
        ("MGC", "10", "0.1"),
        ("6E", "125000", "0.00005"),
        ("M6E", "12500", "0.0001"),
    ],
)
def test_contract_specs_table(root: str, point_value: str, tick: str) -> None:
    spec = CONTRACT_SPECS[root]
    assert spec == ContractSpec(
        root=root, point_value=Decimal(point_value), tick=Decimal(tick), micro=root in MICROS
    )
    assert str(spec.tick) == tick  # exact, never a binary float's 0.25000000000000001


def test_contract_specs_cover_exactly_the_api_table() -> None:
    assert len(CONTRACT_SPECS) == 14
    assert {root for root, spec in CONTRACT_SPECS.items() if spec.micro} == MICROS
    assert all(root == spec.root for root, spec in CONTRACT_SPECS.items())


def test_contract_specs_are_read_only() -> None:
    with pytest.raises(TypeError):
        CONTRACT_SPECS["NQ"] = UNKNOWN_SPEC  # type: ignore[index]


@pytest.mark.parametrize(
    ("symbol", "root"),
    [
        ("NQZ6", "NQ"),
        ("MNQZ6", "MNQ"),
        ("6EZ6", "6E"),
        ("M6EH27", "M6E"),
        ("NQ", "NQ"),  # a bare root is looked up whole
        ("M2K", "M2K"),
    ],
)
def test_spec_for_looks_up_by_root(symbol: str, root: str) -> None:
    assert spec_for(symbol) is CONTRACT_SPECS[root]


@pytest.mark.parametrize("symbol", ["AAPL", "ZBZ6", "nqz6", "NQZ", "Z6", "BTC/USD"])
def test_spec_for_falls_back_to_unknown(symbol: str) -> None:
    assert spec_for(symbol) is UNKNOWN_SPEC
    assert (UNKNOWN_SPEC.point_value, UNKNOWN_SPEC.tick, UNKNOWN_SPEC.micro) == (
        Decimal(1),
        Decimal("0.01"),
        False,
    )


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("MNQZ6", True),
        ("MES", True),
        ("M6EZ6", True),
        ("MYMH7", True),
        ("NQZ6", False),
        ("6EZ6", False),
        ("AAPL", False),
    ],
)
def test_is_micro(symbol: str, expected: bool) -> None:
    assert is_micro(symbol) is expected


@pytest.mark.parametrize(
    ("price", "symbol", "expected"),
    [
        ("21000.10", "NQZ6", "21000.00"),
        ("21000.125", "NQZ6", "21000.25"),  # half a tick rounds up
        ("21000.1249", "NQZ6", "21000.00"),
        ("21000.124999999999999999999999999999999", "NQZ6", "21000.00"),  # beyond default precision
        ("21000", "NQZ6", "21000.00"),  # quantized to the tick's places
        ("1.084525", "6EZ6", "1.08455"),  # 6E tick 0.00005, tie
        ("1.084524", "6EZ6", "1.08450"),
        ("1.08457", "6EZ6", "1.08455"),
        ("1.084575", "6EZ6", "1.08460"),
        ("1.08455", "M6EZ6", "1.0846"),  # M6E tick 0.0001
        ("75.005", "CLZ6", "75.01"),
        ("75.0049", "CLZ6", "75.00"),
        ("42000.5", "YMZ6", "42001"),  # YM tick 1: integral result
        ("42000.49", "YMZ6", "42000"),
        ("2000.05", "RTYZ6", "2000.1"),
        ("1.005", "AAPL", "1.01"),  # unknown: tick 0.01
        ("1.00499", "ZBZ6", "1.00"),
        ("12345678901234567890.125", "NQ", "12345678901234567890.25"),  # large, still exact
        ("0.1", "YMZ6", "0"),
        ("-21000.125", "NQZ6", "-21000.25"),  # ties away from zero, as ROUND_HALF_UP does
    ],
)
def test_round_to_tick_is_exact(price: str, symbol: str, expected: str) -> None:
    rounded = round_to_tick(Decimal(price), symbol)
    assert str(rounded) == expected


@pytest.mark.parametrize("price", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_round_to_tick_refuses_non_finite_prices(price: str) -> None:
    with pytest.raises(ValueError, match="cannot round"):
        round_to_tick(Decimal(price), "NQZ6")


prices = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=8, allow_nan=False)
symbols = st.sampled_from([*CONTRACT_SPECS, "NQZ6", "6EZ6", "AAPL", "ZBZ6"])


@given(prices, symbols)
def test_round_to_tick_is_an_idempotent_multiple_of_the_tick_within_half_a_tick(
    price: Decimal, symbol: str
) -> None:
    tick = spec_for(symbol).tick
    rounded = round_to_tick(price, symbol)
    assert rounded % tick == 0
    assert rounded.as_tuple().exponent == tick.as_tuple().exponent
    assert abs(rounded - price) <= tick / 2
    assert round_to_tick(rounded, symbol) == rounded


@pytest.mark.parametrize(
    ("symbol", "qty", "entry", "exit", "expected"),
    [
        ("NQZ6", 2, "21000", "20975", "-1000"),  # long loses
        ("NQZ6", -2, "21000", "20975", "1000"),  # short wins
        ("MNQZ6", 1, "21000", "21000.25", "0.5"),
        ("ESH7", 3, "5000", "5010.25", "1537.5"),
        ("MYMZ6", 1, "42000", "42010", "5"),
        ("6EZ6", 1, "1.08000", "1.08005", "6.25"),  # one 6E tick
        ("CLZ6", -1, "75.00", "74.50", "500"),
        ("AAPL", 10, "100", "101.5", "15"),  # unknown: point value 1
        ("NQZ6", 0, "21000", "22000", "0"),
    ],
)
def test_pnl(symbol: str, qty: int, entry: str, exit: str, expected: str) -> None:
    assert pnl(symbol, qty, Decimal(entry), Decimal(exit)) == Decimal(expected)
