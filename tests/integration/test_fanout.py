"""tradecopier.fanout against moto: in-process (``mock_aws``) and over HTTP (moto server).

Moto facts these tests pin down (the local stack relies on them; if moto changes, they fail):

* An enabled event source mapping on a queue makes moto deliver *inside SendMessage* (so inside
  SNS Publish): it receives the visible messages, "invokes" the function and then either deletes
  them (``lambda.use_docker=False``: the simple backend always succeeds, messages are swallowed) or,
  with the default Docker backend and no Docker daemon, makes them visible again with their receive
  count raised by one, so that after ``maxReceiveCount`` sends they move to the DLQ, out of order.
  A *disabled* mapping (UpdateEventSourceMapping Enabled=False) is skipped: that is how the local
  stack keeps moto's own delivery out of the way of its poller.
* SNS FIFO → SQS FIFO raw delivery keeps the body, MessageGroupId, MessageDeduplicationId and the
  String message attributes. Moto deduplicates only in the queue and only against messages still
  in it (AWS: 5 minutes, whatever happened to the first message).
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.session import Session
from moto import mock_aws
from moto.server import ThreadedMotoServer

from tradecopier import aws as tc_aws
from tradecopier import observability
from tradecopier.fanout.errors import ProvisioningError
from tradecopier.fanout.followers import FollowerQueues, FollowerResources
from tradecopier.fanout.names import follower_dlq_name, follower_queue_name
from tradecopier.fanout.publish import PublishError, SnsPublisher
from tradecopier.fanout.topics import FIFO_TOPIC_MAX_SUBSCRIPTIONS, GroupTopics
from tradecopier.settings import AdminSettings

REGION = "us-east-1"
PREFIX = "tc-test"
EXECUTOR = "tc-test-executor"
GROUP = "g-0123456789ab"
REPO_ROOT = Path(__file__).resolve().parents[2]


def make_settings(**overrides: Any) -> AdminSettings:
    values: dict[str, Any] = {
        "copier_table_name": "copier",
        "paper_table_name": "paper",
        "resource_prefix": PREFIX,
        "executor_function_name": EXECUTOR,
    }
    values.update(overrides)
    return AdminSettings.model_validate(values)


@dataclass(frozen=True)
class Fanout:
    """The three fan-out parts the admin and ingest functions use, on the same clients."""

    topics: GroupTopics
    followers: FollowerQueues
    publisher: SnsPublisher


@dataclass
class Aws:
    sqs: Any
    sns: Any
    lambda_: Any
    iam: Any
    cloudwatch: Any = None

    def fanout(self, **overrides: Any) -> Fanout:
        settings = make_settings(**overrides)
        topics = GroupTopics(settings, sns=self.sns)
        followers = FollowerQueues(
            settings, topics, sqs=self.sqs, lambda_=self.lambda_, cloudwatch=self.cloudwatch
        )
        return Fanout(topics=topics, followers=followers, publisher=SnsPublisher(sns=self.sns))

    def queue_names(self) -> list[str]:
        urls = self.sqs.list_queues(QueueNamePrefix=PREFIX).get("QueueUrls", [])
        return sorted(url.rsplit("/", 1)[-1] for url in urls)

    def subscriptions(self, topic_arn: str) -> list[dict[str, Any]]:
        return list(self.sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"])

    def mappings(self, queue_arn: str) -> list[dict[str, Any]]:
        return list(self.lambda_.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"])

    def receive(self, queue_url: str) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def disable_moto_delivery(self, resources: FollowerResources) -> None:
        """What the local stack does: keep moto's own ESM delivery away from its poller."""
        self.lambda_.update_event_source_mapping(UUID=resources.mapping_uuid, Enabled=False)


