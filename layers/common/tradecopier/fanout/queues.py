"""SQS FIFO queue primitives of the follower steps: find, ensure (create or converge), delete.

"Already gone" is an answer here (``None``), not an error; a queue created meanwhile by a
concurrent call is taken as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tradecopier.aws import error_code
from tradecopier.fanout.errors import fail

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

SQS_GONE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_SQS_EXISTS = frozenset({"QueueAlreadyExists", "QueueNameExists"})
_POLICY_SID = "AllowGroupTopic"


def queue_url(sqs: SQSClient, name: str) -> str | None:
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if error_code(exc) in SQS_GONE:
            return None
        raise


def queue_attributes(sqs: SQSClient, url: str, names: list[QueueAttributeNameType]) -> dict[str, str] | None:
    try:
        response = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
    except ClientError as exc:
        if error_code(exc) in SQS_GONE:
            return None
        raise
    return {str(key): value for key, value in response.get("Attributes", {}).items()}


def delete_queue(sqs: SQSClient, url: str) -> None:
    try:
        sqs.delete_queue(QueueUrl=url)
    except ClientError as exc:
        if error_code(exc) not in SQS_GONE:
            raise


def ensure_queue(
    sqs: SQSClient,
    step_name: str,
    name: str,
    attributes: Mapping[QueueAttributeNameType, str],
    tags: Mapping[str, str],
) -> tuple[str, str]:
    """A FIFO queue with these attributes and tags: created, or converged if it exists.

    Called inside ``step(step_name)``: AWS errors become that step's failure.
    """
    url = queue_url(sqs, name)
    created = False
    if url is None:
        try:
            fifo: dict[QueueAttributeNameType, str] = {"FifoQueue": "true", **attributes}
            url = sqs.create_queue(QueueName=name, Attributes=fifo, tags=dict(tags))["QueueUrl"]
            created = True
        except ClientError as exc:
            if error_code(exc) not in _SQS_EXISTS:  # created meanwhile by a concurrent call
                raise
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    names: list[QueueAttributeNameType] = ["QueueArn", *attributes]
    current = queue_attributes(sqs, url, names) or {}
    if "QueueArn" not in current:
        fail(step_name, f"queue {name} vanished while it was being provisioned")
    if not created:
        differing: dict[QueueAttributeNameType, str] = {
            key: value
            for key, value in attributes.items()
            if not same_attribute(key, current.get(key), value)
        }
        if differing:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=differing)
        present = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        if any(present.get(key) != value for key, value in tags.items()):
            sqs.tag_queue(QueueUrl=url, Tags=dict(tags))
    return url, current["QueueArn"]


def same_attribute(name: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if name in ("RedrivePolicy", "Policy"):  # JSON: AWS may reformat it and type maxReceiveCount
        try:
            cur, want = json.loads(current), json.loads(wanted)
        except ValueError:
            return False
        if name == "RedrivePolicy":
            return bool(
                cur.get("deadLetterTargetArn") == want["deadLetterTargetArn"]
                and str(cur.get("maxReceiveCount")) == str(want["maxReceiveCount"])
            )
        return bool(cur == want)
    return current == wanted


def queue_policy(queue_arn: str, topic_arn: str) -> dict[str, Any]:
    """Lets the group topic (and only it) send to the queue."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": _POLICY_SID,
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }


def policy_topic(policy: str | None) -> str | None:
    """The topic ARN our queue policy names, if the policy is ours."""
    if not policy:
        return None
    try:
        statements = json.loads(policy).get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Sid") == _POLICY_SID:
                topic = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
                return topic if isinstance(topic, str) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return None
