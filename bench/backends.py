"""DynamoDB Local and moto (SNS/SQS/Lambda control plane) in processes of their own.

Both run outside the measuring process, so ``time.process_time`` there counts only the handlers'
own work (plus botocore's client side), never the emulators'.
"""

from __future__ import annotations

import io
import threading
import zipfile
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from devstack.motoserver import MotoServer

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class Backends:
    """DynamoDB Local + moto, started together; a context manager."""

    def __init__(self) -> None:
        self.dynamodb_endpoint = ""
        self.moto_endpoint = ""
        self._ddb: Any = None
        self._moto: MotoServer | None = None

    def __enter__(self) -> Backends:
        from devstack.dynamodb_local import DynamoDBLocal
        from devstack.motoserver import MotoServer, MotoServerError

        ddb = self._ddb = DynamoDBLocal(extra_jvm_args=("-XX:TieredStopAtLevel=1",))
        errors: list[BaseException] = []

        def start_ddb() -> None:
            try:
                ddb.start()
            except BaseException as exc:
                errors.append(exc)

        starter = threading.Thread(target=start_ddb, daemon=True)
        starter.start()
        try:
            self._moto = MotoServer("127.0.0.1")
            try:
                self.moto_endpoint = self._moto.wait_ready()
            except MotoServerError:
                self._moto.stop(timeout=10)
                raise
        finally:
            starter.join()
        if errors:
            self.__exit__(None, None, None)
            raise RuntimeError(f"DynamoDB Local did not start: {errors[0]}")
        self.dynamodb_endpoint = ddb.endpoint
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._moto is not None:
            self._moto.stop(timeout=10)
        if self._ddb is not None:
            self._ddb.stop()


def plain_client(service: str, endpoint: str) -> Any:
    """A client from a session of its own: the counting hooks of the default session never see it."""
    session: Any = boto3.session.Session(
        aws_access_key_id=FAKE_AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_AWS["AWS_SESSION_TOKEN"],
        region_name=FAKE_AWS["AWS_REGION"],
    )
    return session.client(service, endpoint_url=endpoint)


def ensure_function(moto_endpoint: str, name: str) -> None:
    """A function of that name in moto's Lambda (event source mappings must point at one)."""
    lambda_ = plain_client("lambda", moto_endpoint)
    if any(f["FunctionName"] == name for f in lambda_.list_functions()["Functions"]):
        return
    iam = plain_client("iam", moto_endpoint)
    try:
        role = iam.get_role(RoleName=f"{name}-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("executor_handler.py", "def handler(event, context):\n    return {}\n")
    lambda_.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="executor_handler.handler",
        Code={"ZipFile": archive.getvalue()},
    )