def _handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def create_executor(iam: Any, lambda_: Any) -> None:
    """A dummy executor function: CreateEventSourceMapping needs the function to exist."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="executor-role", AssumeRolePolicyDocument=json.dumps(trust))
    lambda_.create_function(
        FunctionName=EXECUTOR,
        Runtime="python3.13",
        Role=role["Role"]["Arn"],
        Handler="handler.handler",
        Code={"ZipFile": _handler_zip()},
    )


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_SNS",
        "AWS_ENDPOINT_URL_LAMBDA",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        clients = Aws(
            sqs=boto3.client("sqs", region_name=REGION),
            sns=boto3.client("sns", region_name=REGION),
            lambda_=boto3.client("lambda", region_name=REGION),
            iam=boto3.client("iam", region_name=REGION),
            cloudwatch=boto3.client("cloudwatch", region_name=REGION),
        )
        create_executor(clients.iam, clients.lambda_)
        yield clients


@pytest.fixture
def failures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The PROVISIONING_FAILURES data points counted (instead of the Powertools metrics singleton)."""
    counted: list[str] = []
    monkeypatch.setattr(observability, "count", lambda name, value=1: counted.append(str(name)))
    return counted


def fail_once(client: Any, operation: str, error: Exception | None = None, *, skip: int = 0) -> list[int]:
    """Makes the (skip+1)-th call of ``operation`` on ``client`` raise once; returns the call counter."""
    calls = [0]

    def hook(**_: Any) -> None:
        calls[0] += 1
        if calls[0] == skip + 1:
            raise error or ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, operation)

    client.meta.events.register(f"before-call.*.{operation}", hook)
    return calls


# ---------------------------------------------------------------------------------- group topics


def test_group_topic_is_fifo_tagged_and_idempotent(aws: Aws) -> None:
    fan = aws.fanout()
    first = fan.topics.ensure_group_topic(GROUP)
    again = fan.topics.ensure_group_topic(GROUP)
    assert first == again
    assert first.shard == 0
    assert first.topic_arn.endswith(f":{PREFIX}-g-{GROUP}-0.fifo")
    attrs = aws.sns.get_topic_attributes(TopicArn=first.topic_arn)["Attributes"]
    assert attrs["FifoTopic"] == "true"
    assert attrs["ContentBasedDeduplication"] == "false"
    tags = aws.sns.list_tags_for_resource(ResourceArn=first.topic_arn)["Tags"]
    assert {"Key": "copier:group", "Value": GROUP} in tags
    assert len(aws.sns.list_topics()["Topics"]) == 1


def test_group_topic_name_is_validated(aws: Aws) -> None:
    with pytest.raises(ValueError, match="topic name"):
        aws.fanout().topics.ensure_group_topic("bad group!")


def _fill(aws: Aws, topic_arn: str, count: int, start: int = 0) -> None:
    for i in range(start, start + count):  # endpoints need not exist for moto
        aws.sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:123456789012:x{i}"
        )


def test_shard_selection(aws: Aws) -> None:
    fan = aws.fanout()
    first = fan.topics.choose_topic_for_new_follower(GROUP, [])
    assert first.shard == 0

    started = time.perf_counter()
    _fill(aws, first.topic_arn, FIFO_TOPIC_MAX_SUBSCRIPTIONS - 1)
    fill_seconds = time.perf_counter() - started
    assert fill_seconds < 10, f"moto took {fill_seconds:.1f}s for 99 subscriptions"
    assert fan.topics.choose_topic_for_new_follower(GROUP, [first.topic_arn]) == first  # 99: still room

    _fill(aws, first.topic_arn, 1, start=99)  # 100: full
    second = fan.topics.choose_topic_for_new_follower(GROUP, [first.topic_arn])
    assert second.shard == 1
    assert second.topic_arn.endswith(f"-g-{GROUP}-1.fifo")
    # asking again (e.g. a retry) with both known does not create a third shard
    assert fan.topics.choose_topic_for_new_follower(GROUP, [second.topic_arn, first.topic_arn]) == second
    assert len(aws.sns.list_topics()["Topics"]) == 2


@pytest.mark.slow
def test_shard_selection_with_101_real_followers(aws: Aws) -> None:
    """Real followers, no faking (moto: about 2.5 s for 101 ensure_follower calls)."""
    fan = aws.fanout()
    topics: list[str] = []
    placed = []
    for i in range(FIFO_TOPIC_MAX_SUBSCRIPTIONS + 1):
        topic = fan.topics.choose_topic_for_new_follower(GROUP, topics)
        if topic.topic_arn not in topics:
            topics.append(topic.topic_arn)
        placed.append(fan.followers.ensure_follower(GROUP, f"acct-{i}", topic.topic_arn))
    assert len(topics) == 2
    assert [len(aws.subscriptions(t)) for t in topics] == [FIFO_TOPIC_MAX_SUBSCRIPTIONS, 1]
    assert placed[-1].topic_arn == topics[1] and placed[-2].topic_arn == topics[0]
    assert len(aws.queue_names()) == 2 * (FIFO_TOPIC_MAX_SUBSCRIPTIONS + 1)


