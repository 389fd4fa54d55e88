"""Sizing: leader qty × multiplier, rounded by the follower's rule, capped at max_qty."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecopier.domain.enums import Rounding
from tradecopier.domain.sizing import size_copy

multipliers = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(1000), places=6)
roundings = st.sampled_from(list(Rounding))
caps = st.none() | st.integers(min_value=1, max_value=100_000)
quantities = st.integers(min_value=1, max_value=100_000)


@pytest.mark.parametrize(
    ("leader_qty", "multiplier", "rounding", "max_qty", "expected"),
    [
        (2, "1", Rounding.HALF_UP, None, 2),
        (2, "0.5", Rounding.HALF_UP, None, 1),
        (1, "0.5", Rounding.HALF_UP, None, 1),  # 0.5 rounds half up to 1
        (1, "0.5", Rounding.FLOOR, None, 0),
        (1, "0.5", Rounding.CEIL, None, 1),
        (3, "0.1", Rounding.CEIL, None, 1),  # 0.3 exactly, never 0.30000000000000004
        (3, "0.1", Rounding.HALF_UP, None, 0),
        (10, "0.1", Rounding.FLOOR, None, 1),  # 1.0 exactly: binary floats would floor 0.999... to 0
        (5, "3", Rounding.HALF_UP, 10, 10),
        (2, "10", Rounding.HALF_UP, 3, 3),
        (7, "0.25", Rounding.HALF_UP, None, 2),  # 1.75
    ],
)
def test_size_copy_table(
    leader_qty: int, multiplier: str, rounding: Rounding, max_qty: int | None, expected: int
) -> None:
    assert size_copy(leader_qty, Decimal(multiplier), rounding, max_qty).qty == expected


def test_sizing_explains_itself_with_exact_decimals() -> None:
    sizing = size_copy(3, Decimal("0.1"), Rounding.CEIL, None)
    assert "0.3" in sizing.explanation
    assert "0.30000000000000004" not in sizing.explanation


def test_cap_is_named_in_the_explanation() -> None:
    assert "capped at max_qty 3" in size_copy(2, Decimal(10), Rounding.HALF_UP, 3).explanation


@given(quantities, multipliers, roundings, caps)
def test_never_above_max_qty(
    leader_qty: int, multiplier: Decimal, rounding: Rounding, max_qty: int | None
) -> None:
    qty = size_copy(leader_qty, multiplier, rounding, max_qty).qty
    assert qty >= 0
    if max_qty is not None:
        assert qty <= max_qty


@given(quantities, quantities, multipliers, roundings, caps)
def test_monotone_in_leader_qty(
    a: int, b: int, multiplier: Decimal, rounding: Rounding, max_qty: int | None
) -> None:
    low, high = sorted((a, b))
    assert (
        size_copy(low, multiplier, rounding, max_qty).qty
        <= size_copy(high, multiplier, rounding, max_qty).qty
    )


@given(quantities, multipliers, roundings)
def test_rounding_stays_within_one_of_the_exact_product(
    leader_qty: int, multiplier: Decimal, rounding: Rounding
) -> None:
    exact = Decimal(leader_qty) * multiplier
    qty = size_copy(leader_qty, multiplier, rounding, None).qty
    assert abs(Decimal(qty) - exact) < 1
    if rounding is Rounding.FLOOR:
        assert qty <= exact
    if rounding is Rounding.CEIL:
        assert qty >= exact


@given(quantities, multipliers, roundings, caps)
def test_zero_only_when_the_product_rounds_to_zero(
    leader_qty: int, multiplier: Decimal, rounding: Rounding, max_qty: int | None
) -> None:
    sizing = size_copy(leader_qty, multiplier, rounding, max_qty)
    assert sizing.is_zero == (sizing.qty == 0)
    if Decimal(leader_qty) * multiplier >= 1:
        assert not sizing.is_zero
