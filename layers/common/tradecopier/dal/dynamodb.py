"""One DynamoDB client per execution environment, and item (de)serialisation.

The low-level client is used (not the boto3 resource layer): it imports and runs faster on the
hot paths, and the (de)serialisers below keep numbers as ``Decimal`` end to end.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Short timeouts and the standard retry mode (which also retries throttling with backoff):
# a copy that waits seconds on a slow call is worse than one retried by SQS.
_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 4},
    tcp_keepalive=True,
    # Requests are built by this module from validated models; botocore's own client-side
    # validation of every call costs CPU on the hot path for nothing.
    parameter_validation=False,
)


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB attribute values. ``None`` values are left out; floats refused."""
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def to_attr(value: Any) -> Any:
    return _serializer.serialize(value)


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def as_int(value: Any) -> int | None:
    return None if value is None else int(Decimal(value))
