"""tradecopier.aws: one client per service, each with its configuration, and reading AWS errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.session import Session
from botocore.validate import ParamValidationDecorator

from tradecopier import aws


@pytest.fixture(autouse=True)
def _no_cached_clients() -> Iterator[None]:
    aws.clear_clients()
    yield
    aws.clear_clients()  # nothing built here (or a fake) leaks into other tests


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """(service, config) of every client built from now on (cheap stand-ins, no real client)."""
    calls: list[tuple[str, Any]] = []

    def fake_client(session: Session, service: str, **kwargs: Any) -> object:
        calls.append((service, kwargs.get("config")))
        return object()

    monkeypatch.setattr(Session, "create_client", fake_client)
    return calls


def test_the_same_client_is_returned_per_service(built: list[tuple[str, Any]]) -> None:
    sns = aws.client("sns")
    assert aws.client("sns") is sns
    assert aws.client("sqs") is not sns
    assert aws.client("sqs") is aws.client("sqs")
    assert [service for service, _ in built] == ["sns", "sqs"]


def _settings(config: Any) -> tuple[Any, ...]:
    return (config.connect_timeout, config.read_timeout, config.retries, config.parameter_validation)


def test_each_client_is_built_with_its_service_config(built: list[tuple[str, Any]]) -> None:
    services = ("dynamodb", "secretsmanager", "sns", "sqs", "lambda", "cloudwatch")
    for service in services:
        aws.client(service)
    assert [(service, _settings(config)) for service, config in built] == [
        (service, _settings(aws.config_for(service))) for service in services
    ]


def test_building_a_client_leaves_the_service_config_as_it_was() -> None:
    aws.client("sns")  # botocore rewrites the retries of the config it is given
    assert aws.config_for("sns").retries == {"mode": "standard", "max_attempts": 4}


def test_clear_clients_forgets_the_named_services_or_all(built: list[tuple[str, Any]]) -> None:
    sns, dynamodb = aws.client("sns"), aws.client("dynamodb")
    aws.clear_clients("dynamodb")
    assert aws.client("sns") is sns
    assert aws.client("dynamodb") is not dynamodb
    aws.clear_clients()
    assert aws.client("sns") is not sns


def test_concurrent_first_use_builds_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def slow_client(session: Session, service: str, **_: Any) -> object:
        built.append(service)
        time.sleep(0.05)  # widens the window in which a second thread could build another
        return object()

    monkeypatch.setattr(Session, "create_client", slow_client)
    seen: list[Any] = []
    threads = [threading.Thread(target=lambda: seen.append(aws.client("sns"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["sns"]
    assert len({id(client) for client in seen}) == 1


@pytest.mark.parametrize(
    ("service", "read_timeout", "max_attempts", "validates"),
    [
        ("dynamodb", 5, 4, False),  # the hot paths' data layer: no client-side validation
        ("secretsmanager", 5, 2, True),
        ("kms", 5, 2, True),  # sealing a shared broker token: inline in a copy, so short
        ("sns", 10, 4, False),  # ingest's publish: built from the validated event
        ("sqs", 10, 4, True),
        ("lambda", 10, 4, True),
        ("cloudwatch", 10, 4, True),
    ],
)
def test_each_service_keeps_its_timeouts_and_retries(
    service: str, read_timeout: int, max_attempts: int, validates: bool
) -> None:
    config = aws.config_for(service)
    assert (config.connect_timeout, config.read_timeout) == (2, read_timeout)
    assert config.retries == {"mode": "standard", "max_attempts": max_attempts}
    assert config.tcp_keepalive is True
    assert config.parameter_validation is validates


def test_clients_share_one_session_until_all_are_cleared(built: list[tuple[str, Any]]) -> None:
    session = aws.session()
    assert aws.session() is session
    aws.clear_clients("sns")  # forgetting one client keeps the session (and hooks registered on it)
    assert aws.session() is session
    aws.clear_clients()  # all: a fresh session, which resolves credentials and region again
    assert aws.session() is not session


def test_hooks_on_the_session_see_every_call() -> None:
    seen: list[str] = []

    def answer(model: Any, **_: Any) -> tuple[Any, dict[str, Any]]:  # an answer: botocore sends nothing
        seen.append(f"{model.service_model.service_name}.{model.name}")
        return SimpleNamespace(status_code=200), {"Item": {"pk": {"S": "a"}}}

    aws.session().register("before-call.dynamodb.GetItem", answer)  # as the bench's call counter
    item = aws.client("dynamodb").get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert (seen, item.get("Item")) == (["dynamodb.GetItem"], {"pk": {"S": "a"}})


def test_real_clients_carry_their_config() -> None:
    dynamodb, sns = aws.client("dynamodb"), aws.client("sns")  # built; no call made
    assert (dynamodb.meta.config.read_timeout, sns.meta.config.read_timeout) == (5, 10)
    assert dynamodb.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}  # 1 + 4 retries
    # botocore wraps the request serializer in a validator unless validation is off
    assert not isinstance(dynamodb._serializer, ParamValidationDecorator)  # type: ignore[attr-defined]
    assert not isinstance(sns._serializer, ParamValidationDecorator)  # type: ignore[attr-defined]
    assert isinstance(aws.client("sqs")._serializer, ParamValidationDecorator)  # type: ignore[attr-defined]


def _client_error(code: str | None, message: str = "nope") -> ClientError:
    error: dict[str, Any] = {"Message": message}
    if code is not None:
        error["Code"] = code
    return ClientError({"Error": error}, "PutItem")  # type: ignore[arg-type]


def test_error_code_of_a_client_error() -> None:
    error = _client_error("ConditionalCheckFailedException")
    assert aws.error_code(error) == "ConditionalCheckFailedException"


def test_error_code_of_a_client_error_without_a_code() -> None:
    assert aws.error_code(_client_error(None)) == ""
    assert aws.error_code(ClientError({}, "PutItem")) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "exc",
    [ValueError("QueueDoesNotExist"), EndpointConnectionError(endpoint_url="https://sqs"), KeyError("Error")],
    ids=["value-error", "botocore-error", "key-error"],
)
def test_error_code_of_other_exceptions_is_empty(exc: Exception) -> None:
    assert aws.error_code(exc) == ""


def test_describe_names_operation_code_and_message_or_the_exception_type() -> None:
    throttled = _client_error("ThrottlingException", "slow down")
    assert aws.describe(throttled) == "PutItem ThrottlingException: slow down"
    assert aws.describe(TimeoutError("read timed out")) == "TimeoutError: read timed out"
