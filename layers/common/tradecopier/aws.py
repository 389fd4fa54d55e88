"""The AWS clients of this execution environment, their configuration, and reading their errors.

``client(service)`` creates one boto3 client per service on first use and hands out the same one
afterwards (an execution environment serves many invocations; a client costs milliseconds to
build). Each service gets the configuration of ``config_for``: short timeouts and the standard
retry mode (which also retries throttling with backoff), tuned per use below.

The import stays light (boto3/botocore only): the ingest and executor cold starts pay for it.
Nothing here reads ``os.environ``; boto3 itself picks up the region and ``AWS_ENDPOINT_URL_*``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["clear_clients", "client", "client_config", "config_for", "describe", "error_code"]


def client_config(*, read_timeout: int, max_attempts: int, validate_parameters: bool = True) -> Config:
    """Short connect timeout, TCP keep-alive, the standard retry mode with ``max_attempts`` retries."""
    return Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"mode": "standard", "max_attempts": max_attempts},
        tcp_keepalive=True,
        parameter_validation=validate_parameters,
    )


# Per service: (read timeout in s, retries after the first attempt, client-side parameter validation).
_CONTROL_PLANE = (10, 4, True)  # SQS, Lambda, CloudWatch
_BY_SERVICE: dict[str, tuple[int, int, bool]] = {
    # A copy that waits seconds on a slow call is worse than one retried by SQS. Requests are built
    # by the data layer from validated models: botocore's client-side validation of every call
    # costs CPU on the hot path for nothing.
    "dynamodb": (5, 4, False),
    # Ingest's publish (one per accepted event) carries a message serialised from the validated
    # event, with ids we build; the admin's topic calls are built by fanout/ the same way. SNS
    # still refuses a bad request itself; botocore's check only cost ingest ~0.05 ms an event.
    "sns": (10, 4, False),
    "secretsmanager": (5, 2, True),  # broker credentials, read once per TTL (brokers/credentials.py)
    "kms": (5, 2, True),  # the shared Tradovate token, once per new token (tradovate/sealing.py)
}

_clients: dict[str, Any] = {}
_lock = threading.Lock()  # boto3's default session is not safe to build clients from concurrently


def config_for(service: str) -> Config:
    """The botocore configuration the client of ``service`` is built with.

    A new object each time: building a client rewrites the ``retries`` dict of its config in place.
    """
    read_timeout, max_attempts, validate = _BY_SERVICE.get(service, _CONTROL_PLANE)
    return client_config(read_timeout=read_timeout, max_attempts=max_attempts, validate_parameters=validate)


@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["sns"]) -> SNSClient: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service: Literal["lambda"]) -> LambdaClient: ...
@overload
def client(service: str) -> Any: ...  # cloudwatch, secretsmanager: no type stubs installed


def client(service: str) -> Any:
    """The client of ``service`` in this execution environment (created once, on first use)."""
    found = _clients.get(service)
    if found is None:
        with _lock:
            found = _clients.get(service)
            if found is None:
                found = _clients[service] = boto3.client(service, config=config_for(service))  # type: ignore[call-overload]
    return found


def clear_clients(*services: str) -> None:
    """Forgets the clients of ``services`` (all if none is named): tests that switch endpoints."""
    with _lock:
        for service in services or list(_clients):
            _clients.pop(service, None)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (``""`` when it has none or is another exception)."""
    if not isinstance(exc, ClientError):
        return ""
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe(exc: BaseException) -> str:
    """``Operation Code: message`` for a ``ClientError``, else ``Type: text`` (for error details)."""
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        return f"{exc.operation_name} {error_code(exc)}: {message}"
    return f"{type(exc).__name__}: {exc}"
