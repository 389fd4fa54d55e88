"""Follower queues: what carries a group's events to one follower's executor invocations.

Per follower: a FIFO DLQ, a FIFO queue redriving to it, a queue policy that lets the group topic
send to it, a raw-delivery SNS subscription, an event source mapping to the executor function and
an alarm on the DLQ. ``ensure_follower`` runs one idempotent "ensure" step for each, in that
order, so a call that failed half-way is completed by calling it again and a second call returns
the same resources. ``create_follower`` makes the same resources where none exist yet (home mode's
start), one create call each. ``remove_follower`` deletes in the reverse order, "already gone"
being done.

Invariant kept by ``ensure_follower``: the queue policy names the only topic the queue can be
subscribed to (the policy is written before subscribing, and an old subscription is removed before
the policy is changed). ``remove_follower`` reads the policy to find the subscription.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tradecopier import aws
from tradecopier.fanout import queues
from tradecopier.fanout.errors import fail, step
from tradecopier.fanout.names import follower_dlq_name, follower_queue_name, follower_tags

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

    from tradecopier.fanout.topics import GroupTopics
    from tradecopier.settings import AdminSettings

__all__ = ["FollowerQueues", "FollowerResources"]

ESM_BATCH_SIZE = 10
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the maximum: time for an operator to look at dead letters
_LAMBDA_GONE = frozenset({"ResourceNotFoundException"})
# CreateQueue of a name taken with other attributes; CreateEventSourceMapping on a mapped queue.
_CONFLICTS = frozenset({"QueueAlreadyExists", "QueueNameExists", "ResourceConflictException"})


@dataclass(frozen=True)
class FollowerResources:
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    topic_arn: str
    subscription_arn: str
    mapping_uuid: str


class FollowerQueues:
    """Creates, converges and removes follower resources (clients injected in tests, else cached)."""

    def __init__(
        self,
        settings: AdminSettings,
        topics: GroupTopics,
        sqs: SQSClient | None = None,
        lambda_: LambdaClient | None = None,
        cloudwatch: Any = None,
    ) -> None:
        self._settings = settings
        self._topics = topics
        self._sqs = sqs
        self._lambda = lambda_
        self._cloudwatch = cloudwatch

    @property
    def sqs(self) -> SQSClient:
        return self._sqs or aws.client("sqs")

    @property
    def lambda_(self) -> LambdaClient:
        return self._lambda or aws.client("lambda")

    @property
    def cloudwatch(self) -> Any:
        return self._cloudwatch or aws.client("cloudwatch")

    # ------------------------------------------------------------------------------------ ensure

    def ensure_follower(self, group_id: str, account_id: str, topic_arn: str) -> FollowerResources:
        """DLQ, queue, queue policy, subscription, event source mapping, DLQ alarm."""
        if not self._settings.executor_function_name:
            fail("event_source_mapping", "EXECUTOR_FUNCTION_NAME is not set")
        tags = follower_tags(group_id, account_id)
        dlq_url, dlq_arn = self._ensure_dlq(group_id, account_id, tags)
        queue_url, queue_arn = self._ensure_queue(group_id, account_id, dlq_arn, tags)
        self._ensure_queue_policy(queue_url, queue_arn, topic_arn)
        subscription_arn = self._ensure_subscription(topic_arn, queue_arn)
        mapping_uuid = self._ensure_mapping(queue_arn, tags)
        self._ensure_dlq_alarm(group_id, account_id)
        return FollowerResources(
            queue_url=queue_url,
            queue_arn=queue_arn,
            dlq_url=dlq_url,
            dlq_arn=dlq_arn,
            topic_arn=topic_arn,
            subscription_arn=subscription_arn,
            mapping_uuid=mapping_uuid,
        )

    def create_follower(self, group_id: str, account_id: str, topic_arn: str) -> FollowerResources:
        """What ``ensure_follower`` makes, for a follower none of whose resources exist yet (home
        mode's start: moto kept nothing), in 5 calls where ``ensure_follower`` makes 13: each
        resource is created by one call that carries all its attributes (the queue's policy in its
        CreateQueue, the queue ARNs derived from the DLQ's URL), with no look-up before it and no
        second call after it.

        What is already there is not assumed right: a create that conflicts (a queue with other
        attributes, a mapping already on the queue) hands over to ``ensure_follower``, which
        converges it (CreateQueue and Subscribe with identical attributes return what exists)."""
        if not self._settings.executor_function_name:
            fail("event_source_mapping", "EXECUTOR_FUNCTION_NAME is not set")
        try:
            return self._create_follower(group_id, account_id, topic_arn)
        except _AlreadyThere:
            return self.ensure_follower(group_id, account_id, topic_arn)

    def _create_follower(self, group_id: str, account_id: str, topic_arn: str) -> FollowerResources:
        prefix = self._settings.resource_prefix
        tags = follower_tags(group_id, account_id)
        dlq_name = follower_dlq_name(prefix, group_id, account_id)
        with step("dlq"), _already_there():
            dlq_url = self._create_queue(dlq_name, _dlq_attributes(), tags)
        dlq_arn = _queue_arn(self.sqs, dlq_url, dlq_name)
        queue_name = follower_queue_name(prefix, group_id, account_id)
        queue_arn = _queue_arn(self.sqs, dlq_url, queue_name)
        policy = json.dumps(queues.queue_policy(queue_arn, topic_arn), separators=(",", ":"))
        with step("queue"), _already_there():
            queue_url = self._create_queue(
                queue_name, {**self._queue_attributes(dlq_arn), "Policy": policy}, tags
            )
        with step("subscription"):
            subscription_arn = self._subscribe(topic_arn, queue_arn)
        with step("event_source_mapping"), _already_there():
            mapping_uuid = self._create_mapping(queue_arn, tags)
        self._ensure_dlq_alarm(group_id, account_id)
        return FollowerResources(
            queue_url, queue_arn, dlq_url, dlq_arn, topic_arn, subscription_arn, mapping_uuid
        )

    def _create_queue(
        self, name: str, attributes: Mapping[QueueAttributeNameType, str], tags: Mapping[str, str]
    ) -> str:
        fifo: dict[QueueAttributeNameType, str] = {"FifoQueue": "true", **attributes}
        return self.sqs.create_queue(QueueName=name, Attributes=fifo, tags=dict(tags))["QueueUrl"]

    def _ensure_dlq(self, group_id: str, account_id: str, tags: Mapping[str, str]) -> tuple[str, str]:
        name = follower_dlq_name(self._settings.resource_prefix, group_id, account_id)
        with step("dlq"):
            return queues.ensure_queue(self.sqs, "dlq", name, _dlq_attributes(), tags)

    def _ensure_queue(
        self, group_id: str, account_id: str, dlq_arn: str, tags: Mapping[str, str]
    ) -> tuple[str, str]:
        name = follower_queue_name(self._settings.resource_prefix, group_id, account_id)
        with step("queue"):
            return queues.ensure_queue(self.sqs, "queue", name, self._queue_attributes(dlq_arn), tags)

    def _queue_attributes(self, dlq_arn: str) -> dict[QueueAttributeNameType, str]:
        settings = self._settings
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.follower_max_receive_count}
        return {
            "ContentBasedDeduplication": "false",
            "VisibilityTimeout": str(settings.follower_queue_visibility_seconds),
            "RedrivePolicy": json.dumps(redrive, separators=(",", ":")),
            # SSE-SQS, not the aws/sqs KMS key: SNS cannot deliver to a queue under that key.
            "SqsManagedSseEnabled": "true",
        }

    def _ensure_queue_policy(self, queue_url: str, queue_arn: str, topic_arn: str) -> None:
        with step("queue_policy"):
            current = (queues.queue_attributes(self.sqs, queue_url, ["Policy"]) or {}).get("Policy")
        previous_topic = queues.policy_topic(current)
        if previous_topic and previous_topic != topic_arn:
            # Moving to another shard: drop the old subscription first (keeps the invariant).
            old = self._topics.subscriptions(previous_topic, step_name="unsubscribe")
            for subscription_arn, endpoint in old:
                if endpoint == queue_arn:
                    self._topics.unsubscribe(subscription_arn)
        wanted = json.dumps(queues.queue_policy(queue_arn, topic_arn), separators=(",", ":"))
        if not queues.same_attribute("Policy", current, wanted):
            with step("queue_policy"):
                self.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": wanted})

    def _ensure_subscription(self, topic_arn: str, queue_arn: str) -> str:
        existing = [
            arn
            for arn, endpoint in self._topics.subscriptions(topic_arn, step_name="subscription")
            if endpoint == queue_arn and arn.startswith("arn:")  # not "PendingConfirmation"
        ]
        with step("subscription"):
            sns = self._topics.sns
            if existing:
                arn = existing[0]
                attrs = sns.get_subscription_attributes(SubscriptionArn=arn).get("Attributes", {})
                if attrs.get("RawMessageDelivery") != "true":
                    sns.set_subscription_attributes(
                        SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true"
                    )
                return arn
            return self._subscribe(topic_arn, queue_arn)

    def _subscribe(self, topic_arn: str, queue_arn: str) -> str:
        """Subscribe (idempotent: the same topic, endpoint and attributes give the same ARN)."""
        return self._topics.sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]

    def _ensure_mapping(self, queue_arn: str, tags: Mapping[str, str]) -> str:
        concurrency = self._settings.follower_max_concurrency
        with step("event_source_mapping"):
            existing = self._executor_mapping(queue_arn)
            if existing is None:
                try:
                    return self._create_mapping(queue_arn, tags)
                except ClientError as exc:
                    if aws.error_code(exc) != "ResourceConflictException":
                        raise
                    existing = self._executor_mapping(queue_arn)  # created meanwhile by a concurrent call
                    if existing is None:
                        raise
            # Converge the configuration (Enabled is left as it is: an operator may pause a mapping).
            changes: dict[str, Any] = {}
            if existing.get("BatchSize") != ESM_BATCH_SIZE:
                changes["BatchSize"] = ESM_BATCH_SIZE
            if list(existing.get("FunctionResponseTypes") or []) != ["ReportBatchItemFailures"]:
                changes["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
            if (existing.get("ScalingConfig") or {}).get("MaximumConcurrency") != concurrency:
                changes["ScalingConfig"] = {"MaximumConcurrency": concurrency}
            if changes:
                self.lambda_.update_event_source_mapping(UUID=existing["UUID"], **changes)
            return str(existing["UUID"])

    def _create_mapping(self, queue_arn: str, tags: Mapping[str, str]) -> str:
        """CreateEventSourceMapping (ResourceConflictException when the queue has one already)."""
        return self.lambda_.create_event_source_mapping(
            EventSourceArn=queue_arn,
            FunctionName=self._settings.executor_function_name,
            Enabled=True,
            BatchSize=ESM_BATCH_SIZE,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            ScalingConfig={"MaximumConcurrency": self._settings.follower_max_concurrency},
            Tags=dict(tags),
        )["UUID"]

    def _ensure_dlq_alarm(self, group_id: str, account_id: str) -> None:
        """An alarm on this follower's DLQ, to the alerts topic (PutMetricAlarm overwrites: idempotent).

        CloudWatch alarms cannot watch a SEARCH over queues created at runtime, so each follower's
        DLQ gets its own alarm, named like the DLQ (the admin role may only touch those names).
        """
        topic = self._settings.alerts_topic_arn
        if not topic:
            return
        dlq_name = follower_dlq_name(self._settings.resource_prefix, group_id, account_id)
        tags = follower_tags(group_id, account_id)
        with step("dlq_alarm"):
            self.cloudwatch.put_metric_alarm(
                AlarmName=dlq_name,
                AlarmDescription=(
                    f"A copy for follower {account_id} of group {group_id} was dead-lettered. "
                    "Check the copy log and the follower's lock reason."
                ),
                Namespace="AWS/SQS",
                MetricName="ApproximateNumberOfMessagesVisible",
                Dimensions=[{"Name": "QueueName", "Value": dlq_name}],
                Statistic="Maximum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=0,
                ComparisonOperator="GreaterThanThreshold",
                TreatMissingData="notBreaching",
                AlarmActions=[topic],
                Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
            )

    # ------------------------------------------------------------------------------------ remove

    def remove_follower(self, group_id: str, account_id: str) -> None:
        """Mapping, subscription, queue, DLQ, DLQ alarm, in that order; each tolerant of "already gone"."""
        prefix = self._settings.resource_prefix
        queue_name = follower_queue_name(prefix, group_id, account_id)
        queue_url, queue_arn, topic_arn = self._find_queue(queue_name)
        self._remove_mappings(queue_name, queue_arn)
        self._remove_subscriptions(group_id, queue_name, queue_arn, topic_arn)
        with step("delete_queue"):
            if queue_url is not None:
                queues.delete_queue(self.sqs, queue_url)
        dlq_name = follower_dlq_name(prefix, group_id, account_id)
        with step("delete_dlq"):
            dlq_url = queues.queue_url(self.sqs, dlq_name)
            if dlq_url is not None:
                queues.delete_queue(self.sqs, dlq_url)
        if self._settings.alerts_topic_arn:
            with step("delete_dlq_alarm"):  # DeleteAlarms ignores names that do not exist
                self.cloudwatch.delete_alarms(AlarmNames=[dlq_name])

    def _find_queue(self, queue_name: str) -> tuple[str | None, str | None, str | None]:
        """(URL, ARN, the topic its policy names) of the follower queue; ``None`` for what is gone."""
        with step("remove_find_queue"):
            url = queues.queue_url(self.sqs, queue_name)
            if url is None:
                return None, None, None
            attrs = queues.queue_attributes(self.sqs, url, ["QueueArn", "Policy"])
            if attrs is None:
                return None, None, None
            return url, attrs.get("QueueArn"), queues.policy_topic(attrs.get("Policy"))

    def _remove_mappings(self, queue_name: str, queue_arn: str | None) -> None:
        """Every mapping on the queue, whatever the function: nothing may be left pointing at it."""
        with step("remove_mapping"):
            if queue_arn is not None:
                mappings = self._mappings(EventSourceArn=queue_arn)
            else:  # queue already gone: look through the executor's mappings by queue name
                function = self._settings.executor_function_name
                mappings = self._mappings(FunctionName=function) if function else []
                mappings = [m for m in mappings if m.get("EventSourceArn", "").endswith(f":{queue_name}")]
            for mapping in mappings:
                if mapping.get("State") == "Deleting":
                    continue
                try:
                    self.lambda_.delete_event_source_mapping(UUID=mapping["UUID"])
                except ClientError as exc:
                    if aws.error_code(exc) not in _LAMBDA_GONE:
                        raise

    def _remove_subscriptions(
        self, group_id: str, queue_name: str, queue_arn: str | None, topic_arn: str | None
    ) -> None:
        """On the topic the policy names, else (queue already gone) on every topic of the group."""
        topics = [topic_arn] if topic_arn else self._topics.find_group_topics(group_id)
        for topic in topics:
            for subscription_arn, endpoint in self._topics.subscriptions(topic, step_name="unsubscribe"):
                if endpoint == queue_arn or endpoint.endswith(f":{queue_name}"):
                    self._topics.unsubscribe(subscription_arn)

    # --------------------------------------------------------------------------- mapping lookups

    def _executor_mapping(self, queue_arn: str) -> dict[str, Any] | None:
        wanted = _function_name(self._settings.executor_function_name)
        for mapping in self._mappings(EventSourceArn=queue_arn):
            if (
                mapping.get("EventSourceArn") == queue_arn
                and _function_name(mapping.get("FunctionArn", "")) == wanted
                and mapping.get("State") != "Deleting"
            ):
                return mapping
        return None

    def _mappings(self, **filters: str) -> list[dict[str, Any]]:
        paginator = self.lambda_.get_paginator("list_event_source_mappings")
        found: list[dict[str, Any]] = []
        for page in paginator.paginate(**filters):  # type: ignore[arg-type]
            found.extend(dict(mapping) for mapping in page.get("EventSourceMappings", []))
        return found


class _AlreadyThere(Exception):
    """A create call found the resource there already (``create_follower`` hands over to ensure)."""


@contextmanager
def _already_there() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        if aws.error_code(exc) in _CONFLICTS:
            raise _AlreadyThere from exc
        raise


def _queue_arn(sqs: SQSClient, sibling_url: str, name: str) -> str:
    """The ARN of queue ``name`` of the account that owns ``sibling_url`` (``.../ACCOUNT/NAME``),
    in the client's partition and region: ``arn:PARTITION:sqs:REGION:ACCOUNT:NAME``."""
    account = sibling_url.rstrip("/").split("/")[-2]
    return f"arn:{sqs.meta.partition}:sqs:{sqs.meta.region_name}:{account}:{name}"


def _dlq_attributes() -> dict[QueueAttributeNameType, str]:
    return {
        "ContentBasedDeduplication": "false",
        "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
        "SqsManagedSseEnabled": "true",
    }


def _function_name(name_or_arn: str) -> str:
    """``arn:aws:lambda:r:a:function:NAME[:qualifier]`` / ``a:function:NAME`` / ``NAME`` → NAME."""
    parts = name_or_arn.split(":")
    if "function" in parts:
        return parts[parts.index("function") + 1]
    return name_or_arn
