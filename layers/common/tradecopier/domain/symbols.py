"""Futures symbols (root + month + year), a follower's symbol_map, and inverse copies.

One place decides what ``NQZ6`` is made of, so mapping (``NQ`` → ``MNQ``), ``allowed_symbols``
and contract specs all agree on the root. Matching is case-sensitive: the API speaks the CME form
(``NQZ6``); a lowercase ``nqz6`` has no root and is matched whole, like ``AAPL``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Final, TypeVar

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError

from tradecopier.domain.enums import Side
from tradecopier.domain.types import Symbol

MONTH_CODES: Final = "FGHJKMNQUVXZ"
MAX_SYMBOL_MAP_ENTRIES: Final = 20

# A root: 1-5 of A-Z/0-9 with at least one letter (NQ, 6E, M2K, M6E). Purely numeric prefixes are
# not roots, so "1Z6" and "Z6" (empty root) are whole symbols.
_ROOT = re.compile(r"(?=[0-9]*[A-Z])[A-Z0-9]{1,5}")
# Month code and a one- or two-digit year end the symbol. The split is unique: the character
# before the last digit is either a digit (two-digit year) or the month code, never both, so the
# "shortest prefix" rule never has to choose between two roots.
_FUTURES = re.compile(rf"(?P<root>.+?)(?P<month>[{MONTH_CODES}])(?P<year>[0-9]{{1,2}})")
_SYMBOL: TypeAdapter[str] = TypeAdapter(Symbol)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FuturesSymbol:
    """``NQZ6`` as its parts; ``str()`` gives the symbol back."""

    root: str
    month: str
    year: str

    def __post_init__(self) -> None:
        if not (_ROOT.fullmatch(self.root) and len(self.month) == 1 and self.month in MONTH_CODES):
            raise ValueError(f"not a futures symbol: root {self.root!r}, month {self.month!r}")
        if not (1 <= len(self.year) <= 2 and self.year.isascii() and self.year.isdigit()):
            raise ValueError(f"not a futures year: {self.year!r}")

    def __str__(self) -> str:
        return f"{self.root}{self.month}{self.year}"


def is_root(text: str) -> bool:
    """1-5 characters of A-Z/0-9 with at least one letter, and not itself a futures symbol."""
    return _ROOT.fullmatch(text) is not None and parse_symbol(text) is None


def parse_symbol(symbol: str) -> FuturesSymbol | None:
    """``NQZ6`` → NQ/Z/6; ``AAPL``, ``NQZ`` (no year), ``Z6`` (no root) → None."""
    found = _FUTURES.fullmatch(symbol)
    if found is None or _ROOT.fullmatch(found["root"]) is None:
        return None
    return FuturesSymbol(root=found["root"], month=found["month"], year=found["year"])


def root_of(symbol: str) -> str | None:
    parsed = parse_symbol(symbol)
    return parsed.root if parsed else None


def is_symbol_or_root(text: str) -> bool:
    """What may be a symbol_map key or value or an allowed_symbols entry.

    Any valid ``Symbol`` string (roots are a subset of them), minus leading or trailing spaces,
    which in a setting are a typo that would silently never match.
    """
    if text != text.strip(" "):
        return False
    try:
        _SYMBOL.validate_python(text, strict=True)
    except ValidationError:
        return False
    return True


def map_symbol(symbol: str, symbol_map: Mapping[str, str]) -> str:
    """The follower's symbol for the leader's ``symbol``; mapped once, never chained.

    An exact key wins over a root key. Whatever the key, a value that is a root replaces the
    symbol's root and keeps month and year (``{"NQZ6": "MNQ"}`` and ``{"NQ": "MNQ"}`` both give
    ``MNQZ6``); any other value (``MNQH7``, ``AAPL`` for a non-futures symbol) is used as is.
    """
    parsed = parse_symbol(symbol)
    if symbol in symbol_map:
        target = symbol_map[symbol]
    elif parsed is not None and parsed.root in symbol_map:
        target = symbol_map[parsed.root]
    else:
        return symbol
    if parsed is not None and is_root(target):
        return str(replace(parsed, root=target))
    return target


def matches(symbol: str, allowed: str) -> bool:
    """``allowed`` is the symbol itself or its root (``NQ`` allows ``NQZ6``, not ``MNQZ6``)."""
    return symbol == allowed or root_of(symbol) == allowed


def _check_symbol_map(symbol_map: dict[str, str]) -> dict[str, str]:
    if len(symbol_map) > MAX_SYMBOL_MAP_ENTRIES:
        raise ValueError(
            f"symbol_map has {len(symbol_map)} entries; at most {MAX_SYMBOL_MAP_ENTRIES} are allowed"
        )
    for key, value in symbol_map.items():
        if not is_symbol_or_root(key):
            raise ValueError(f"symbol_map key {key!r} is not a symbol or root")
        if not is_symbol_or_root(value):
            raise ValueError(f"symbol_map value {value!r} for key {key!r} is not a symbol or root")
    return symbol_map


SymbolMap = Annotated[
    dict[str, str],
    AfterValidator(_check_symbol_map),
    Field(json_schema_extra={"maxProperties": MAX_SYMBOL_MAP_ENTRIES}),
]


def side_for(side: Side, inverse: bool) -> Side:
    """The follower's side: an inverse follower buys what the leader sells."""
    return side.opposite if inverse else side


def legs_for(take_profit: T, stop_loss: T, inverse: bool) -> tuple[T, T]:
    """The follower's (take_profit, stop_loss) from the leader's: inverse swaps the legs.

    Opposite side means the leader's stop-loss price is on the follower's profit side.
    """
    return (stop_loss, take_profit) if inverse else (take_profit, stop_loss)
