"""The AWS clients of this execution environment, their configuration, and reading their errors.

``client(service)`` creates one client per service on first use and hands out the same one
afterwards (an execution environment serves many invocations; a client costs milliseconds to
build). Each service gets the configuration of ``config_for``: short timeouts and the standard
retry mode (which also retries throttling with backoff), tuned per use below.

The clients are botocore's own, built from one botocore session (``session()``), not through
boto3: ``import boto3`` also imports s3transfer (and with it multiprocessing, ~60 modules in all)
for its S3 transfer manager, which the copier never uses — tens of milliseconds of every cold
start (issue 19; ``python -X importtime``). A boto3 client is this same botocore client: the
calls, retries, endpoints and X-Ray patching (Powertools' Tracer patches botocore) are alike.
Nothing here reads ``os.environ``; botocore itself picks up the region (``AWS_DEFAULT_REGION``),
the credentials and ``AWS_ENDPOINT_URL_*``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, overload

from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.session import Session, get_session

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["clear_clients", "client", "client_config", "config_for", "describe", "error_code", "session"]


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
_sessions: list[Session] = []  # at most one: the session of the clients above
_lock = threading.RLock()  # a botocore session is not safe to build clients from concurrently


def config_for(service: str) -> Config:
    """The botocore configuration the client of ``service`` is built with.

    A new object each time: building a client rewrites the ``retries`` dict of its config in place.
    """
    read_timeout, max_attempts, validate = _BY_SERVICE.get(service, _CONTROL_PLANE)
    return client_config(read_timeout=read_timeout, max_attempts=max_attempts, validate_parameters=validate)


def session() -> Session:
    """The botocore session the clients are built from (created on first use, like boto3's default
    session). Handlers registered on it (``session().register(event, handler)``, e.g. the bench's
    call counter) reach every client built from it afterwards."""
    with _lock:
        if not _sessions:
            _sessions.append(get_session())
        return _sessions[0]


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
                found = _clients[service] = session().create_client(service, config=config_for(service))
    return found


def clear_clients(*services: str) -> None:
    """Forgets the clients of ``services``: tests that switch endpoints. With none named, all of
    them and their session too (the next client resolves credentials and region afresh, and sees
    what was patched into botocore since, e.g. moto's ``mock_aws``)."""
    with _lock:
        for service in services or list(_clients):
            _clients.pop(service, None)
        if not services:
            _sessions.clear()


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
