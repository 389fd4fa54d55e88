"""Runtime provisioning of group topics and follower queues, and the fan-out publish.

This is the only code that calls the SQS, SNS and Lambda control planes.

Per group: SNS FIFO topic(s) ``{prefix}-g-{group_id}-{shard}.fifo``, shard 0.., at most
``FIFO_TOPIC_MAX_SUBSCRIPTIONS`` subscriptions each. Per follower: a FIFO queue and its FIFO DLQ,
named from a hash of ``group_id#account_id`` (the readable identity is in the tags), a queue policy
that lets the group topic send to it, a raw-delivery SNS subscription and an event source mapping
to the executor function.

Every step is an "ensure": it looks for what exists, creates what is missing and converges what
differs, so a call that failed half-way is completed by calling it again, and a second call returns
the same resources without creating duplicates. Removal deletes in the reverse order and treats
"already gone" as done.

Invariant kept by ``ensure_follower``: the queue policy names the only topic the queue can be
subscribed to (the policy is written before subscribing, and an old subscription is removed before
the policy is changed). ``remove_follower`` reads the policy to find the subscription.

The import stays light (boto3/botocore only at module level): ``publish`` is on the ingest hot path.
Settings and observability are imported lazily or for type checking only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef, TagTypeDef
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

    from tradecopier.settings import Settings

__all__ = [
    "FIFO_TOPIC_MAX_SUBSCRIPTIONS",
    "TAG_ACCOUNT",
    "TAG_GROUP",
    "FollowerResources",
    "GroupTopic",
    "Provisioner",
    "ProvisioningError",
    "PublishError",
    "follower_dlq_name",
    "follower_hash",
    "follower_queue_name",
    "group_topic_name",
    "lambda_client",
    "sns_client",
    "sqs_client",
]

FIFO_TOPIC_MAX_SUBSCRIPTIONS = 100
TAG_GROUP = "copier:group"
TAG_ACCOUNT = "copier:account"
ESM_BATCH_SIZE = 10
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the maximum: time for an operator to look at dead letters

# Short timeouts and the standard retry mode (which also retries throttling with backoff).
_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=10,
    retries={"mode": "standard", "max_attempts": 4},
    tcp_keepalive=True,
)

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,251}\.fifo$")
_SQS_GONE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_SQS_EXISTS = frozenset({"QueueAlreadyExists", "QueueNameExists"})
_SNS_GONE = frozenset({"NotFound", "NotFoundException", "ResourceNotFound"})
_LAMBDA_GONE = frozenset({"ResourceNotFoundException"})


# --------------------------------------------------------------------------------------- clients


@lru_cache(maxsize=1)
def sns_client() -> SNSClient:
    """The SNS client of this execution environment (created once; used by ``publish``)."""
    return boto3.client("sns", config=_CLIENT_CONFIG)


@lru_cache(maxsize=1)
def cloudwatch_client() -> Any:
    return boto3.client("cloudwatch", config=_CLIENT_CONFIG)


@lru_cache(maxsize=1)
def sqs_client() -> SQSClient:
    return boto3.client("sqs", config=_CLIENT_CONFIG)


@lru_cache(maxsize=1)
def lambda_client() -> LambdaClient:
    return boto3.client("lambda", config=_CLIENT_CONFIG)


@lru_cache(maxsize=1)
def _publish_pool() -> ThreadPoolExecutor:
    """Threads for publishing to several shard topics at once (only groups past 100 followers)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="sns-publish")


# ---------------------------------------------------------------------------------- names, types


def follower_hash(group_id: str, account_id: str) -> str:
    """16 hex chars identifying a follower: account ids may hold '.' and ':', queue names may not."""
    return hashlib.sha256(f"{group_id}#{account_id}".encode()).hexdigest()[:16]


def follower_queue_name(prefix: str, group_id: str, account_id: str) -> str:
    return f"{prefix}-f-{follower_hash(group_id, account_id)}.fifo"


def follower_dlq_name(prefix: str, group_id: str, account_id: str) -> str:
    return f"{prefix}-f-{follower_hash(group_id, account_id)}-dlq.fifo"


def group_topic_name(prefix: str, group_id: str, shard: int) -> str:
    name = f"{prefix}-g-{group_id}-{shard}.fifo"
    if shard < 0 or not _TOPIC_NAME.match(name):
        raise ValueError(f"group id {group_id!r} / shard {shard} do not make a valid SNS FIFO topic name")
    return name


