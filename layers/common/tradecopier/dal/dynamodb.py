"""DynamoDB item (de)serialisation for the low-level client (``tradecopier.aws.client("dynamodb")``).

The low-level client is used (not the boto3 resource layer): it imports and runs faster on the
hot paths, and the (de)serialisers below keep numbers as ``Decimal`` end to end.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB attribute values. ``None`` values are left out; floats refused."""
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def to_attr(value: Any) -> Any:
    return _serializer.serialize(value)


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def as_int(value: Any) -> int | None:
    return None if value is None else int(Decimal(value))
