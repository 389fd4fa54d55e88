"""Sample events, the one set of builders: the JSON bodies of leader events, the API Gateway HTTP
API (payload format 2.0) events and SQS records the Lambda service hands to the handlers, and a
Lambda context object.

Used by the tests (tests/pipeline.py and the suites), the demo (``devstack.demo``), the benchmark
(``bench``) and the local stack itself: ``devstack.esm`` builds the records of every batch it
delivers with :func:`sqs_record`. Nothing here imports the copier's code: a body built here is
what a sender posts, not a model.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

SYMBOL = "NQZ6"
PRICE = 21450.25  # the seed story's fill price
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account

# --- leader events (the bodies of POST /groups/{group_id}/events) ---------------------------------


def order_placed(
    event_id: str,
    order_id: str | None = None,
    *,
    qty: int = 2,
    side: str = "buy",
    symbol: str = SYMBOL,
    order_type: str = "market",
    **fields: Any,
) -> dict[str, Any]:
    """An ``order.placed`` body; ``fields`` adds the prices (``price``, ``limit_price``,
    ``stop_price``), ``occurred_at`` or anything else (the ingest token, a field to refuse)."""
    return {
        "event_id": event_id,
        "type": "order.placed",
        "order_id": order_id or f"L-{event_id}",
        "symbol": symbol,
        "side": side,
        "qty": qty,
        "order_type": order_type,
        **fields,
    }


def market(
    event_id: str,
    order_id: str | None = None,
    qty: int = 2,
    side: str = "buy",
    symbol: str = SYMBOL,
    price: float = PRICE,
    **fields: Any,
) -> dict[str, Any]:
    """A leader market order, filled at ``price`` (default: 2 NQZ6 bought at 21450.25)."""
    return order_placed(event_id, order_id, qty=qty, side=side, symbol=symbol, price=price, **fields)


def limit(
    event_id: str,
    order_id: str,
    qty: int,
    limit_price: float,
    side: str = "buy",
    symbol: str = SYMBOL,
    **fields: Any,
) -> dict[str, Any]:
    """A leader limit order (it rests working on a paper account)."""
    return order_placed(
        event_id,
        order_id,
        qty=qty,
        side=side,
        symbol=symbol,
        order_type="limit",
        limit_price=limit_price,
        **fields,
    )


def order_modified(event_id: str, order_id: str, **changes: Any) -> dict[str, Any]:
    """An ``order.modified`` body: ``changes`` are the new ``qty`` / prices."""
    return {"event_id": event_id, "type": "order.modified", "order_id": order_id, **changes}


def order_filled(
    event_id: str,
    order_id: str,
    *,
    qty: int,
    price: float,
    side: str = "buy",
    symbol: str = SYMBOL,
    **fields: Any,
) -> dict[str, Any]:
    """An ``order.filled`` body: ``qty`` of the leader's order filled at ``price`` (a mark, too)."""
    return {
        "event_id": event_id,
        "type": "order.filled",
        "order_id": order_id,
        "symbol": symbol,
        "side": side,
        "qty": qty,
        "price": price,
        **fields,
    }


def bracket(order_id: str, take_profit: float, stop_loss: float) -> dict[str, Any]:
    """The ``take_profit`` / ``stop_loss`` fields of an ``order.placed`` body: legs ``{order_id}-tp``
    and ``{order_id}-sl``."""
    return {
        "take_profit": {"order_id": f"{order_id}-tp", "price": take_profit},
        "stop_loss": {"order_id": f"{order_id}-sl", "price": stop_loss},
    }


def order_cancelled(event_id: str, order_id: str) -> dict[str, Any]:
    return {"event_id": event_id, "type": "order.cancelled", "order_id": order_id}


def position_flattened(event_id: str, symbol: str = SYMBOL) -> dict[str, Any]:
    return {"event_id": event_id, "type": "position.flattened", "symbol": symbol}


def alternating_market(event_id: str, index: int) -> dict[str, Any]:
    """The benchmark's leader order: 1 NQ at market, bought on even and sold on odd ``index``, so
    that follower positions stay small however many events run."""
    side = "buy" if index % 2 == 0 else "sell"
    return market(event_id, f"o-{event_id}", qty=1, side=side, symbol="NQ", price=21000.25)


# --- what the Lambda service hands to the handlers ------------------------------------------------


def http_api_event(
    method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, as the ``$default`` stage sends it.

    ``body`` is the request's text, as sent (tests also send malformed JSON). For calling a
    handler in this process; the local stack's HTTP front builds its events from real requests
    (``devstack.apigw.build_event``, with route keys and path parameters)."""
    raw_path, _, query = path.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json"} | {k.lower(): v for k, v in (headers or {}).items()},
        "queryStringParameters": params or None,
        "requestContext": {
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "in-process",
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_record(message: dict[str, Any], queue_arn: str, region: str = REGION) -> dict[str, Any]:
    """One SQS message (ReceiveMessage shape, all attributes) as a record of the event Lambda's
    SQS event source mapping sends: attributes as strings, message attributes lower-camel."""
    attrs = {k: str(v) for k, v in (message.get("Attributes") or {}).items()}
    msg_attrs: dict[str, Any] = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry: dict[str, Any] = {
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            raw = value["BinaryValue"]
            entry["binaryValue"] = base64.b64encode(raw).decode("ascii") if isinstance(raw, bytes) else raw
        msg_attrs[name] = entry
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attrs,
        "messageAttributes": msg_attrs,
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def sqs_records(messages: list[dict[str, Any]], queue_arn: str, region: str = REGION) -> list[dict[str, Any]]:
    """The ``Records`` of the event Lambda sends for these received messages."""
    return [sqs_record(message, queue_arn, region) for message in messages]


class Context:
    """The attributes and method of the Lambda Python runtime's context object."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: float = 10.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        self.aws_request_id = uuid.uuid4().hex
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