def _shard_of(topic_arn: str) -> int:
    """The shard number in a group topic ARN (``...-g-{group}-{shard}.fifo``)."""
    name = topic_arn.rsplit(":", 1)[-1].removesuffix(".fifo")
    try:
        return int(name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        raise ValueError(f"not a group topic ARN: {topic_arn!r}") from None


@dataclass(frozen=True)
class GroupTopic:
    topic_arn: str
    shard: int


@dataclass(frozen=True)
class FollowerResources:
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    topic_arn: str
    subscription_arn: str
    mapping_uuid: str


class ProvisioningError(Exception):
    """A provisioning or teardown step failed; calling the same operation again resumes it."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.detail = detail


class PublishError(Exception):
    """Publishing to one or more group topics failed (retrying with the same dedup id is safe)."""

    def __init__(self, topic_arns: list[str], detail: str) -> None:
        super().__init__(f"publish to {', '.join(topic_arns) or 'no topic'} failed: {detail}")
        self.topic_arns = topic_arns
        self.detail = detail


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message", "")
        return f"{exc.operation_name} {_code(exc)}: {message}"
    return f"{type(exc).__name__}: {exc}"


def _fail(step: str, detail: str, cause: Exception | None = None) -> NoReturn:
    """Counts the failure, logs it and raises ``ProvisioningError`` (observability imported lazily)."""
    from tradecopier import observability

    observability.count(observability.MetricName.PROVISIONING_FAILURES)
    observability.logger.warning("provisioning step failed", extra={"step": step, "detail": detail})
    raise ProvisioningError(step, detail) from cause


@contextmanager
def _step(step: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        _fail(step, _describe(exc), exc)


def _queue_policy(queue_arn: str, topic_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowGroupTopic",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }


def _policy_topic(policy: str | None) -> str | None:
    """The topic ARN our queue policy names, if the policy is ours."""
    if not policy:
        return None
    try:
        statements = json.loads(policy).get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Sid") == "AllowGroupTopic":
                topic = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
                return topic if isinstance(topic, str) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return None


def _same_attribute(name: str, current: str | None, wanted: str) -> bool:
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


def _function_name(name_or_arn: str) -> str:
    """``arn:aws:lambda:r:a:function:NAME[:qualifier]`` / ``a:function:NAME`` / ``NAME`` → NAME."""
    parts = name_or_arn.split(":")
    if "function" in parts:
        return parts[parts.index("function") + 1]
    return name_or_arn


# ---------------------------------------------------------------------------------- provisioner


class Provisioner:
    """Creates, converges and removes group topics and follower resources; publishes copies.

    Clients are injected in tests and the local stack; otherwise the module-level (once per
    execution environment) clients are used, created on first use.
    """

    def __init__(
        self,
        settings: Settings,
        sqs: SQSClient | None = None,
        sns: SNSClient | None = None,
        lambda_: LambdaClient | None = None,
        cloudwatch: Any = None,
    ) -> None:
        self._settings = settings
        self._sqs = sqs
        self._sns = sns
        self._lambda = lambda_
        self._cloudwatch = cloudwatch

    @property
    def cloudwatch(self) -> Any:
        if self._cloudwatch is None:
            self._cloudwatch = cloudwatch_client()
        return self._cloudwatch

    @property
    def sqs(self) -> SQSClient:
        if self._sqs is None:
            self._sqs = sqs_client()
        return self._sqs

    @property
    def sns(self) -> SNSClient:
        if self._sns is None:
            self._sns = sns_client()
        return self._sns

    @property
    def lambda_(self) -> LambdaClient:
        if self._lambda is None:
            self._lambda = lambda_client()
        return self._lambda

    # ------------------------------------------------------------------------------ group topics

    def ensure_group_topic(self, group_id: str, shard: int = 0) -> GroupTopic:
        """The group's SNS FIFO topic for ``shard`` (CreateTopic is idempotent)."""
        name = group_topic_name(self._settings.resource_prefix, group_id, shard)
        attributes = {"FifoTopic": "true", "ContentBasedDeduplication": "false"}
        tags: list[TagTypeDef] = [{"Key": TAG_GROUP, "Value": group_id}]
        with _step("group_topic"):
            try:
                arn = self.sns.create_topic(Name=name, Attributes=attributes, Tags=tags)["TopicArn"]
            except ClientError as exc:
                # An existing topic whose tags differ (e.g. one added by an operator) is refused
                # with InvalidParameter: take it as it is and add our tags.
                if _code(exc) != "InvalidParameter" or "tag" not in str(exc).lower():
                    raise
                arn = self.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
                self.sns.tag_resource(ResourceArn=arn, Tags=tags)
        return GroupTopic(topic_arn=arn, shard=shard)

    def choose_topic_for_new_follower(self, group_id: str, existing_topic_arns: list[str]) -> GroupTopic:
        """The lowest shard with room for one more subscription, else a new shard (created)."""
        shards = sorted((_shard_of(arn), arn) for arn in existing_topic_arns)
        for shard, arn in shards:
            if self._count_subscriptions(arn) < FIFO_TOPIC_MAX_SUBSCRIPTIONS:
                return GroupTopic(topic_arn=arn, shard=shard)
        return self.ensure_group_topic(group_id, shards[-1][0] + 1 if shards else 0)

    def remove_group_topics(self, topic_arns: list[str]) -> None:
        """Unsubscribes whatever is left on each topic, then deletes it (gone = done)."""
        for arn in topic_arns:
            for subscription_arn, _endpoint in self._subscriptions(arn, step="remove_topic"):
                self._unsubscribe(subscription_arn)
            with _step("remove_topic"):
                try:
                    self.sns.delete_topic(TopicArn=arn)
                except ClientError as exc:
                    if _code(exc) not in _SNS_GONE:
                        raise

    # --------------------------------------------------------------------------------- followers

    def ensure_follower(self, group_id: str, account_id: str, topic_arn: str) -> FollowerResources:
        """DLQ, queue, queue policy, subscription, event source mapping: each created or converged."""
        settings = self._settings
        if not settings.executor_function_name:
            _fail("event_source_mapping", "EXECUTOR_FUNCTION_NAME is not set")
        tags = {TAG_GROUP: group_id, TAG_ACCOUNT: account_id}
        prefix = settings.resource_prefix

        dlq_url, dlq_arn = self._ensure_queue(
            "dlq",
            follower_dlq_name(prefix, group_id, account_id),
            {
                "ContentBasedDeduplication": "false",
                "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
                "SqsManagedSseEnabled": "true",
            },
            tags,
        )
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.follower_max_receive_count}
        queue_url, queue_arn = self._ensure_queue(
            "queue",
            follower_queue_name(prefix, group_id, account_id),
            {
                "ContentBasedDeduplication": "false",
                "VisibilityTimeout": str(settings.follower_queue_visibility_seconds),
                "RedrivePolicy": json.dumps(redrive, separators=(",", ":")),
                # SSE-SQS, not the aws/sqs KMS key: SNS cannot deliver to a queue under that key.
                "SqsManagedSseEnabled": "true",
            },
            tags,
        )
        self._ensure_queue_policy(queue_url, queue_arn, topic_arn)
        subscription_arn = self._ensure_subscription(topic_arn, queue_arn)
        mapping_uuid = self._ensure_mapping(queue_arn, tags)
        self._ensure_dlq_alarm(follower_dlq_name(prefix, group_id, account_id), group_id, account_id)
        return FollowerResources(
            queue_url=queue_url,
            queue_arn=queue_arn,
            dlq_url=dlq_url,
            dlq_arn=dlq_arn,
            topic_arn=topic_arn,
            subscription_arn=subscription_arn,
            mapping_uuid=mapping_uuid,
        )

    def remove_follower(self, group_id: str, account_id: str) -> None:
        """Mapping, subscription, queue, DLQ, in that order; each tolerant of "already gone"."""
        prefix = self._settings.resource_prefix
        queue_name = follower_queue_name(prefix, group_id, account_id)

        queue_url = queue_arn = topic_arn = None
        with _step("remove_find_queue"):
            queue_url = self._queue_url(queue_name)
            if queue_url is not None:
                attrs = self._queue_attributes(queue_url, ["QueueArn", "Policy"])
                if attrs is None:
                    queue_url = None
                else:
                    queue_arn, topic_arn = attrs.get("QueueArn"), _policy_topic(attrs.get("Policy"))

        # 1. event source mappings (all functions: nothing may be left pointing at the queue)
        with _step("remove_mapping"):
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
                    if _code(exc) not in _LAMBDA_GONE:
                        raise

        # 2. subscription(s): on the topic the policy names, else search the group's topics
        topics = [topic_arn] if topic_arn else self._group_topic_arns(group_id)
        for topic in topics:
            for subscription_arn, endpoint in self._subscriptions(topic, step="unsubscribe"):
                if endpoint == queue_arn or endpoint.endswith(f":{queue_name}"):
                    self._unsubscribe(subscription_arn)

        # 3. queue, 4. DLQ
        with _step("delete_queue"):
            if queue_url is not None:
                self._delete_queue(queue_url)
        with _step("delete_dlq"):
            dlq_url = self._queue_url(follower_dlq_name(prefix, group_id, account_id))
            if dlq_url is not None:
                self._delete_queue(dlq_url)
        # 5. the DLQ's alarm (DeleteAlarms ignores names that do not exist)
        if self._settings.alerts_topic_arn:
            with _step("delete_dlq_alarm"):
                self.cloudwatch.delete_alarms(AlarmNames=[follower_dlq_name(prefix, group_id, account_id)])

    def _ensure_dlq_alarm(self, dlq_name: str, group_id: str, account_id: str) -> None:
        """An alarm on this follower's DLQ, to the alerts topic (PutMetricAlarm overwrites: idempotent).

        CloudWatch alarms cannot watch a SEARCH over queues created at runtime, so each follower's
        DLQ gets its own alarm, named like the DLQ (the admin role may only touch those names).
        """
        topic = self._settings.alerts_topic_arn
        if not topic:
            return
        with _step("dlq_alarm"):
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
                Tags=[{"Key": TAG_GROUP, "Value": group_id}, {"Key": TAG_ACCOUNT, "Value": account_id}],
            )

    # ---------------------------------------------------------------------------------- publish

    def publish(
        self, topic_arns: list[str], message: str, group_id: str, dedup_id: str, attributes: dict[str, str]
    ) -> None:
        """Publishes one copy event to every shard topic of the group (in parallel past one shard).

        Raises ``PublishError`` naming the topics that failed. Retrying with the same ``dedup_id``
        within 5 minutes is safe: SNS FIFO drops the copies that already went through. Attributes
        with an empty value are left out (SNS refuses them).
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
                return _describe(exc)
            return None

        # One shard (up to 100 followers): a plain call; more: all shards at once.
        errors = [one(topic_arns[0])] if len(topic_arns) == 1 else list(_publish_pool().map(one, topic_arns))
        failed = [(arn, error) for arn, error in zip(topic_arns, errors, strict=True) if error is not None]
        if failed:
            raise PublishError([arn for arn, _ in failed], "; ".join(error for _, error in failed))

    # ---------------------------------------------------------------------------------- helpers

    def _queue_url(self, name: str) -> str | None:
        try:
            return self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as exc:
            if _code(exc) in _SQS_GONE:
                return None
            raise

    def _queue_attributes(self, url: str, names: list[QueueAttributeNameType]) -> dict[str, str] | None:
        try:
            response = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
        except ClientError as exc:
            if _code(exc) in _SQS_GONE:
                return None
            raise
        return {str(key): value for key, value in response.get("Attributes", {}).items()}

    def _delete_queue(self, url: str) -> None:
        try:
            self.sqs.delete_queue(QueueUrl=url)
        except ClientError as exc:
            if _code(exc) not in _SQS_GONE:
                raise

    def _ensure_queue(
        self, step: str, name: str, attributes: Mapping[QueueAttributeNameType, str], tags: Mapping[str, str]
    ) -> tuple[str, str]:
        """A FIFO queue with these attributes and tags: created, or converged if it exists."""
        with _step(step):
            url = self._queue_url(name)
            created = False
            if url is None:
                try:
                    url = self.sqs.create_queue(
                        QueueName=name, Attributes={"FifoQueue": "true", **attributes}, tags=dict(tags)
                    )["QueueUrl"]
                    created = True
                except ClientError as exc:
                    if _code(exc) not in _SQS_EXISTS:  # created meanwhile by a concurrent call
                        raise
                    url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            names: list[QueueAttributeNameType] = ["QueueArn", *attributes]
            current = self._queue_attributes(url, names) or {}
            if "QueueArn" not in current:
                _fail(step, f"queue {name} vanished while it was being provisioned")
            if not created:
                differing: dict[QueueAttributeNameType, str] = {
                    key: value
                    for key, value in attributes.items()
                    if not _same_attribute(key, current.get(key), value)
                }
                if differing:
                    self.sqs.set_queue_attributes(QueueUrl=url, Attributes=differing)
                present = self.sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
                if any(present.get(key) != value for key, value in tags.items()):
                    self.sqs.tag_queue(QueueUrl=url, Tags=dict(tags))
            return url, current["QueueArn"]

    def _ensure_queue_policy(self, queue_url: str, queue_arn: str, topic_arn: str) -> None:
        with _step("queue_policy"):
            current = (self._queue_attributes(queue_url, ["Policy"]) or {}).get("Policy")
        previous_topic = _policy_topic(current)
        if previous_topic and previous_topic != topic_arn:
            # Moving to another shard: drop the old subscription first (keeps the invariant).
            for subscription_arn, endpoint in self._subscriptions(previous_topic, step="unsubscribe"):
                if endpoint == queue_arn:
                    self._unsubscribe(subscription_arn)
        wanted = json.dumps(_queue_policy(queue_arn, topic_arn), separators=(",", ":"))
        if not _same_attribute("Policy", current, wanted):
            with _step("queue_policy"):
                self.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": wanted})

    def _ensure_subscription(self, topic_arn: str, queue_arn: str) -> str:
        existing = [
            arn
            for arn, endpoint in self._subscriptions(topic_arn, step="subscription")
            if endpoint == queue_arn and arn.startswith("arn:")  # not "PendingConfirmation"
        ]
        with _step("subscription"):
            if existing:
                arn = existing[0]
                attrs = self.sns.get_subscription_attributes(SubscriptionArn=arn).get("Attributes", {})
                if attrs.get("RawMessageDelivery") != "true":
                    self.sns.set_subscription_attributes(
                        SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true"
                    )
                return arn
            return self.sns.subscribe(
                TopicArn=topic_arn,
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes={"RawMessageDelivery": "true"},
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]

    def _ensure_mapping(self, queue_arn: str, tags: Mapping[str, str]) -> str:
        function = self._settings.executor_function_name
        concurrency = self._settings.follower_max_concurrency
        with _step("event_source_mapping"):
            existing = self._executor_mapping(queue_arn)
            if existing is None:
                try:
                    created = self.lambda_.create_event_source_mapping(
                        EventSourceArn=queue_arn,
                        FunctionName=function,
                        Enabled=True,
                        BatchSize=ESM_BATCH_SIZE,
                        FunctionResponseTypes=["ReportBatchItemFailures"],
                        ScalingConfig={"MaximumConcurrency": concurrency},
                        Tags=dict(tags),
                    )
                    return created["UUID"]
                except ClientError as exc:
                    if _code(exc) != "ResourceConflictException":
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

    def _subscriptions(self, topic_arn: str, *, step: str) -> list[tuple[str, str]]:
        """(subscription ARN, endpoint) of every subscription of a topic; [] if the topic is gone."""
        found: list[tuple[str, str]] = []
        with _step(step):
            try:
                paginator = self.sns.get_paginator("list_subscriptions_by_topic")
                for page in paginator.paginate(TopicArn=topic_arn):
                    for sub in page.get("Subscriptions", []):
                        found.append((sub.get("SubscriptionArn", ""), sub.get("Endpoint", "")))
            except ClientError as exc:
                if _code(exc) not in _SNS_GONE:
                    raise
        return found

    def _count_subscriptions(self, topic_arn: str) -> int:
        """Subscriptions of a topic, pending ones included; stops counting at the shard limit."""
        count = 0
        with _step("count_subscriptions"):
            paginator = self.sns.get_paginator("list_subscriptions_by_topic")
            for page in paginator.paginate(TopicArn=topic_arn):
                count += len(page.get("Subscriptions", []))
                if count >= FIFO_TOPIC_MAX_SUBSCRIPTIONS:
                    break
        return count

    def _unsubscribe(self, subscription_arn: str) -> None:
        if not subscription_arn.startswith("arn:"):  # "PendingConfirmation": nothing to remove by ARN
            return
        with _step("unsubscribe"):
            try:
                self.sns.unsubscribe(SubscriptionArn=subscription_arn)
            except ClientError as exc:
                if _code(exc) not in _SNS_GONE:
                    raise

    def _group_topic_arns(self, group_id: str) -> list[str]:
        """All shard topics of a group, found by name (used only when the queue is already gone)."""
        start = f"{self._settings.resource_prefix}-g-{group_id}-"
        found: list[str] = []
        with _step("find_group_topics"):
            for page in self.sns.get_paginator("list_topics").paginate():
                for topic in page.get("Topics", []):
                    arn = topic.get("TopicArn", "")
                    name = arn.rsplit(":", 1)[-1]
                    if name.startswith(start) and name.endswith(".fifo") and name[len(start) : -5].isdigit():
                        found.append(arn)
        return found
