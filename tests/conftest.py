"""Shared fixtures.

- Fake AWS credentials/region for the whole session (set at import, before any test module builds a
  boto3 client): nothing here can reach a real AWS account.
- ``dynamodb_local_endpoint`` (session): a DynamoDB Local server (devstack.dynamodb_local).
- ``dynamodb_local_client`` (session): a boto3 DynamoDB client for it.
- ``copier_tables`` (function): fresh, uniquely named CopierTable / PaperBrokerTable created from
  template.yaml (devstack.tables), deleted afterwards.
- ``copier_env`` (function): COPIER_TABLE_NAME, PAPER_TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB set for
  ``tradecopier.settings``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from hypothesis import HealthCheck, settings

from devstack.dynamodb_local import DynamoDBLocal, DynamoDBLocalError
from devstack.tables import create_tables_from_template, delete_tables

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

# ---------------------------------------------------------------------------------------------------
# Hypothesis: no deadlines (2-core CI machines, JVM next door); reproducible examples under CI.
_IN_CI = bool(os.environ.get("CI"))
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=_IN_CI,
    **({"database": None} if _IN_CI else {}),
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# ---------------------------------------------------------------------------------------------------
# Fake AWS environment, applied at import time (collection imports handler modules, which may build
# boto3 clients at module level) and re-asserted by an autouse session fixture.
FAKE_AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    # Powertools outside Lambda: no X-Ray daemon; metrics need a namespace.
    "POWERTOOLS_TRACE_DISABLED": "true",
}
FAKE_AWS_DEFAULTS = {
    "POWERTOOLS_SERVICE_NAME": "tradecopier-tests",
    "POWERTOOLS_METRICS_NAMESPACE": "TradeCopier",
}
UNSET_AWS_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB")


def _apply_fake_aws_env(mp: pytest.MonkeyPatch | None = None) -> None:
    for key in UNSET_AWS_ENV:
        if mp:
            mp.delenv(key, raising=False)
        else:
            os.environ.pop(key, None)
    for key, value in FAKE_AWS_ENV.items():
        if mp:
            mp.setenv(key, value)
        else:
            os.environ[key] = value
    for key, value in FAKE_AWS_DEFAULTS.items():
        if key not in os.environ:
            if mp:
                mp.setenv(key, value)
            else:
                os.environ[key] = value


_apply_fake_aws_env()


@pytest.fixture(scope="session", autouse=True)
def fake_aws_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        _apply_fake_aws_env(mp)
        yield


# ---------------------------------------------------------------------------------------------------
# DynamoDB Local
@pytest.fixture(scope="session")
def dynamodb_local_endpoint() -> Iterator[str]:
    """URL of a DynamoDB Local server started for this test session (in memory, shared DB)."""
    server = DynamoDBLocal()
    try:
        server.start()
    except DynamoDBLocalError as exc:
        pytest.fail(f"could not start DynamoDB Local: {exc}", pytrace=False)
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dynamodb_local_client(dynamodb_local_endpoint: str) -> DynamoDBClient:
    return boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint, region_name="us-east-1")


@dataclass(frozen=True)
class CopierTables:
    copier: str  # CopierTable: pk/sk, GSI gsi1 (gsi1pk/gsi1sk), TTL on expires_at
    paper: str  # PaperBrokerTable: pk/sk


@pytest.fixture
def copier_tables(dynamodb_local_client: DynamoDBClient) -> Iterator[CopierTables]:
    """Fresh CopierTable + PaperBrokerTable (definitions read from template.yaml), unique names."""
    names = create_tables_from_template(dynamodb_local_client, TEMPLATE_PATH, uuid.uuid4().hex[:12])
    try:
        missing = {"CopierTable", "PaperBrokerTable"} - set(names)
        if missing:
            pytest.fail(f"template.yaml defines no {sorted(missing)} AWS::DynamoDB::Table", pytrace=False)
        yield CopierTables(copier=names["CopierTable"], paper=names["PaperBrokerTable"])
    finally:
        delete_tables(dynamodb_local_client, list(names.values()))


@pytest.fixture
def copier_env(
    monkeypatch: pytest.MonkeyPatch, copier_tables: CopierTables, dynamodb_local_endpoint: str
) -> CopierTables:
    """Environment for ``tradecopier.settings`` pointing at the fresh tables in DynamoDB Local."""
    monkeypatch.setenv("COPIER_TABLE_NAME", copier_tables.copier)
    monkeypatch.setenv("PAPER_TABLE_NAME", copier_tables.paper)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local_endpoint)
    return copier_tables
