"""The group's SNS FIFO topics: one per shard of at most ``FIFO_TOPIC_MAX_SUBSCRIPTIONS`` followers.

SNS FIFO allows 100 subscriptions per topic: a group past 100 followers gets a second shard topic,
and ingest publishes to every shard (see ``publish``). CreateTopic is idempotent; removal
unsubscribes what is left and treats "already gone" as done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from tradecopier import aws
from tradecopier.fanout.errors import step
from tradecopier.fanout.names import TAG_GROUP, group_topic_name, group_topic_prefix, shard_of

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import TagTypeDef

    from tradecopier.settings import AdminSettings

__all__ = ["FIFO_TOPIC_MAX_SUBSCRIPTIONS", "GroupTopic", "GroupTopics"]

FIFO_TOPIC_MAX_SUBSCRIPTIONS = 100
SNS_GONE = frozenset({"NotFound", "NotFoundException", "ResourceNotFound"})


@dataclass(frozen=True)
class GroupTopic:
    topic_arn: str
    shard: int


class GroupTopics:
    """Creates, shards and removes group topics; lists and removes their subscriptions."""

    def __init__(self, settings: AdminSettings, sns: SNSClient | None = None) -> None:
        self._settings = settings
        self._sns = sns

    @property
    def sns(self) -> SNSClient:
        return self._sns or aws.client("sns")

    def ensure_group_topic(self, group_id: str, shard: int = 0) -> GroupTopic:
        """The group's SNS FIFO topic for ``shard`` (CreateTopic is idempotent)."""
        name = group_topic_name(self._settings.resource_prefix, group_id, shard)
        attributes = {"FifoTopic": "true", "ContentBasedDeduplication": "false"}
        tags: list[TagTypeDef] = [{"Key": TAG_GROUP, "Value": group_id}]
        with step("group_topic"):
            try:
                arn = self.sns.create_topic(Name=name, Attributes=attributes, Tags=tags)["TopicArn"]
            except ClientError as exc:
                # An existing topic whose tags differ (e.g. one added by an operator) is refused
                # with InvalidParameter: take it as it is and add our tags.
                if aws.error_code(exc) != "InvalidParameter" or "tag" not in str(exc).lower():
                    raise
                arn = self.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
                self.sns.tag_resource(ResourceArn=arn, Tags=tags)
        return GroupTopic(topic_arn=arn, shard=shard)

    def choose_topic_for_new_follower(self, group_id: str, existing_topic_arns: list[str]) -> GroupTopic:
        """The lowest shard with room for one more subscription, else a new shard (created)."""
        shards = sorted((shard_of(arn), arn) for arn in existing_topic_arns)
        for shard, arn in shards:
            if self._count_subscriptions(arn) < FIFO_TOPIC_MAX_SUBSCRIPTIONS:
                return GroupTopic(topic_arn=arn, shard=shard)
        return self.ensure_group_topic(group_id, shards[-1][0] + 1 if shards else 0)

    def remove_group_topics(self, topic_arns: list[str]) -> None:
        """Unsubscribes whatever is left on each topic, then deletes it (gone = done)."""
        for arn in topic_arns:
            for subscription_arn, _endpoint in self.subscriptions(arn, step_name="remove_topic"):
                self.unsubscribe(subscription_arn)
            with step("remove_topic"):
                try:
                    self.sns.delete_topic(TopicArn=arn)
                except ClientError as exc:
                    if aws.error_code(exc) not in SNS_GONE:
                        raise

    def find_group_topics(self, group_id: str) -> list[str]:
        """All shard topics of a group, found by name (when nothing else says which they are)."""
        start = group_topic_prefix(self._settings.resource_prefix, group_id)
        found: list[str] = []
        with step("find_group_topics"):
            for page in self.sns.get_paginator("list_topics").paginate():
                for topic in page.get("Topics", []):
                    arn = topic.get("TopicArn", "")
                    name = arn.rsplit(":", 1)[-1]
                    if name.startswith(start) and name.endswith(".fifo") and name[len(start) : -5].isdigit():
                        found.append(arn)
        return found

    def subscriptions(self, topic_arn: str, *, step_name: str) -> list[tuple[str, str]]:
        """(subscription ARN, endpoint) of every subscription of a topic; [] if the topic is gone."""
        found: list[tuple[str, str]] = []
        with step(step_name):
            try:
                paginator = self.sns.get_paginator("list_subscriptions_by_topic")
                for page in paginator.paginate(TopicArn=topic_arn):
                    for sub in page.get("Subscriptions", []):
                        found.append((sub.get("SubscriptionArn", ""), sub.get("Endpoint", "")))
            except ClientError as exc:
                if aws.error_code(exc) not in SNS_GONE:
                    raise
        return found

    def unsubscribe(self, subscription_arn: str) -> None:
        if not subscription_arn.startswith("arn:"):  # "PendingConfirmation": nothing to remove by ARN
            return
        with step("unsubscribe"):
            try:
                self.sns.unsubscribe(SubscriptionArn=subscription_arn)
            except ClientError as exc:
                if aws.error_code(exc) not in SNS_GONE:
                    raise

    def _count_subscriptions(self, topic_arn: str) -> int:
        """Subscriptions of a topic, pending ones included; stops counting at the shard limit."""
        count = 0
        with step("count_subscriptions"):
            paginator = self.sns.get_paginator("list_subscriptions_by_topic")
            for page in paginator.paginate(TopicArn=topic_arn):
                count += len(page.get("Subscriptions", []))
                if count >= FIFO_TOPIC_MAX_SUBSCRIPTIONS:
                    break
        return count
