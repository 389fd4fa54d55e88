"""DynamoDB item (de)serialisation for the low-level client (``tradecopier.aws.client("dynamodb")``).

The low-level client is used (not the boto3 resource layer): it imports and runs faster on the
hot paths, and the (de)serialisers below keep numbers as ``Decimal`` end to end.

They follow boto3's ``boto3.dynamodb.types.TypeSerializer`` / ``TypeDeserializer`` rule for rule
(numbers through the same 38-digit context that traps inexact and rounded values, floats refused,
sets by their members' type; ``tests/unit/test_dynamodb_attrs.py`` compares them value for value),
without importing boto3: its package import pulls in s3transfer and multiprocessing, tens of
milliseconds of every ingest and executor cold start (issue 19). One difference: a binary value
reads back as ``bytes``, not boto3's ``Binary`` wrapper (the copier stores none through here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# boto3's DYNAMODB_CONTEXT: DynamoDB's number range and precision, and no silent rounding.
DYNAMODB_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)
_BINARY = (bytes, bytearray)


def _number(value: int | Decimal) -> str:
    number = str(DYNAMODB_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, (int, Decimal))  # a bool too (an int), as in boto3: only inside a set


def _set_attr(value: Set[Any]) -> dict[str, Any]:
    if all(_is_number(member) for member in value):
        return {"NS": [_number(member) for member in value]}
    if all(isinstance(member, str) for member in value):
        return {"SS": list(value)}
    if all(isinstance(member, _BINARY) for member in value):
        return {"BS": list(value)}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def to_attr(value: Any) -> Any:
    """One Python value → its DynamoDB attribute value (``{"S": ...}``, ``{"N": ...}``, ...)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, _BINARY):
        return {"B": value}
    if isinstance(value, Set):
        return _set_attr(value)
    if isinstance(value, Mapping):
        return {"M": {key: to_attr(member) for key, member in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attr(member) for member in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB attribute values. ``None`` values are left out; floats refused."""
    return {key: to_attr(value) for key, value in values.items() if value is not None}


def _decimal(value: str) -> Decimal:
    return DYNAMODB_CONTEXT.create_decimal(value)


def _same(value: Any) -> Any:
    return value


_READERS: dict[str, Callable[[Any], Any]] = {
    "S": _same,
    "N": _decimal,
    "BOOL": _same,
    "NULL": lambda _: None,
    "M": lambda value: {key: from_attr(member) for key, member in value.items()},
    "L": lambda value: [from_attr(member) for member in value],
    "B": bytes,
    "SS": set,
    "NS": lambda value: {_decimal(member) for member in value},
    "BS": lambda value: {bytes(member) for member in value},
}


def from_attr(attr: Mapping[str, Any]) -> Any:
    """One DynamoDB attribute value → its Python value (numbers as ``Decimal``)."""
    if not attr:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, value = next(iter(attr.items()))
    reader = _READERS.get(kind)
    if reader is None:
        raise TypeError(f"Dynamodb type {kind} is not supported")
    return reader(value)


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: from_attr(value) for key, value in item.items()}


def as_int(value: Any) -> int | None:
    return None if value is None else int(Decimal(value))
