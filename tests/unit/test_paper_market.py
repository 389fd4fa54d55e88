"""The paper broker's market arithmetic, pure: realized P&L per fill (``fills.realized_pnl``), what a
price does to a working order (``market.cross``) and the account figures (``market.account_figures``).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradecopier.brokers.paper.fills import PaperPosition, apply_fill, realized_pnl
from tradecopier.brokers.paper.market import NOTHING, Crossing, account_figures, cross
from tradecopier.domain.enums import OrderType, Side
from tradecopier.domain.instruments import pnl

D = Decimal


def held(qty: int, cost: str | None, symbol: str = "NQZ6") -> PaperPosition:
    average = None if cost is None or qty == 0 else D(cost) / abs(qty)
    return PaperPosition(symbol=symbol, qty=qty, avg_price=average, cost=None if cost is None else D(cost))


# --- realized P&L ------------------------------------------------------------------------------

# (case, before, side, qty, price, realized USD)
REALIZED: list[tuple[str, PaperPosition, Side, int, str | None, str]] = [
    ("opening realizes nothing", held(0, None), Side.BUY, 2, "21000", "0.00"),
    ("adding realizes nothing", held(2, "42000"), Side.BUY, 1, "21010", "0.00"),
    ("close a long 2 NQ +10 points", held(2, "42000"), Side.SELL, 2, "21010", "400.00"),
    ("close a long at a loss", held(2, "42000"), Side.SELL, 2, "20990", "-400.00"),
    ("close a short 1 NQ -5 points", held(-1, "21000"), Side.BUY, 1, "20995", "100.00"),
    ("close a short at a loss", held(-3, "63000"), Side.BUY, 3, "21001.25", "-75.00"),
    ("partial close keeps the average", held(3, "63000"), Side.SELL, 1, "21002.50", "50.00"),
    ("flip realizes the closed part only", held(2, "42000"), Side.SELL, 5, "21001", "40.00"),
    ("MNQ point value 2", held(4, "84000", "MNQZ6"), Side.SELL, 4, "21003.25", "26.00"),
    ("ES point value 50", held(-1, "6000", "ESH7"), Side.BUY, 1, "5990.75", "462.50"),
    ("6E tick 0.00005", held(1, "1.08", "6EZ6"), Side.SELL, 1, "1.08005", "6.25"),
    ("unknown root: point value 1", held(10, "1500", "AAPL"), Side.SELL, 10, "151.23", "12.30"),
    # 3 bought for 300.25: a third of the cost is 100.0833…; the cent is rounded once per fill.
    ("uneven average rounds to the cent", held(3, "300.25", "GCZ6"), Side.SELL, 1, "101", "91.67"),
    ("unknown price realizes nothing", held(2, "42000"), Side.SELL, 2, None, "0.00"),
    ("unknown cost realizes nothing", held(2, None), Side.SELL, 2, "21010", "0.00"),
]


@pytest.mark.parametrize(
    ("before", "side", "qty", "price", "expected"),
    [case[1:] for case in REALIZED],
    ids=[case[0] for case in REALIZED],
)
def test_realized_pnl(before: PaperPosition, side: Side, qty: int, price: str | None, expected: str) -> None:
    realized = realized_pnl(before, side, qty, None if price is None else D(price))
    assert realized == D(expected) and str(realized) == expected


@given(
    fills=st.lists(
        st.tuples(
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(min_value=1, max_value=5),
            st.integers(min_value=84000, max_value=84040).map(lambda ticks: D(ticks) / 4),  # NQ ticks
        ),
        min_size=1,
        max_size=12,
    )
)
def test_realized_plus_open_pnl_is_what_the_cash_flows_say(fills: list[tuple[Side, int, Decimal]]) -> None:
    """Whatever the fills, realized P&L plus the open position valued at a price equals the cash
    flows valued at that price (to within the cents rounded once per fill)."""
    position = PaperPosition(symbol="NQZ6")
    realized = D(0)
    for side, qty, price in fills:
        realized += realized_pnl(position, side, qty, price)
        position = apply_fill(position, side, qty, price)
    mark = D("21005")
    cash = sum((-side.sign * qty * price for side, qty, price in fills), D(0))
    total = (cash + position.qty * mark) * 20
    open_pnl = D(0) if position.avg_price is None else pnl("NQZ6", position.qty, position.avg_price, mark)
    # Each fill rounds its cents once and the shown average to 8 decimals: a cent per fill at most.
    assert abs(realized + open_pnl - total) <= D("0.01") * len(fills)


# --- crossing ----------------------------------------------------------------------------------

BUY, SELL = Side.BUY, Side.SELL
LIMIT, STOP, STOP_LIMIT = OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT
P = D  # a price

# (case, side, type, limit, stop, triggered, mark, crossing)
CROSSINGS: list[tuple[str, Side, OrderType, str | None, str | None, bool, str, Crossing]] = [
    (
        "buy limit below the limit fills at the limit",
        BUY,
        LIMIT,
        "100",
        None,
        False,
        "99.75",
        Crossing(P("100")),
    ),
    ("buy limit at the limit fills", BUY, LIMIT, "100", None, False, "100", Crossing(P("100"))),
    ("buy limit above the limit waits", BUY, LIMIT, "100", None, False, "100.25", NOTHING),
    (
        "sell limit above the limit fills at the limit",
        SELL,
        LIMIT,
        "100",
        None,
        False,
        "101",
        Crossing(P("100")),
    ),
    ("sell limit at the limit fills", SELL, LIMIT, "100", None, False, "100", Crossing(P("100"))),
    ("sell limit below the limit waits", SELL, LIMIT, "100", None, False, "99.75", NOTHING),
    ("buy stop at the stop fills at the stop", BUY, STOP, None, "100", False, "100", Crossing(P("100"))),
    ("buy stop gapped through fills at the stop", BUY, STOP, None, "100", False, "104", Crossing(P("100"))),
    ("buy stop below the stop waits", BUY, STOP, None, "100", False, "99.75", NOTHING),
    ("sell stop at the stop fills at the stop", SELL, STOP, None, "100", False, "100", Crossing(P("100"))),
    ("sell stop gapped through fills at the stop", SELL, STOP, None, "100", False, "95", Crossing(P("100"))),
    ("sell stop above the stop waits", SELL, STOP, None, "100", False, "100.25", NOTHING),
    ("buy stop-limit not triggered waits", BUY, STOP_LIMIT, "101", "100", False, "99", NOTHING),
    (
        "buy stop-limit triggered within its limit fills at once at the limit",
        BUY,
        STOP_LIMIT,
        "101",
        "100",
        False,
        "100.5",
        Crossing(P("101"), triggers=True),
    ),
    (
        "buy stop-limit gapped past its limit only triggers",
        BUY,
        STOP_LIMIT,
        "101",
        "100",
        False,
        "102",
        Crossing(triggers=True),
    ),
    (
        "triggered buy stop-limit rests as a limit: above it waits",
        BUY,
        STOP_LIMIT,
        "101",
        "100",
        True,
        "102",
        NOTHING,
    ),
    (
        "triggered buy stop-limit fills at its limit",
        BUY,
        STOP_LIMIT,
        "101",
        "100",
        True,
        "99",
        Crossing(P("101")),
    ),
    ("sell stop-limit not triggered waits", SELL, STOP_LIMIT, "99", "100", False, "100.25", NOTHING),
    (
        "sell stop-limit triggered within its limit fills at once at the limit",
        SELL,
        STOP_LIMIT,
        "99",
        "100",
        False,
        "99.5",
        Crossing(P("99"), triggers=True),
    ),
    (
        "sell stop-limit gapped past its limit only triggers",
        SELL,
        STOP_LIMIT,
        "99",
        "100",
        False,
        "98",
        Crossing(triggers=True),
    ),
    (
        "triggered sell stop-limit rests as a limit: below it waits",
        SELL,
        STOP_LIMIT,
        "99",
        "100",
        True,
        "98",
        NOTHING,
    ),
    (
        "triggered sell stop-limit fills at its limit",
        SELL,
        STOP_LIMIT,
        "99",
        "100",
        True,
        "101",
        Crossing(P("99")),
    ),
    (
        "a market order never rests, so a price does nothing",
        BUY,
        OrderType.MARKET,
        None,
        None,
        False,
        "100",
        NOTHING,
    ),
]


@pytest.mark.parametrize(
    ("side", "order_type", "limit", "stop", "triggered", "mark", "expected"),
    [case[1:] for case in CROSSINGS],
    ids=[case[0] for case in CROSSINGS],
)
def test_cross(
    side: Side,
    order_type: OrderType,
    limit: str | None,
    stop: str | None,
    triggered: bool,
    mark: str,
    expected: Crossing,
) -> None:
    crossing = cross(
        side,
        order_type,
        D(mark),
        limit_price=None if limit is None else D(limit),
        stop_price=None if stop is None else D(stop),
        triggered=triggered,
    )
    assert crossing == expected


def test_bracket_legs_of_a_long_are_never_both_crossed_by_one_price() -> None:
    """A long's take-profit (sell limit above) and stop-loss (sell stop below): one price fills at
    most one, which is why OCO only has to settle races, not one price crossing both."""
    for ticks in range(80, 121):
        price = D(ticks)
        take_profit = cross(SELL, LIMIT, price, limit_price=D(110))
        stop_loss = cross(SELL, STOP, price, stop_price=D(90))
        assert not (take_profit.fills and stop_loss.fills)


# --- account figures ---------------------------------------------------------------------------


def position(symbol: str, qty: int, avg: str | None, last: str | None = None) -> PaperPosition:
    return PaperPosition(
        symbol=symbol,
        qty=qty,
        avg_price=None if avg is None else D(avg),
        cost=None if avg is None else D(avg) * abs(qty),
        last_fill_price=None if last is None else D(last),
    )


# (case, starting, realized, positions, marks, balance, unrealized, open positions)
FIGURES: list[tuple[str, str, str, list[PaperPosition], dict[str, str], str, str, dict[str, int]]] = [
    ("a fresh account", "50000", "0", [], {}, "50000", "0", {}),
    ("realized moves the balance", "50000", "400.00", [], {}, "50400.00", "0", {}),
    ("another starting balance", "100000", "-250.50", [], {}, "99749.50", "0", {}),
    (
        "long valued at its mark",
        "50000",
        "0",
        [position("NQZ6", 2, "21000")],
        {"NQZ6": "21010"},
        "50000",
        "400",
        {"NQZ6": 2},
    ),
    (
        "short valued at its mark",
        "50000",
        "0",
        [position("ESH7", -1, "6000")],
        {"ESH7": "6002.25"},
        "50000",
        "-112.50",
        {"ESH7": -1},
    ),
    (
        "sums over symbols",
        "50000",
        "100",
        [position("NQZ6", 1, "21000"), position("MNQZ6", -3, "21000")],
        {"NQZ6": "21005", "MNQZ6": "21005"},
        "50100",
        "70",
        {"NQZ6": 1, "MNQZ6": -3},
    ),
    (
        "never marked: valued at its last fill",
        "50000",
        "0",
        [position("NQZ6", 1, "21000", "21002")],
        {},
        "50000",
        "40",
        {"NQZ6": 1},
    ),
    (
        "flat positions are left out",
        "50000",
        "0",
        [position("NQZ6", 0, None, "21002")],
        {"NQZ6": "1"},
        "50000",
        "0",
        {},
    ),
    (
        "unknown average counts 0",
        "50000",
        "0",
        [position("NQZ6", 2, None)],
        {"NQZ6": "21000"},
        "50000",
        "0",
        {"NQZ6": 2},
    ),
]


@pytest.mark.parametrize(
    ("starting", "realized", "positions", "marks", "balance", "unrealized", "open_positions"),
    [case[1:] for case in FIGURES],
    ids=[case[0] for case in FIGURES],
)
def test_account_figures(
    starting: str,
    realized: str,
    positions: list[PaperPosition],
    marks: dict[str, str],
    balance: str,
    unrealized: str,
    open_positions: dict[str, int],
) -> None:
    figures = account_figures(D(starting), D(realized), positions, {s: D(p) for s, p in marks.items()})
    assert figures.balance == D(balance)
    assert figures.unrealized_pnl == D(unrealized)
    assert dict(figures.positions) == open_positions


def test_unrealized_is_the_instruments_pnl() -> None:
    figures = account_figures(D(0), D(0), [position("CLZ6", 3, "70.25")], {"CLZ6": D("70.31")})
    assert figures.unrealized_pnl == pnl("CLZ6", 3, D("70.25"), D("70.31")) == D("180.00")
