"""Fixtures for handler-level pipeline tests: a moto server (SNS/SQS/Lambda control plane) next to
DynamoDB Local, and a ``pipeline`` wired to fresh tables and a fresh resource prefix per test."""

from __future__ import annotations

import importlib
import io
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack import motopatch
from devstack.dynamodb_local import free_port
from tests.conftest import CopierTables
from tests.pipeline import Pipeline

EXECUTOR_NAME = "copier-executor"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    motopatch.apply()  # moto must not run event source mappings itself (see devstack/motopatch.py)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _ensure_executor_function(endpoint: str) -> None:
    """The executor must exist in moto's Lambda for event source mappings to be created. Checked per
    test: other tests' ``mock_aws`` contexts reset every in-process moto backend when they exit."""
    lambda_ = boto3.client("lambda", endpoint_url=endpoint)
    if any(f["FunctionName"] == EXECUTOR_NAME for f in lambda_.list_functions()["Functions"]):
        return
    iam = boto3.client("iam", endpoint_url=endpoint)
    try:
        role = iam.get_role(RoleName="executor-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="executor-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("executor_handler.py", "def handler(event, context):\n    return {}\n")
    lambda_.create_function(
        FunctionName=EXECUTOR_NAME,
        Runtime="python3.13",
        Role=role,
        Handler="executor_handler.handler",
        Code={"ZipFile": archive.getvalue()},
    )


def _handler(module: str) -> Any:
    return importlib.import_module(module).handler


@pytest.fixture
def pipeline_env(
    monkeypatch: pytest.MonkeyPatch, copier_env: CopierTables, moto_endpoint: str
) -> CopierTables:
    from tradecopier.logic.services import reset_services

    _ensure_executor_function(moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("RESOURCE_PREFIX", f"t{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("EXECUTOR_FUNCTION_NAME", EXECUTOR_NAME)
    monkeypatch.setenv("FOLLOWER_QUEUE_VISIBILITY_SECONDS", "1")
    monkeypatch.setenv("FOLLOWER_MAX_RECEIVE_COUNT", "3")
    reset_services()
    yield copier_env
    reset_services()


@pytest.fixture
def pipeline(pipeline_env: CopierTables, moto_endpoint: str) -> Iterator[Pipeline]:
    harness = Pipeline(
        ingest=_handler("ingest_handler"),
        admin=_handler("admin_handler"),
        executor=_handler("executor_handler"),
        moto_endpoint=moto_endpoint,
    )
    yield harness
    for mapping in harness.lambda_.list_event_source_mappings()["EventSourceMappings"]:
        harness.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])
