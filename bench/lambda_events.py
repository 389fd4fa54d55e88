"""The events and context object the Lambda service hands to the handlers (API Gateway HTTP API
payload v2, SQS batches), for calling the real handlers in this process."""

from __future__ import annotations

import time
import uuid
from typing import Any


def http_api_event(
    method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, as the ``$default`` stage sends it.

    ``body`` is the request's text, as sent (tests also send malformed JSON). Shared by the
    benchmark and the test harness (tests/pipeline.py)."""
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


class Context:
    """The attributes and method of the Lambda Python runtime's context object."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: float = 10.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = uuid.uuid4().hex
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def order_placed(event_id: str, index: int) -> dict[str, Any]:
    """A leader market order (alternating sides, so follower positions stay small)."""
    return {
        "event_id": event_id,
        "type": "order.placed",
        "order_id": f"o-{event_id}",
        "symbol": "NQ",
        "side": "buy" if index % 2 == 0 else "sell",
        "qty": 1,
        "order_type": "market",
        "price": 21000.25,
    }
