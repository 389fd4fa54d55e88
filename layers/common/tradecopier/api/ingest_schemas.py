"""The ingest route's request and response models, and the error shape every route documents.

Apart from ``schemas`` (which re-exports them) so that the ingest function's cold start builds only
these models, not the admin API's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from tradecopier.domain.events import (
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderPlaced,
    PositionFlattened,
)
from tradecopier.domain.types import StrictModel

# A SecretStr: Powertools logs parsed bodies at DEBUG, and the token must never reach a log.
WebhookToken = Annotated[SecretStr, Field(max_length=512)]


# The ingest body: a leader event, plus the webhook token for senders that cannot set headers.
class OrderPlacedBody(OrderPlaced):
    token: WebhookToken | None = None


class OrderModifiedBody(OrderModified):
    token: WebhookToken | None = None


class OrderCancelledBody(OrderCancelled):
    token: WebhookToken | None = None


class OrderFilledBody(OrderFilled):
    token: WebhookToken | None = None


class PositionFlattenedBody(PositionFlattened):
    token: WebhookToken | None = None


LeaderEventBody = Annotated[
    OrderPlacedBody | OrderModifiedBody | OrderCancelledBody | OrderFilledBody | PositionFlattenedBody,
    Field(discriminator="type"),
]


class EventAccepted(StrictModel):
    event_id: str
    status: Literal["accepted", "duplicate"]


# --- errors, as API.md shapes them (documented on every route) -----------------------------------


class ErrorInfo(StrictModel):
    code: str = Field(description="stable snake_case code, e.g. validation_error")
    message: str = Field(description="one human sentence")
    details: list[Any] | None = Field(default=None, description="e.g. the field errors")


class ErrorBody(StrictModel):
    error: ErrorInfo


_ERROR_CODES = {
    400: "malformed_json: the body is not UTF-8 JSON",
    401: "unauthorized: the webhook token is missing or wrong",
    404: "not_found",
    409: "account_in_use: the account already belongs to a group (or, for credentials, is used by one)",
    413: "payload_too_large: bodies over 16 KiB",
    502: "broker_unreachable: the account's broker could not be reached",
    422: "validation_error: the request does not match the contract (unknown fields included); "
    "credentials_missing: a real-broker account without stored credentials",
    503: "publish_failed / provisioning_failed: nothing was done; the same request may be retried",
}


def error_responses(*statuses: int, ok: Any = None) -> dict[int, Any]:
    """OpenAPI responses of a route: ``ok`` (the 200 model, if any) and the error statuses it can
    answer, all in API.md's error shape (422 always: the validation layer may answer it)."""
    responses: dict[int, Any] = {
        status: {"description": _ERROR_CODES[status], "content": {"application/json": {"model": ErrorBody}}}
        for status in sorted({*statuses, 422})
    }
    if ok is not None:
        responses[200] = {"description": "OK", "content": {"application/json": {"model": ok}}}
    return responses
