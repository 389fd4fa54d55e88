"""Contract specs: point value, tick and micro flag per root, in one table.

Sizing across roots (NQ → MNQ), P&L for the risk rules and prices sent to a broker all read the
same numbers, as exact Decimals: 6E's tick 0.00005 must stay 0.00005.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext
from types import MappingProxyType
from typing import Final

from tradecopier.domain.symbols import root_of


@dataclass(frozen=True, slots=True)
class ContractSpec:
    root: str
    point_value: Decimal  # USD per 1.0 of price, per contract
    tick: Decimal
    micro: bool


def _spec(root: str, point_value: str, tick: str, micro: bool = False) -> ContractSpec:
    return ContractSpec(root=root, point_value=Decimal(point_value), tick=Decimal(tick), micro=micro)


_SPECS: Final = (
    _spec("NQ", "20", "0.25"),
    _spec("MNQ", "2", "0.25", micro=True),
    _spec("ES", "50", "0.25"),
    _spec("MES", "5", "0.25", micro=True),
    _spec("YM", "5", "1"),
    _spec("MYM", "0.5", "1", micro=True),
    _spec("RTY", "50", "0.1"),
    _spec("M2K", "5", "0.1", micro=True),
    _spec("CL", "1000", "0.01"),
    _spec("MCL", "100", "0.01", micro=True),
    _spec("GC", "100", "0.1"),
    _spec("MGC", "10", "0.1", micro=True),
    _spec("6E", "125000", "0.00005"),
    _spec("M6E", "12500", "0.0001", micro=True),
)

CONTRACT_SPECS: Final[Mapping[str, ContractSpec]] = MappingProxyType({spec.root: spec for spec in _SPECS})
# Any root or symbol the table does not know. Its root is "" as it stands for none in particular.
UNKNOWN_SPEC: Final = _spec("", "1", "0.01")


def spec_for(symbol: str) -> ContractSpec:
    """By the symbol's root (``NQZ6`` → NQ); a symbol with no root (``NQ``, ``AAPL``) is looked up whole."""
    return CONTRACT_SPECS.get(root_of(symbol) or symbol, UNKNOWN_SPEC)


def round_to_tick(price: Decimal, symbol: str) -> Decimal:
    """Nearest multiple of the symbol's tick, ties away from zero, with the tick's decimal places.

    Exact at any size: ``divmod`` gives the exact remainder, the precision is raised to hold
    every digit, and an inexact step would raise rather than round silently.
    """
    if not price.is_finite():
        raise ValueError(f"cannot round {price} to a tick")
    tick = spec_for(symbol).tick
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, _digits_needed(price, tick))
        ctx.traps[Inexact] = True
        whole, rest = divmod(abs(price), tick)
        nearest = ((whole + (1 if 2 * rest >= tick else 0)) * tick).quantize(tick)
        return -nearest if price < 0 else nearest


def _digits_needed(price: Decimal, tick: Decimal) -> int:
    """Digits of ``price`` written with the finer of its own and the tick's exponent, plus room."""
    finest = min(_exponent(price), _exponent(tick))
    return max(price.adjusted(), tick.adjusted()) - finest + len(tick.as_tuple().digits) + 2


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int), "finite Decimals have an integer exponent"
    return exponent


def is_micro(symbol: str) -> bool:
    return spec_for(symbol).micro


def pnl(symbol: str, qty: int, entry: Decimal, exit: Decimal) -> Decimal:
    """Signed qty (long > 0) × (exit − entry) × point value, in USD."""
    return qty * (exit - entry) * spec_for(symbol).point_value
