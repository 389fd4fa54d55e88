"""The one place where errors become HTTP responses, in API.md's shape, never with a stack trace:
``{"error": {"code": "...", "message": "...", "details": [...]}}``."""

from __future__ import annotations

import json
from base64 import b64decode
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from tradecopier.domain.errors import CopierError, PayloadTooLarge
from tradecopier.observability import logger


def error_body(code: str, message: str, details: list[Any] | None = None) -> str:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json.dumps({"error": error}, default=str)


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> Response[str]:
    return Response(
        status_code=status, content_type="application/json", body=error_body(code, message, details)
    )


def _field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic's field errors without the submitted values (which could hold a token)."""
    return [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": item.get("msg"), "type": item.get("type")}
        for item in error.errors()
    ]


def register_error_handlers(
    app: APIGatewayHttpResolver, on_error: Callable[[str], None] | None = None
) -> None:
    """Maps domain errors, validation errors, unknown routes and crashes to API.md errors."""

    def answered(status: int, code: str, message: str, details: list[Any] | None = None) -> Response[str]:
        if on_error is not None:
            on_error(code)
        return error_response(status, code, message, details)

    @app.exception_handler(CopierError)
    def _domain_error(error: CopierError) -> Response[str]:
        return answered(error.status, error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response[str]:
        details = _field_errors(error)
        if any(item["type"] == "json_invalid" for item in details):
            return answered(400, "malformed_json", "the request body is not valid JSON")
        return answered(422, "validation_error", "the request does not match the API contract", details)

    @app.exception_handler(RequestUnsupportedContentType)
    def _not_json_labelled(_: RequestUnsupportedContentType) -> Response[str]:
        # The handlers relabel every body as JSON (api/http.py) before resolving; should a request
        # reach Powertools' parser with another label all the same, it is a client error, not a 500.
        return answered(400, "malformed_json", "the request body is not JSON")

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(_: UnicodeDecodeError) -> Response[str]:
        return answered(400, "malformed_json", "the request body is not UTF-8 JSON")

    @app.not_found
    def _no_route(_: Exception) -> Response[str]:
        return answered(404, "not_found", "no such route")

    @app.exception_handler(Exception)
    def _crash(error: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return answered(500, "internal_error", "something went wrong on our side; it was logged")


def body_too_large(event: dict[str, Any], limit: int) -> dict[str, Any] | None:
    """API.md refuses bodies over 16 KiB with 413 before anything parses them."""
    body = event.get("body") or ""
    size = len(b64decode(body)) if event.get("isBase64Encoded") else len(body.encode())
    if size <= limit:
        return None
    error = PayloadTooLarge(f"the request body is {size} bytes; the limit is {limit}")
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/json"},
        "body": error_body(error.code, error.message),
        "isBase64Encoded": False,
    }
