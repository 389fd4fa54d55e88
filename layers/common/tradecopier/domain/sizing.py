"""Follower quantity = leader qty × multiplier, rounded by the follower's rule, capped at max_qty."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from tradecopier.domain.enums import Rounding

_DECIMAL_ROUNDING = {
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.FLOOR: ROUND_FLOOR,
    Rounding.CEIL: ROUND_CEILING,
}


@dataclass(frozen=True, slots=True)
class Sizing:
    """A sized quantity and how it was reached, in words a trader can check."""

    qty: int
    explanation: str

    @property
    def is_zero(self) -> bool:
        return self.qty == 0


def size_copy(leader_qty: int, multiplier: Decimal, rounding: Rounding, max_qty: int | None) -> Sizing:
    """Sizes one follower's copy. Pure Decimal arithmetic: 3 × 0.1 is exactly 0.3."""
    exact = Decimal(leader_qty) * multiplier
    rounded = int(exact.quantize(Decimal(1), rounding=_DECIMAL_ROUNDING[rounding]))
    explanation = f"{leader_qty} × {multiplier.normalize():f} = {exact.normalize():f}, {rounding} → {rounded}"
    if max_qty is not None and rounded > max_qty:
        return Sizing(qty=max_qty, explanation=f"{explanation}, capped at max_qty {max_qty}")
    return Sizing(qty=rounded, explanation=explanation)
