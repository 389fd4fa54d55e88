"""The base model and the constrained value types every domain and API model is built from.

Money fields are ``Decimal``; every model refuses unknown fields, so a typo such as ``multipler``
is an error, never a silently ignored setting.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StrictInt, StringConstraints


class StrictModel(BaseModel):
    """Base of every domain and API model: unknown fields are refused, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def as_number(value: Decimal) -> float | int:
    """JSON shows Decimals as numbers (API.md), integers without a trailing ``.0``."""
    return int(value) if value == value.to_integral_value() else float(value)


AccountId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
GroupId = Annotated[str, StringConstraints(pattern=r"^g-[a-z0-9]{12}$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:!/ -]{1,32}$")]
Price = Annotated[
    Decimal,
    Field(gt=0, max_digits=20, decimal_places=8, allow_inf_nan=False),
    PlainSerializer(as_number, when_used="json"),
]
Multiplier = Annotated[
    Decimal,
    Field(gt=0, le=1000, max_digits=12, decimal_places=6, allow_inf_nan=False),
    PlainSerializer(as_number, when_used="json"),
]
Quantity = Annotated[StrictInt, Field(ge=1, le=100_000)]
MaxQuantity = Annotated[StrictInt, Field(ge=1, le=100_000)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]