def test_shard_selection_counts_pending_subscriptions(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full page of which some are pending confirmation still counts as full."""
    fan = aws.fanout()
    topic = fan.topics.ensure_group_topic(GROUP)
    page = [{"SubscriptionArn": "PendingConfirmation", "Endpoint": "x"}] * 40 + [
        {"SubscriptionArn": f"{topic.topic_arn}:{i}", "Endpoint": "y"} for i in range(60)
    ]

    class FakePaginator:
        def paginate(self, **_: Any) -> list[dict[str, Any]]:
            return [{"Subscriptions": page}]

    real = aws.sns.get_paginator
    monkeypatch.setattr(
        aws.sns,
        "get_paginator",
        lambda name: FakePaginator() if name == "list_subscriptions_by_topic" else real(name),
    )
    assert fan.topics.choose_topic_for_new_follower(GROUP, [topic.topic_arn]).shard == 1


def test_remove_group_topics(aws: Aws) -> None:
    fan = aws.fanout()
    topics = [fan.topics.ensure_group_topic(GROUP, shard).topic_arn for shard in (0, 1)]
    _fill(aws, topics[1], 3)
    fan.topics.remove_group_topics(topics)
    fan.topics.remove_group_topics(topics)  # already gone: fine
    assert aws.sns.list_topics()["Topics"] == []
    assert aws.sns.list_subscriptions()["Subscriptions"] == []


# ------------------------------------------------------------------------------------- followers


def _assert_follower(aws: Aws, res: FollowerResources, account: str, **expected: Any) -> None:
    queue = aws.sqs.get_queue_attributes(QueueUrl=res.queue_url, AttributeNames=["All"])["Attributes"]
    dlq = aws.sqs.get_queue_attributes(QueueUrl=res.dlq_url, AttributeNames=["All"])["Attributes"]
    assert queue["QueueArn"] == res.queue_arn and dlq["QueueArn"] == res.dlq_arn
    assert queue["FifoQueue"] == dlq["FifoQueue"] == "true"
    assert queue["ContentBasedDeduplication"] == "false"
    assert queue["VisibilityTimeout"] == str(expected.get("visibility", 30))
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": res.dlq_arn,
        "maxReceiveCount": expected.get("max_receive", 5),
    }
    statement = json.loads(queue["Policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == res.queue_arn
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": res.topic_arn}}
    for url in (res.queue_url, res.dlq_url):
        assert aws.sqs.list_queue_tags(QueueUrl=url)["Tags"] == {
            "copier:group": GROUP,
            "copier:account": account,
        }

    subs = [s for s in aws.subscriptions(res.topic_arn) if s["Endpoint"] == res.queue_arn]
    assert [s["SubscriptionArn"] for s in subs] == [res.subscription_arn]
    sub_attrs = aws.sns.get_subscription_attributes(SubscriptionArn=res.subscription_arn)["Attributes"]
    assert sub_attrs["RawMessageDelivery"] == "true" and sub_attrs["Protocol"] == "sqs"

    mappings = aws.mappings(res.queue_arn)
    assert [m["UUID"] for m in mappings] == [res.mapping_uuid]
    mapping = mappings[0]
    assert mapping["FunctionArn"].endswith(f":function:{EXECUTOR}")
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": expected.get("concurrency", 2)}


def test_ensure_follower_creates_everything_and_twice_is_the_same(aws: Aws) -> None:
    fan = aws.fanout()
    topic = fan.topics.ensure_group_topic(GROUP)
    account = "tradovate:DEMO.12345"
    first = fan.followers.ensure_follower(GROUP, account, topic.topic_arn)
    second = fan.followers.ensure_follower(GROUP, account, topic.topic_arn)
    assert first == second
    assert first.queue_url.endswith("/" + follower_queue_name(PREFIX, GROUP, account))
    assert first.dlq_url.endswith("/" + follower_dlq_name(PREFIX, GROUP, account))
    assert len(follower_dlq_name("x" * 40, GROUP, account)) <= 80
    _assert_follower(aws, first, account)
    assert aws.queue_names() == sorted(
        [follower_queue_name(PREFIX, GROUP, account), follower_dlq_name(PREFIX, GROUP, account)]
    )
    assert len(aws.subscriptions(topic.topic_arn)) == 1


def test_ensure_follower_converges_changed_settings(aws: Aws) -> None:
    topic = aws.fanout().topics.ensure_group_topic(GROUP)
    first = aws.fanout().followers.ensure_follower(GROUP, "acct-1", topic.topic_arn)
    changed = aws.fanout(
        follower_queue_visibility_seconds=90, follower_max_receive_count=3, follower_max_concurrency=7
    ).followers.ensure_follower(GROUP, "acct-1", topic.topic_arn)
    assert changed == first
    _assert_follower(aws, changed, "acct-1", visibility=90, max_receive=3, concurrency=7)


@pytest.mark.parametrize("again", ["ensure_follower", "create_follower"])
def test_ensure_follower_moves_to_another_shard(aws: Aws, again: str) -> None:
    """create_follower too: its CreateQueue conflicts (the policy names another topic), so it hands
    the queue to ensure_follower, which converges it (not duplicated, not left as it was)."""
    fan = aws.fanout()
    shard0 = fan.topics.ensure_group_topic(GROUP, 0).topic_arn
    shard1 = fan.topics.ensure_group_topic(GROUP, 1).topic_arn
    on0 = fan.followers.ensure_follower(GROUP, "acct-1", shard0)
    on1 = getattr(fan.followers, again)(GROUP, "acct-1", shard1)
    assert on1.queue_url == on0.queue_url and on1.mapping_uuid == on0.mapping_uuid
    assert aws.subscriptions(shard0) == []
    _assert_follower(aws, on1, "acct-1")


def test_ensure_follower_needs_the_executor_name(aws: Aws, failures: list[str]) -> None:
    topic = aws.fanout().topics.ensure_group_topic(GROUP)
    with pytest.raises(ProvisioningError) as error:
        aws.fanout(executor_function_name="").followers.ensure_follower(GROUP, "acct-1", topic.topic_arn)
    assert error.value.step == "event_source_mapping"
    assert aws.queue_names() == []  # checked before anything is created
    assert failures == ["ProvisioningFailures"]


@pytest.mark.parametrize(
    ("operation", "skip", "step"),
    [
        ("CreateQueue", 0, "dlq"),
        ("CreateQueue", 1, "queue"),
        ("SetQueueAttributes", 0, "queue_policy"),
        ("Subscribe", 0, "subscription"),
        ("CreateEventSourceMapping", 0, "event_source_mapping"),
    ],
)
def test_ensure_follower_resumes_after_a_failure(
    aws: Aws, failures: list[str], operation: str, skip: int, step: str
) -> None:
    fan = aws.fanout()
    topic = fan.topics.ensure_group_topic(GROUP)
    client = (
        aws.lambda_
        if operation == "CreateEventSourceMapping"
        else aws.sns
        if operation == "Subscribe"
        else aws.sqs
    )
    fail_once(client, operation, skip=skip)
    with pytest.raises(ProvisioningError) as error:
        fan.followers.ensure_follower(GROUP, "acct-1", topic.topic_arn)
    assert error.value.step == step
    assert "InternalError" in error.value.detail
    assert failures == ["ProvisioningFailures"]

    resumed = fan.followers.ensure_follower(GROUP, "acct-1", topic.topic_arn)
    _assert_follower(aws, resumed, "acct-1")
    assert len(aws.queue_names()) == 2
    assert fan.followers.ensure_follower(GROUP, "acct-1", topic.topic_arn) == resumed


def test_connection_errors_become_provisioning_errors(aws: Aws, failures: list[str]) -> None:
    fan = aws.fanout()
    topic = fan.topics.ensure_group_topic(GROUP)
    fail_once(aws.lambda_, "ListEventSourceMappings", EndpointConnectionError(endpoint_url="https://lambda"))
    with pytest.raises(ProvisioningError) as error:
        fan.followers.ensure_follower(GROUP, "acct-1", topic.topic_arn)
    assert error.value.step == "event_source_mapping"
    assert "EndpointConnectionError" in error.value.detail
    assert failures == ["ProvisioningFailures"]
    _assert_follower(aws, fan.followers.ensure_follower(GROUP, "acct-1", topic.topic_arn), "acct-1")


def _nothing_left(aws: Aws, topic_arn: str, queue_arn: str) -> None:
    assert aws.queue_names() == []
    assert aws.subscriptions(topic_arn) == []
    assert aws.mappings(queue_arn) == []
    assert aws.lambda_.list_event_source_mappings()["EventSourceMappings"] == []


def test_remove_follower_leaves_nothing_and_is_repeatable(aws: Aws) -> None:
    fan = aws.fanout()
    topic = fan.topics.ensure_group_topic(GROUP)
    keep = fan.followers.ensure_follower(GROUP, "acct-keep", topic.topic_arn)
    gone = fan.followers.ensure_follower(GROUP, "acct-1", topic.topic_arn)
    fan.followers.remove_follower(GROUP, "acct-1")
    fan.followers.remove_follower(GROUP, "acct-1")  # already gone
    fan.followers.remove_follower(GROUP, "never-provisioned")
    assert [s["Endpoint"] for s in aws.subscriptions(topic.topic_arn)] == [keep.queue_arn]
    assert aws.mappings(gone.queue_arn) == []
    _assert_follower(aws, keep, "acct-keep")  # the other follower is untouched
    fan.followers.remove_follower(GROUP, "acct-keep")
    _nothing_left(aws, topic.topic_arn, keep.queue_arn)


def test_remove_follower_after_a_half_done_ensure(aws: Aws, failures: list[str]) -> None:
    fan = aws.fanout()
    topic = fan.topics.ensure_group_topic(GROUP)
    fail_once(aws.lambda_, "CreateEventSourceMapping")
    with pytest.raises(ProvisioningError):
        fan.followers.ensure_follower(GROUP, "acct-1", topic.topic_arn)
    fan.followers.remove_follower(GROUP, "acct-1")
    assert aws.queue_names() == [] and aws.subscriptions(topic.topic_arn) == []


def test_remove_follower_resumes_after_a_failure(aws: Aws, failures: list[str]) -> None:
    fan = aws.fanout()
    topic = fan.topics.ensure_group_topic(GROUP)
    res = fan.followers.ensure_follower(GROUP, "acct-1", topic.topic_arn)
    fail_once(aws.sqs, "DeleteQueue", skip=1)  # the queue goes, the DLQ does not
    with pytest.raises(ProvisioningError) as error:
        fan.followers.remove_follower(GROUP, "acct-1")
    assert error.value.step == "delete_dlq"
    fan.followers.remove_follower(GROUP, "acct-1")
    _nothing_left(aws, topic.topic_arn, res.queue_arn)


def test_remove_follower_when_the_queue_was_deleted_out_of_band(aws: Aws) -> None:
    """Subscription and mapping are found by the queue's name when the queue itself is gone."""
    fan = aws.fanout()
    topic = fan.topics.ensure_group_topic(GROUP)
    res = fan.followers.ensure_follower(GROUP, "acct-1", topic.topic_arn)
    aws.sqs.delete_queue(QueueUrl=res.queue_url)
    assert len(aws.subscriptions(topic.topic_arn)) == 1 and len(aws.mappings(res.queue_arn)) == 1
    fan.followers.remove_follower(GROUP, "acct-1")
    _nothing_left(aws, topic.topic_arn, res.queue_arn)


# --------------------------------------------------------------------------------------- publish


def test_publish_to_two_shards_and_dedup(aws: Aws) -> None:
    fan = aws.fanout()
    shard0 = fan.topics.ensure_group_topic(GROUP, 0).topic_arn
    shard1 = fan.topics.ensure_group_topic(GROUP, 1).topic_arn
    a = fan.followers.ensure_follower(GROUP, "acct-a", shard0)
    b = fan.followers.ensure_follower(GROUP, "acct-b", shard1)
    for res in (a, b):
        aws.disable_moto_delivery(res)

    body = json.dumps({"event_id": "ev-1", "symbol": "NQ"})
    fan.publisher.publish([shard0, shard1], body, GROUP, "ev-1", {"event_id": "ev-1", "empty": ""})
    # a retry: deduplicated
    fan.publisher.publish([shard0, shard1], body, GROUP, "ev-1", {"event_id": "ev-1"})
    for res in (a, b):
        messages = aws.receive(res.queue_url)
        assert len(messages) == 1
        message = messages[0]
        assert message["Body"] == body  # raw delivery: no SNS envelope
        assert message["Attributes"]["MessageGroupId"] == GROUP
        assert message["Attributes"]["MessageDeduplicationId"] == "ev-1"
        assert message["MessageAttributes"] == {"event_id": {"StringValue": "ev-1", "DataType": "String"}}


def test_publish_failure_names_the_topic(aws: Aws) -> None:
    fan = aws.fanout()
    good = fan.topics.ensure_group_topic(GROUP).topic_arn
    res = fan.followers.ensure_follower(GROUP, "acct-a", good)
    aws.disable_moto_delivery(res)
    missing = good.replace("-0.fifo", "-7.fifo")
    with pytest.raises(PublishError) as error:
        fan.publisher.publish([good, missing], "{}", GROUP, "ev-2", {})
    assert error.value.topic_arns == [missing]
    assert len(aws.receive(res.queue_url)) == 1  # the good shard still got it
    with pytest.raises(PublishError):
        fan.publisher.publish([], "{}", GROUP, "ev-3", {})


def test_publish_uses_one_cached_sns_client(monkeypatch: pytest.MonkeyPatch) -> None:
    tc_aws.clear_clients()
    created: list[str] = []
    real_client: Any = Session.create_client  # what boto3.client and tradecopier.aws both build with

    def counting_client(session: Session, service: str, **kwargs: Any) -> Any:
        created.append(service)
        return real_client(session, service, **kwargs)

    monkeypatch.setattr(Session, "create_client", counting_client)
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="t.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
        created.clear()
        for dedup in ("a", "b", "c"):
            SnsPublisher().publish([topic], "{}", GROUP, dedup, {})
    assert created == ["sns"]
    assert tc_aws.client("sns") is tc_aws.client("sns")
    tc_aws.clear_clients()


def test_import_is_light() -> None:
    code = (
        "import sys, tradecopier.aws, tradecopier.fanout.publish, tradecopier.fanout.topics, "
        "tradecopier.fanout.followers; "
        "print(sorted(m for m in ('pydantic', 'aws_lambda_powertools', 'moto', 'tradecopier.settings') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT / "layers" / "common"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


# moto's own event source mapping delivery (it swallows or dead-letters messages without Docker)
# is neutralised for the local stack by devstack/motopatch.py, which documents what it does.


# ----------------------------------------------------------------------------------- server mode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def moto_server() -> Iterator[Callable[[str], Any]]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"

    make_client: Any = boto3.client

    def client(service: str) -> Any:
        return make_client(
            service,
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    try:
        yield client
    finally:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
        server.stop()


def test_server_mode_publish_reaches_the_follower_queue(moto_server: Callable[[str], Any]) -> None:
    aws = Aws(
        sqs=moto_server("sqs"), sns=moto_server("sns"), lambda_=moto_server("lambda"), iam=moto_server("iam")
    )
    create_executor(aws.iam, aws.lambda_)
    fan = aws.fanout()
    topic = fan.topics.choose_topic_for_new_follower(GROUP, [])
    res = fan.followers.ensure_follower(GROUP, "tradovate:DEMO.1", topic.topic_arn)
    assert fan.followers.ensure_follower(GROUP, "tradovate:DEMO.1", topic.topic_arn) == res
    _assert_follower(aws, res, "tradovate:DEMO.1")
    aws.disable_moto_delivery(res)

    body = '{"event_id":"ev-9","side":"buy","qty":"2"}'
    fan.publisher.publish([topic.topic_arn], body, GROUP, "ev-9", {"event_id": "ev-9"})
    fan.publisher.publish([topic.topic_arn], body, GROUP, "ev-9", {"event_id": "ev-9"})  # same dedup id
    [message] = aws.receive(res.queue_url)
    assert message["Body"] == body
    assert message["Attributes"]["MessageGroupId"] == GROUP
    assert message["Attributes"]["MessageDeduplicationId"] == "ev-9"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert message["MessageAttributes"]["event_id"]["StringValue"] == "ev-9"

    fan.followers.remove_follower(GROUP, "tradovate:DEMO.1")
    fan.topics.remove_group_topics([topic.topic_arn])
    assert aws.queue_names() == []
    assert aws.sns.list_topics()["Topics"] == []
    assert aws.lambda_.list_event_source_mappings()["EventSourceMappings"] == []


def test_each_follower_dlq_gets_an_alarm_that_leaves_with_it(aws: Aws) -> None:
    alerts = aws.sns.create_topic(Name="alerts")["TopicArn"]
    fan = aws.fanout(alerts_topic_arn=alerts)
    topic = fan.topics.ensure_group_topic(GROUP).topic_arn
    resources = fan.followers.ensure_follower(GROUP, "acct-1", topic)
    fan.followers.ensure_follower(GROUP, "acct-1", topic)  # idempotent: still one alarm
    dlq_name = resources.dlq_arn.rsplit(":", 1)[-1]
    [alarm] = aws.cloudwatch.describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]
    assert (alarm["AlarmName"], alarm["MetricName"], alarm["AlarmActions"]) == (
        dlq_name,
        "ApproximateNumberOfMessagesVisible",
        [alerts],
    )
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": dlq_name}]
    fan.followers.remove_follower(GROUP, "acct-1")
    assert aws.cloudwatch.describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"] == []


def test_follower_queues_use_sse_sqs(aws: Aws) -> None:
    fan = aws.fanout()
    resources = fan.followers.ensure_follower(GROUP, "acct-1", fan.topics.ensure_group_topic(GROUP).topic_arn)
    for url in (resources.queue_url, resources.dlq_url):
        attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes.get("SqsManagedSseEnabled") == "true"


# ------------------------------------------------------------------------ create (home mode's restore)


def _count_calls(*clients: Any) -> list[str]:
    """The operation names called on ``clients`` from now on, in order."""
    calls: list[str] = []
    for client in clients:
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    return calls


def test_create_follower_makes_what_ensure_follower_makes_one_call_each(aws: Aws) -> None:
    """Nothing there yet (moto restarted): 5 calls, and ``ensure_follower`` finds nothing to change."""
    alerts = aws.sns.create_topic(Name="alerts")["TopicArn"]
    fan = aws.fanout(alerts_topic_arn=alerts)
    topic = fan.topics.ensure_group_topic(GROUP).topic_arn
    calls = _count_calls(aws.sqs, aws.sns, aws.lambda_, aws.cloudwatch)
    created = fan.followers.create_follower(GROUP, "acct-1", topic)
    assert calls == [
        "CreateQueue",
        "CreateQueue",
        "Subscribe",
        "CreateEventSourceMapping",
        "PutMetricAlarm",
    ]
    _assert_follower(aws, created, "acct-1")
    for url in (created.queue_url, created.dlq_url):
        attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes.get("SqsManagedSseEnabled") == "true"
    dlq = aws.sqs.get_queue_attributes(QueueUrl=created.dlq_url, AttributeNames=["All"])["Attributes"]
    assert dlq["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    [alarm] = aws.cloudwatch.describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]
    assert alarm["AlarmName"] == created.dlq_arn.rsplit(":", 1)[-1] and alarm["AlarmActions"] == [alerts]

    calls.clear()
    assert fan.followers.ensure_follower(GROUP, "acct-1", topic) == created
    writes = [name for name in calls if not name.startswith(("Get", "List"))]
    assert writes == ["PutMetricAlarm"]  # PutMetricAlarm is always made (it overwrites)


def test_create_follower_needs_the_executor_name(aws: Aws, failures: list[str]) -> None:
    topic = aws.fanout().topics.ensure_group_topic(GROUP)
    with pytest.raises(ProvisioningError) as error:
        aws.fanout(executor_function_name="").followers.create_follower(GROUP, "acct-1", topic.topic_arn)
    assert error.value.step == "event_source_mapping" and aws.queue_names() == []
