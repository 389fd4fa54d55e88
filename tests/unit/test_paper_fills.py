"""The paper broker's position arithmetic (``brokers/paper/fills.py``), pure: no store, no broker.

One row per case: the position before, one fill, the position after (compared whole, so the
symbol and the store's ``version`` are checked to pass through unchanged).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecopier.brokers.paper.fills import PaperPosition, apply_fill
from tradecopier.domain.enums import Side

D = Decimal


def held(qty: int, avg: str | None, cost: str | None, last: str | None) -> PaperPosition:
    """A stored position of NQZ6 (version 7: a fill must carry it over untouched)."""
    return PaperPosition(
        symbol="NQZ6",
        qty=qty,
        avg_price=None if avg is None else D(avg),
        cost=None if cost is None else D(cost),
        last_fill_price=None if last is None else D(last),
        version=7,
    )


FLAT = held(0, None, None, None)

# (case, before, side, qty, price, after)
CASES: list[tuple[str, PaperPosition, Side, int, str | None, PaperPosition]] = [
    ("open long", FLAT, Side.BUY, 2, "100", held(2, "100", "200", "100")),
    ("open short", FLAT, Side.SELL, 3, "21000.25", held(-3, "21000.25", "63000.75", "21000.25")),
    ("add long", held(2, "100", "200", "100"), Side.BUY, 1, "103", held(3, "101", "303", "103")),
    (
        "add short",
        held(-3, "21000.25", "63000.75", "21000.25"),
        Side.SELL,
        1,
        "21001.25",
        held(-4, "21000.5", "84002", "21001.25"),
    ),
    (
        "partial reduce keeps the average and its share of the cost",
        held(3, "101", "303", "103"),
        Side.SELL,
        1,
        "110",
        held(2, "101", "202", "110"),
    ),
    (
        "partial reduce of a short",
        held(-4, "21000.5", "84002", "21001.25"),
        Side.BUY,
        3,
        "20990",
        held(-1, "21000.5", "21000.5", "20990"),
    ),
    ("close long to flat", held(2, "101", "202", "110"), Side.SELL, 2, "99", held(0, None, None, "99")),
    ("close short to flat", held(-1, "100", "100", "100"), Side.BUY, 1, "95", held(0, None, None, "95")),
    (
        "flip long through zero: the rest opens at the fill price",
        held(2, "100", "200", "100"),
        Side.SELL,
        5,
        "105",
        held(-3, "105", "315", "105"),
    ),
    (
        "flip short through zero",
        held(-1, "100", "100", "100"),
        Side.BUY,
        3,
        "98.5",
        held(2, "98.5", "197", "98.5"),
    ),
    ("open at an unknown price", FLAT, Side.BUY, 1, None, held(1, None, None, None)),
    (
        "add at an unknown price: the average becomes unknown, the last price stays",
        held(2, "100", "200", "100"),
        Side.BUY,
        1,
        None,
        held(3, None, None, "100"),
    ),
    (
        "add at a known price to an unknown average: still unknown",
        held(1, None, None, None),
        Side.BUY,
        1,
        "100",
        held(2, None, None, "100"),
    ),
    (
        "reduce at an unknown price keeps the average and the last price",
        held(3, "101", "303", "103"),
        Side.SELL,
        1,
        None,
        held(2, "101", "202", "103"),
    ),
    (
        "reduce an unknown average: still unknown",
        held(3, None, None, None),
        Side.SELL,
        1,
        "100",
        held(2, None, None, "100"),
    ),
    (
        "close at an unknown price",
        held(2, "100", "200", "100"),
        Side.SELL,
        2,
        None,
        held(0, None, None, "100"),
    ),
    (
        "flip at an unknown price: the rest's average is unknown",
        held(1, "100", "100", "100"),
        Side.SELL,
        3,
        None,
        held(-2, None, None, "100"),
    ),
    (
        "repeating average: rounded to 8 decimals, the cost stays exact",
        held(1, "100", "100", "100"),
        Side.BUY,
        2,
        "100.01",
        held(3, "100.00666667", "300.02", "100.01"),
    ),
    (
        "repeating cost share: 12 decimals, the average unchanged",
        held(3, "100.00666667", "300.02", "100.01"),
        Side.SELL,
        1,
        "100.01",
        held(2, "100.00666667", "200.013333333333", "100.01"),
    ),
    (
        "repeating cost share of a short",
        held(-3, "33.33333333", "100", "34"),
        Side.BUY,
        2,
        "34",
        held(-1, "33.33333333", "33.333333333333", "34"),
    ),
    (
        "an exact share is kept exact",
        held(2, "100.375", "200.75", "100.25"),
        Side.SELL,
        1,
        "100",
        held(1, "100.375", "100.375", "100"),
    ),
    (
        "adding to a rounded average works from the exact cost",
        held(3, "100.00666667", "300.02", "100.01"),
        Side.BUY,
        3,
        "100",
        held(6, "100.00333333", "600.02", "100"),
    ),
]


@pytest.mark.parametrize(
    ("before", "side", "qty", "price", "after"),
    [pytest.param(*row, id=case) for case, *row in CASES],
)
def test_apply_fill(
    before: PaperPosition, side: Side, qty: int, price: str | None, after: PaperPosition
) -> None:
    assert apply_fill(before, side, qty, None if price is None else D(price)) == after


# --- properties over many fills --------------------------------------------------------------------

prices = st.decimals(min_value=Decimal("0.25"), max_value=Decimal("50000"), places=2)


@given(fills=st.lists(st.tuples(st.integers(1, 50), prices), min_size=1, max_size=12))
def test_adding_only_gives_the_exact_weighted_average(fills: list[tuple[int, Decimal]]) -> None:
    position = PaperPosition(symbol="NQZ6")
    for qty, price in fills:
        position = apply_fill(position, Side.SELL, qty, price)
    total = sum(qty for qty, _ in fills)
    exact = sum((qty * price for qty, price in fills), Decimal(0)) / total
    assert position.qty == -total
    assert position.avg_price is not None and abs(position.avg_price - exact) <= Decimal("0.000000005")


@given(fills=st.lists(st.tuples(st.sampled_from(list(Side)), st.integers(1, 50), prices), max_size=20))
def test_position_qty_is_the_signed_sum_and_average_follows_the_rules(
    fills: list[tuple[Side, int, Decimal]],
) -> None:
    position = PaperPosition(symbol="NQZ6")
    for side, qty, price in fills:
        before = position
        position = apply_fill(position, side, qty, price)
        assert position.qty == before.qty + side.sign * qty
        assert position.last_fill_price == price
        if position.qty == 0:
            assert position.avg_price is None
        elif (
            before.qty != 0 and (before.qty > 0) == (position.qty > 0) and abs(position.qty) < abs(before.qty)
        ):
            assert position.avg_price == before.avg_price  # reduced
        elif before.qty != 0 and (before.qty > 0) != (position.qty > 0):
            assert position.avg_price == price  # flipped
        else:  # opened or added: between the old average and the price (give or take the rounding)
            low, high = sorted([before.avg_price or price, price])
            assert position.avg_price is not None
            assert low - Decimal("0.00000001") <= position.avg_price <= high + Decimal("0.00000001")
