"""Where the CLI sends its requests: the local stack (``--url``) or a deployed stack (``--stack``)."""

from __future__ import annotations

from typing import Any

from tradecopier.board.api_client import ApiClient, SigV4Signer

EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"}


class TargetError(Exception):
    """The target cannot be used (one line for the person at the terminal)."""


def local(url: str) -> ApiClient:
    return ApiClient(url)


def deployed(stack: str, region: str | None) -> ApiClient:
    """The stack's ``ApiUrl`` output, every call signed with SigV4 (botocore's credential chain)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(region_name=region)
    if not session.region_name:
        raise TargetError("no AWS region: pass --region or set AWS_REGION")
    credentials = session.get_credentials()
    if credentials is None:
        raise TargetError("no AWS credentials found (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID)")
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        raise TargetError(_client_error(error, stack, session.region_name)) from None
    except BotoCoreError as error:
        raise TargetError(f"cannot read stack {stack}: {error}") from None
    url = _api_url(stacks[0] if stacks else {})
    if url is None:
        raise TargetError(
            f"stack {stack} in {session.region_name} has no ApiUrl output (is it a copier stack?)"
        )
    return ApiClient(url, signer=SigV4Signer(credentials, session.region_name))


def _api_url(stack: Any) -> str | None:
    for output in stack.get("Outputs") or []:
        if output.get("OutputKey") == "ApiUrl" and output.get("OutputValue"):
            return str(output["OutputValue"])
    return None


def _client_error(error: Any, stack: str, region: str) -> str:
    err = error.response.get("Error", {})
    code, message = str(err.get("Code", "")), str(err.get("Message", ""))
    if code in EXPIRED or "expired" in message.lower():
        return f"AWS credentials are expired or invalid ({code}): refresh them (e.g. aws sso login)"
    if code == "ValidationError" and "does not exist" in message:
        return f"stack {stack} not found in {region}"
    return f"cannot read stack {stack}: {code}: {message}"
