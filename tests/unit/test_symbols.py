"""Symbols: root parsing, symbol_map, allowed_symbols matching, SymbolMap validation, inverse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from tradecopier.domain.enums import Side
from tradecopier.domain.symbols import (
    MONTH_CODES,
    FuturesSymbol,
    SymbolMap,
    is_root,
    is_symbol_or_root,
    legs_for,
    map_symbol,
    matches,
    parse_symbol,
    root_of,
    side_for,
)
from tradecopier.domain.types import StrictModel

roots = st.from_regex(r"[A-Z][A-Z0-9]{0,4}", fullmatch=True).filter(is_root)
months = st.sampled_from(MONTH_CODES)
years = st.from_regex(r"[0-9]{1,2}", fullmatch=True)
futures = st.builds(FuturesSymbol, root=roots, month=months, year=years)


@pytest.mark.parametrize(
    ("symbol", "root", "month", "year"),
    [
        ("NQZ6", "NQ", "Z", "6"),
        ("MNQZ6", "MNQ", "Z", "6"),  # not M + "NQZ6": N is a month code but "QZ6" is no year
        ("ESH7", "ES", "H", "7"),
        ("6EZ6", "6E", "Z", "6"),  # a root may start with a digit
        ("M2KU5", "M2K", "U", "5"),
        ("M6EH7", "M6E", "H", "7"),
        ("ESH27", "ES", "H", "27"),  # two-digit year
        ("ESH07", "ES", "H", "07"),  # the year keeps its leading zero
        ("ZZ6", "Z", "Z", "6"),  # a month letter may be the root
        ("ZZ6Z6", "ZZ6", "Z", "6"),
        ("ABCDEF6", "ABCDE", "F", "6"),  # five-character root
        ("NQ6", "N", "Q", "6"),  # Q is a month code: by the rule this is root N, not NQ without a month
    ],
)
def test_parse_symbol_splits_root_month_year(symbol: str, root: str, month: str, year: str) -> None:
    parsed = parse_symbol(symbol)
    assert parsed == FuturesSymbol(root=root, month=month, year=year)
    assert str(parsed) == symbol
    assert root_of(symbol) == root


@pytest.mark.parametrize(
    "symbol",
    [
        "AAPL",  # no month and year: matched whole
        "NQ",  # a bare root is not a futures symbol
        "NQZ",  # month code without a year
        "ES6",  # year without a month code
        "NQA6",  # A is not a month code
        "NQZ206",  # three-digit year
        "Z6",  # nothing left for the root
        "1Z6",  # a purely numeric root is not a root
        "ABCDEFZ6",  # six-character root
        "nqz6",  # lowercase: case-sensitive, matched whole
        "NQz6",
        "BRK.BZ6",  # a root is letters and digits only
        "NQ Z6",
        "",
    ],
)
def test_parse_symbol_is_none_for_symbols_without_a_root(symbol: str) -> None:
    assert parse_symbol(symbol) is None
    assert root_of(symbol) is None


@pytest.mark.parametrize(
    ("root", "month", "year"),
    [
        ("", "Z", "6"),
        ("NQ", "A", "6"),
        ("NQ", "Z", ""),
        ("NQ", "Z", "206"),
        ("nq", "Z", "6"),
        ("NQ", "ZZ", "6"),
    ],
)
def test_futures_symbol_refuses_parts_that_do_not_make_a_symbol(root: str, month: str, year: str) -> None:
    with pytest.raises(ValueError, match="not a futures"):
        FuturesSymbol(root=root, month=month, year=year)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NQ", True),
        ("6E", True),
        ("M2K", True),
        ("ABCDE", True),
        ("AAPL", True),  # a ticker and a root look alike
        ("ABCDEF", False),
        ("1", False),
        ("NQZ6", False),  # a whole futures symbol
        ("nq", False),
        ("", False),
    ],
)
def test_is_root(text: str, expected: bool) -> None:
    assert is_root(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NQ", True),
        ("6E", True),
        ("M2K", True),
        ("NQZ6", True),
        ("AAPL", True),
        ("BRK.B", True),
        ("BTC/USD", True),
        ("ES 03-26", True),  # inner spaces are part of some brokers' symbols
        ("nq", True),  # a valid Symbol, though it will only match "nq" itself
        ("", False),
        (" NQ", False),  # leading or trailing space: a typo that would never match
        ("NQ ", False),
        ("NQ\t", False),
        ("NQ*", False),
        ("Ä", False),
        ("A" * 32, True),
        ("A" * 33, False),
    ],
)
def test_is_symbol_or_root(text: str, expected: bool) -> None:
    assert is_symbol_or_root(text) is expected


@pytest.mark.parametrize(
    ("symbol", "symbol_map", "expected"),
    [
        # root key
        ("NQZ6", {"NQ": "MNQ"}, "MNQZ6"),  # root value: root replaced, month and year kept
        ("NQH27", {"NQ": "MNQ"}, "MNQH27"),
        ("NQZ6", {"NQ": "MNQH7"}, "MNQH7"),  # whole-symbol value: used as is
        ("NQZ6", {"NQ": "BRK.B"}, "BRK.B"),  # not a root: used as is
        ("MNQZ6", {"NQ": "ES"}, "MNQZ6"),  # NQ is not MNQ's root
        # exact key
        ("NQZ6", {"NQZ6": "MNQ"}, "MNQZ6"),  # root value: root replaced, month and year kept
        ("NQZ6", {"NQZ6": "MNQH7"}, "MNQH7"),  # whole-symbol value: used as is
        ("NQZ6", {"NQZ6": "ESZ6", "NQ": "MNQ"}, "ESZ6"),  # an exact key wins over a root key
        ("NQZ6", {"NQ": "MNQ", "NQZ6": "ESZ6"}, "ESZ6"),  # whatever the order of the entries
        ("NQH7", {"NQZ6": "ESZ6", "NQ": "MNQ"}, "MNQH7"),  # other months fall back to the root key
        # symbols without a root
        ("AAPL", {"AAPL": "MSFT"}, "MSFT"),
        ("AAPL", {"AAPL": "NQZ6"}, "NQZ6"),
        ("NQ", {"NQ": "MNQ"}, "MNQ"),  # a bare root is a whole symbol: exact key
        # unchanged
        ("NQZ6", {}, "NQZ6"),
        ("NQZ6", {"ES": "MES"}, "NQZ6"),
        ("AAPL", {"AA": "MSFT"}, "AAPL"),  # no prefix matching for symbols without a root
        ("nqz6", {"NQ": "MNQ"}, "nqz6"),  # case-sensitive
        # mapped once, never chained
        ("NQZ6", {"NQ": "MNQ", "MNQ": "ES"}, "MNQZ6"),
        ("NQZ6", {"NQ": "MNQ", "MNQZ6": "ESZ6"}, "MNQZ6"),
    ],
)
def test_map_symbol(symbol: str, symbol_map: dict[str, str], expected: str) -> None:
    assert map_symbol(symbol, symbol_map) == expected


@given(futures, roots, roots)
def test_map_symbol_keeps_month_and_year_for_root_keys(symbol: FuturesSymbol, key: str, value: str) -> None:
    mapped = map_symbol(str(symbol), {key: value})
    if key == symbol.root:
        assert parse_symbol(mapped) == FuturesSymbol(root=value, month=symbol.month, year=symbol.year)
    else:
        assert mapped == str(symbol)


@given(futures)
def test_parse_symbol_round_trips(symbol: FuturesSymbol) -> None:
    assert parse_symbol(str(symbol)) == symbol


@pytest.mark.parametrize(
    ("symbol", "allowed", "expected"),
    [
        ("NQZ6", "NQ", True),
        ("NQZ6", "NQZ6", True),
        ("NQH7", "NQZ6", False),
        ("MNQZ6", "NQ", False),
        ("NQZ6", "MNQ", False),
        ("NQZ6", "N", False),  # no prefix matching
        ("AAPL", "AAPL", True),
        ("AAPL", "AA", False),
        ("NQ", "NQ", True),
        ("nqz6", "NQ", False),
    ],
)
def test_matches(symbol: str, allowed: str, expected: bool) -> None:
    assert matches(symbol, allowed) is expected


class _Follower(StrictModel):
    symbol_map: SymbolMap = {}


def test_symbol_map_accepts_roots_and_symbols() -> None:
    settings = {"NQ": "MNQ", "ESZ6": "MESZ6", "6E": "M6E", "AAPL": "BRK.B"}
    assert _Follower.model_validate({"symbol_map": settings}).symbol_map == settings
    assert _Follower().symbol_map == {}


def test_symbol_map_allows_twenty_entries() -> None:
    entries = {f"R{i}": "MNQ" for i in range(20)}
    assert TypeAdapter(SymbolMap).validate_python(entries) == entries


@pytest.mark.parametrize(
    ("symbol_map", "message"),
    [
        ({f"R{i}": "MNQ" for i in range(21)}, "symbol_map has 21 entries; at most 20 are allowed"),
        ({"NQ": "MNQ", "N Q ": "MNQ"}, "symbol_map key 'N Q ' is not a symbol or root"),
        ({"": "MNQ"}, "symbol_map key '' is not a symbol or root"),
        ({"NQ": "MNQ*"}, "symbol_map value 'MNQ\\*' for key 'NQ' is not a symbol or root"),
        ({"NQ": ""}, "symbol_map value '' for key 'NQ' is not a symbol or root"),
    ],
)
def test_symbol_map_errors_name_the_bad_entry(symbol_map: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _Follower.model_validate({"symbol_map": symbol_map})


@pytest.mark.parametrize("bad", [["NQ"], {"NQ": 1}, {"NQ": None}, "NQ"])
def test_symbol_map_must_be_an_object_of_strings(bad: object) -> None:
    with pytest.raises(ValidationError):
        _Follower.model_validate({"symbol_map": bad})


def test_symbol_map_json_schema_states_the_limit() -> None:
    schema = TypeAdapter(SymbolMap).json_schema()
    assert schema["maxProperties"] == 20
    assert schema["type"] == "object"


@pytest.mark.parametrize(
    ("side", "inverse", "expected"),
    [
        (Side.BUY, False, Side.BUY),
        (Side.SELL, False, Side.SELL),
        (Side.BUY, True, Side.SELL),
        (Side.SELL, True, Side.BUY),
    ],
)
def test_side_for(side: Side, inverse: bool, expected: Side) -> None:
    assert side_for(side, inverse) is expected


@pytest.mark.parametrize(
    ("inverse", "expected"),
    [(False, ("tp 21500", "sl 20900")), (True, ("sl 20900", "tp 21500"))],
)
def test_legs_for_swaps_take_profit_and_stop_loss_when_inverse(
    inverse: bool, expected: tuple[str, str]
) -> None:
    assert legs_for("tp 21500", "sl 20900", inverse) == expected
