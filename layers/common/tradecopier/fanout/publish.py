"""The ingest publish: one copy event to every topic shard of the group.

On the ingest hot path: it imports the AWS module and nothing else of the fan-out (no settings,
no observability).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from tradecopier import aws

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

__all__ = ["PublishError", "Publisher", "SnsPublisher"]


class PublishError(Exception):
    """Publishing to one or more group topics failed (retrying with the same dedup id is safe)."""

    def __init__(self, topic_arns: list[str], detail: str) -> None:
        super().__init__(f"publish to {', '.join(topic_arns) or 'no topic'} failed: {detail}")
        self.topic_arns = topic_arns
        self.detail = detail


class Publisher(Protocol):
    """What ingest hands an accepted event to."""

    def publish(
        self, topic_arns: list[str], message: str, group_id: str, dedup_id: str, attributes: dict[str, str]
    ) -> None:
        """Delivers ``message`` to every topic, or raises ``PublishError`` naming those that failed."""


@lru_cache(maxsize=1)
def _publish_pool() -> ThreadPoolExecutor:
    """Threads for publishing to several shard topics at once (only groups past 100 followers)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="sns-publish")


class SnsPublisher:
    """Publishes to the group's SNS FIFO topics (the client is injected in tests, else the cached one)."""

    def __init__(self, sns: SNSClient | None = None) -> None:
        self._sns = sns

    @property
    def sns(self) -> SNSClient:
        return self._sns or aws.client("sns")

    def publish(
        self, topic_arns: list[str], message: str, group_id: str, dedup_id: str, attributes: dict[str, str]
    ) -> None:
        """Publishes one copy event to every shard topic of the group (in parallel past one shard).

        Raises ``PublishError`` naming the topics that failed. Retrying with the same ``dedup_id``
        within 5 minutes is safe: SNS FIFO drops the copies that already went through. Attributes
        with an empty value are left out (SNS refuses them). The message group is the leader's
        group: a cancel never overtakes the order it cancels.
        """
        if not topic_arns:
            raise PublishError([], "the group has no topic")
        message_attributes: dict[str, MessageAttributeValueTypeDef] = {
            key: {"DataType": "String", "StringValue": value} for key, value in attributes.items() if value
        }

        def one(topic_arn: str) -> str | None:
            try:
                self.sns.publish(
                    TopicArn=topic_arn,
                    Message=message,
                    MessageGroupId=group_id,
                    MessageDeduplicationId=dedup_id,
                    MessageAttributes=message_attributes,
                )
            except (ClientError, BotoCoreError) as exc:
                return aws.describe(exc)
            return None

        # One shard (up to 100 followers): a plain call; more: all shards at once.
        errors = [one(topic_arns[0])] if len(topic_arns) == 1 else list(_publish_pool().map(one, topic_arns))
        failed = [(arn, error) for arn, error in zip(topic_arns, errors, strict=True) if error is not None]
        if failed:
            raise PublishError([arn for arn, _ in failed], "; ".join(error for _, error in failed))
