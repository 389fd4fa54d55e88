"""A follower's risk settings: API.md's ``risk`` object, and presets filling what a request leaves out.

Every rule is optional (null = no such rule). Amounts are USD as ``Decimal``; counts are ints; times
are ``HH:MM`` on the Chicago clock. A limit of zero or less is refused rather than read as "no
rule": null already says that, and a zero daily loss limit would lock the follower at its first tick.
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from tradecopier.domain.symbols import is_symbol_or_root
from tradecopier.domain.types import StrictModel, as_number

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _wall_clock(value: Any) -> Any:
    """``HH:MM`` only: ``8:30``, ``08:30:15`` or ``24:00`` are typos a trader should hear about."""
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _HHMM.match(value):
        return time.fromisoformat(value)
    raise ValueError("must be a time as HH:MM (00:00–23:59, America/Chicago)")


WallClock = Annotated[
    time,
    BeforeValidator(_wall_clock),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": _HHMM.pattern, "examples": ["15:08"]}),
]
Limit = Annotated[
    Decimal,
    Field(gt=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(as_number, when_used="json"),
]
# A balance may be 0: Topstep's Express Funded Account starts at $0 and stops trailing there.
Balance = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(as_number, when_used="json"),
]
MicroWeight = Annotated[
    Decimal,
    Field(gt=0, le=1, max_digits=7, decimal_places=6, allow_inf_nan=False),
    PlainSerializer(as_number, when_used="json"),
]
Count = Annotated[StrictInt, Field(ge=1, le=100_000)]
SymbolOrRoot = Annotated[str, StringConstraints(min_length=1, max_length=32)]
PresetName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]

DEFAULT_STARTING_BALANCE = Decimal(50000)
DEFAULT_MICRO_WEIGHT = Decimal(1)


class DrawdownMode(StrEnum):
    """When the high-water mark of a trailing drawdown moves (propfirms.md §2.2, §2.3)."""

    END_OF_DAY = "end_of_day"  # to the closing balance, once per session
    INTRADAY = "intraday"  # to the equity at every price, unrealized peaks included


class TradingHours(StrictModel):
    """A window on the Chicago clock, start inclusive, end exclusive; start after end crosses midnight."""

    start: WallClock
    end: WallClock

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError("start and end must differ (start after end crosses midnight)")
        return self


class RiskSettings(StrictModel):
    """API.md's ``risk`` object, as the trader sent it (``resolve_risk`` applies the preset)."""

    preset: PresetName | None = None
    starting_balance: Balance = DEFAULT_STARTING_BALANCE
    max_position: Count | None = None
    micro_weight: MicroWeight = DEFAULT_MICRO_WEIGHT
    max_trades_per_day: Count | None = None
    allowed_symbols: Annotated[list[SymbolOrRoot], Field(min_length=1, max_length=50)] | None = None
    trading_hours: TradingHours | None = None
    daily_loss_limit: Limit | None = None
    trailing_drawdown: Limit | None = None
    drawdown_mode: DrawdownMode | None = None
    trailing_stop_at: Balance | None = None
    flat_by: WallClock | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        """``starting_balance`` and ``micro_weight`` always have a value; null asks for the default
        (or the preset's), so it is read as "left out" and stays out of ``model_fields_set``."""
        if isinstance(data, dict):
            return {
                key: value
                for key, value in data.items()
                if not (value is None and key in ("starting_balance", "micro_weight"))
            }
        return data

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str | None) -> str | None:
        if name is not None and name not in _preset_names():
            raise ValueError(f"unknown preset {name!r}; GET /risk/presets lists them")
        return name

    @field_validator("allowed_symbols")
    @classmethod
    def _symbols_or_roots(cls, entries: list[str] | None) -> list[str] | None:
        if entries is None:
            return None
        bad = [entry for entry in entries if not is_symbol_or_root(entry)]
        if bad:
            raise ValueError(f"not a symbol or root: {', '.join(bad)}")
        return list(dict.fromkeys(entries))

    @property
    def has_opening_rules(self) -> bool:
        """Rules checked before a copy that opens or adds."""
        return any(
            value is not None
            for value in (
                self.max_position,
                self.max_trades_per_day,
                self.allowed_symbols,
                self.trading_hours,
            )
        )

    @property
    def has_loss_rules(self) -> bool:
        """Rules checked after each fill or price mark (they need the broker's account snapshot)."""
        return self.daily_loss_limit is not None or self.trailing_drawdown is not None

    @property
    def effective_drawdown_mode(self) -> DrawdownMode:
        """End of day unless told otherwise: Topstep, Apex 4.0 EOD, TPT, MFFU, Lucid and Alpha trail
        that way, and it is the one that never moves the floor on an unrealized peak."""
        return self.drawdown_mode or DrawdownMode.END_OF_DAY


def _preset_names() -> frozenset[str]:
    # Imported here: presets are validated as RiskSettings, so the module import runs the other way.
    from tradecopier.domain.risk.presets import preset_names

    return preset_names()


def resolve_risk(body: RiskSettings) -> RiskSettings:
    """The settings a follower runs with: the preset's values where the request left a field out.

    A field the request names wins, even as null (``"daily_loss_limit": null`` drops the preset's
    limit). Raises ``ValueError`` naming ``preset`` for an unknown name (the model refuses it first).
    """
    if body.preset is None:
        return body
    from tradecopier.domain.risk.presets import get_preset

    preset = get_preset(body.preset)
    values = {name: getattr(preset.risk, name) for name in preset.risk.model_fields_set}
    values.update({name: getattr(body, name) for name in body.model_fields_set})
    return RiskSettings.model_validate(values)


ResolvedRisk = Annotated[RiskSettings, AfterValidator(resolve_risk)]
"""A field type for the follower API model: validated, then the preset applied (422 at ``risk.*``)."""
