"""devstack.restore against the real parts: handlers on moto's server and DynamoDB Local, then the
fan-out deleted from moto (what a restart leaves: moto kept nothing, the table kept everything) and
``restore_fanout`` run on it. Its order guarantees and its result are checked, and what it
re-created is compared resource by resource with what the table records."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import boto3

from devstack.restore import Restored, restore_fanout
from devstack.samples import market
from tests.conftest import CopierTables
from tests.pipeline import Pipeline
from tradecopier.dal.copier import CopierStore
from tradecopier.fanout.followers import FollowerQueues
from tradecopier.fanout.topics import GroupTopics
from tradecopier.logic.deliveries import REDRIVEN_ATTRIBUTE
from tradecopier.settings import AdminSettings

GROUPS = 3
FOLLOWERS = 3


def _forget_fanout(settings: AdminSettings, sns: Any, sqs: Any, lambda_: Any, store: CopierStore) -> None:
    """Every topic, queue, subscription and mapping of the groups deleted: a restarted moto."""
    topics = GroupTopics(settings, sns=sns)
    followers = FollowerQueues(settings, topics, sqs=sqs, lambda_=lambda_)
    for group_id in store.list_group_ids():
        group = store.get_group(group_id)
        assert group is not None
        for item in group.followers:
            followers.remove_follower(group_id, item.follower.account_id)
        topics.remove_group_topics(group.topic_arns)


def test_restore_recreates_the_fanout_and_redrives_pending_copies_in_order(
    pipeline: Pipeline, pipeline_env: CopierTables, moto_endpoint: str, dynamodb_local_endpoint: str
) -> None:
    groups: dict[str, list[str]] = {}
    sent: dict[str, list[str]] = {}
    for g in range(GROUPS):
        group_id, token = pipeline.create_group(leader=f"RESTORE-L{g}")
        groups[group_id] = [f"RESTORE-F{g}-{f}" for f in range(FOLLOWERS)]
        for account_id in groups[group_id]:
            pipeline.add_follower(group_id, account_id, broker="paper")
        sent[group_id] = [f"ev-{g}-{n}" for n in range(2 - g % 2)]  # 2, 1, 2 events: pending copies
        for event_id in sent[group_id]:
            assert pipeline.send(group_id, token, **market(event_id)).status == 202
    environment = dict(os.environ)
    settings = AdminSettings.from_env(environment)
    dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint)
    store = CopierStore(settings.copier_table_name, client=dynamodb)
    _forget_fanout(settings, pipeline.sns, pipeline.sqs, pipeline.lambda_, store)
    assert pipeline.follower_queues() == []

    calls: Counter[str] = Counter()
    clients = {"sns": pipeline.sns, "sqs": pipeline.sqs, "lambda_": pipeline.lambda_}
    for client in clients.values():
        client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    table_calls: Counter[str] = Counter()
    dynamodb.meta.events.register("before-call", lambda model, **_: table_calls.update([model.name]))
    done = restore_fanout(environment, dynamodb=dynamodb, cloudwatch=None, **clients)

    pending = sum(len(events) * FOLLOWERS for events in sent.values())
    assert done == Restored(groups=GROUPS, followers=GROUPS * FOLLOWERS, redriven=pending)
    # One create call per resource (nothing is looked up first: moto starts empty).
    assert calls == Counter(
        CreateTopic=GROUPS,
        CreateQueue=2 * GROUPS * FOLLOWERS,
        Subscribe=GROUPS * FOLLOWERS,
        CreateEventSourceMapping=GROUPS * FOLLOWERS,
        SendMessage=pending,
    )
    assert table_calls["TransactWriteItems"] == GROUPS  # each group's followers marked in one transaction
    for group_id, accounts in groups.items():
        group = store.get_group(group_id)
        assert group is not None and all(item.provisioned for item in group.followers)
        recorded = {item.follower.account_id: item.resources for item in group.followers}
        assert sorted(recorded) == sorted(accounts)
        for resources in recorded.values():
            _assert_recreated(pipeline, resources)
            messages = _drain(pipeline.sqs, resources["queue_url"])
            # In acceptance order, marked as re-driven, one per pending copy.
            assert [m["MessageAttributes"]["event_id"]["StringValue"] for m in messages] == sent[group_id]
            assert all(REDRIVEN_ATTRIBUTE in m["MessageAttributes"] for m in messages)


def _assert_recreated(pipeline: Pipeline, resources: dict[str, str]) -> None:
    """What the table records is what moto has (the new subscription and mapping ids included)."""
    attributes = pipeline.sqs.get_queue_attributes(QueueUrl=resources["queue_url"], AttributeNames=["All"])
    assert attributes["Attributes"]["QueueArn"] == resources["queue_arn"]
    assert resources["dlq_arn"] in attributes["Attributes"]["RedrivePolicy"]
    assert resources["topic_arn"] in attributes["Attributes"]["Policy"]
    dlq = pipeline.sqs.get_queue_attributes(QueueUrl=resources["dlq_url"], AttributeNames=["QueueArn"])
    assert dlq["Attributes"]["QueueArn"] == resources["dlq_arn"]
    subscriptions = pipeline.sns.list_subscriptions_by_topic(TopicArn=resources["topic_arn"])
    assert [
        s["SubscriptionArn"]
        for s in subscriptions["Subscriptions"]
        if s["Endpoint"] == resources["queue_arn"]
    ] == [resources["subscription_arn"]]
    mappings = pipeline.lambda_.list_event_source_mappings(EventSourceArn=resources["queue_arn"])
    assert [m["UUID"] for m in mappings["EventSourceMappings"]] == [resources["mapping_uuid"]]


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message of a FIFO queue, in order (each batch deleted before the next receive)."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not batch.get("Messages"):
            return messages
        messages.extend(batch["Messages"])
        for message in batch["Messages"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
