"""Domain errors. Each has a stable ``code`` and HTTP status; they become API.md error bodies in
exactly one place (``tradecopier.api.errors``)."""

from __future__ import annotations

from typing import Any, ClassVar


class CopierError(Exception):
    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class MalformedJson(CopierError):
    code = "malformed_json"
    status = 400


class Unauthorized(CopierError):
    code = "unauthorized"
    status = 401


class NotFound(CopierError):
    code = "not_found"
    status = 404


class AccountInUse(CopierError):
    code = "account_in_use"
    status = 409


class PayloadTooLarge(CopierError):
    code = "payload_too_large"
    status = 413


class ValidationFailed(CopierError):
    code = "validation_error"
    status = 422


class CredentialsMissing(CopierError):
    """A leader or follower on a real broker, and no credentials stored for its account."""

    code = "credentials_missing"
    status = 422


class BrokerUnavailable(CopierError):
    """The account's broker could not be reached to answer (positions, orders)."""

    code = "broker_unreachable"
    status = 502


class PublishFailed(CopierError):
    """The event could not be queued for the followers: nothing was accepted, the sender may retry."""

    code = "publish_failed"
    status = 503


class ProvisioningFailed(CopierError):
    """A follower's queue could not be set up; calling again resumes where it stopped."""

    code = "provisioning_failed"
    status = 503
