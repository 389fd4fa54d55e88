"""Fault injection through the real handlers (RELIABILITY.md, "Faults").

Each test breaks one thing (the executor process, the broker's response, DynamoDB, SNS, the
follower's broker, the follower's membership) in a group with a healthy follower next to the
faulty one, lets the event source mapping play out (``pipeline.deliver``: visibility timeout 1 s,
3 receives before the DLQ), and ends with the same audit: no duplicate order, no lost copy record,
nothing on the leader, and the healthy follower got every copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff

from devstack.samples import SYMBOL, limit, market, order_cancelled, order_modified, sqs_records
from devstack.samples import position_flattened as flatten
from tests.pipeline import FakeContext, Pipeline
from tests.reliability.helpers import DynamoFaults, SnsFaults, audit, hooked
from tradecopier import aws
from tradecopier.brokers import registry
from tradecopier.brokers.base import BrokerAccount, BrokerOrder, BrokerUnreachable
from tradecopier.brokers.paper import PaperBroker
from tradecopier.brokers.paper.store import PaperStore
from tradecopier.fanout.names import follower_dlq_name, follower_queue_name
from tradecopier.logic import deliveries
from tradecopier.logic.executor import Delivery
from tradecopier.logic.services import executor_services
from tradecopier.settings import BrokerSettings

FAULTY, HEALTHY = "EVAL-1", "GOOD-1"

# botocore's ``max_attempts`` counts retries: the copier's clients make 1 + 4 = 5 attempts per call.
DYNAMODB_ATTEMPTS = 1 + int(aws.config_for("dynamodb").retries["max_attempts"])
SNS_ATTEMPTS = 1 + int(aws.config_for("sns").retries["max_attempts"])


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard retry backoff, scaled down 100x (the policy itself is unchanged)."""
    config = dict(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG)
    config.update(throttling_base_scale=0.01, non_throttling_base_scale=0.0005)
    monkeypatch.setattr(ExponentialBackoff, "_DEFAULT_BACKOFF_CONFIG", config)


def two_followers(pipeline: Pipeline, **faulty: Any) -> tuple[str, str]:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, FAULTY, **faulty)
    pipeline.add_follower(group_id, HEALTHY, multiplier=2)
    return group_id, token


def queue_url(pipeline: Pipeline, group_id: str, account_id: str, dlq: bool = False) -> str:
    name = (follower_dlq_name if dlq else follower_queue_name)(
        executor_services().settings.resource_prefix, group_id, account_id
    )
    return str(pipeline.sqs.get_queue_url(QueueName=name)["QueueUrl"])


def depth(pipeline: Pipeline, url: str) -> int:
    attributes = pipeline.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def receive_batch(pipeline: Pipeline, group_id: str, account_id: str) -> tuple[str, list[dict[str, Any]]]:
    url = queue_url(pipeline, group_id, account_id)
    messages = pipeline.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    return url, messages


def queue_arn(pipeline: Pipeline, url: str) -> str:
    return str(
        pipeline.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    )


def brokers_with_hooks(hooks: dict[str, Callable[[BrokerOrder], None]]) -> Callable[..., BrokerAccount]:
    """``open_broker`` for the executor: paper brokers whose ``after_accept`` hook is ``hooks[account]``."""
    real = registry.open_broker

    def opener(account_id: str, broker: Any, simulate: Any, settings: BrokerSettings) -> BrokerAccount:
        hook = hooks.get(account_id)
        if hook is None:
            return real(account_id, broker, simulate, settings)
        return PaperBroker(
            account_id, PaperStore(settings.paper_table_name), simulate=simulate, after_accept=hook
        )

    return opener


def count_copy_events(monkeypatch: pytest.MonkeyPatch, fail: Callable[[Delivery, int], None]) -> list[str]:
    """Wraps the executor's ``copy_event``: ``fail(delivery, n)`` runs before the n-th copy of the
    faulty follower (1-based) and may raise. Returns the log of event ids the faulty follower saw."""
    real = deliveries.copy_event
    seen: list[str] = []

    def wrapped(delivery: Delivery, **kwargs: Any) -> Any:
        if delivery.account_id == FAULTY:
            seen.append(delivery.accepted.event.event_id)
            fail(delivery, len(seen))
        return real(delivery, **kwargs)

    monkeypatch.setattr(deliveries, "copy_event", wrapped)
    return seen


def final_audit(
    pipeline: Pipeline, group_id: str, events: list[str], figures: Counter[str], **kwargs: Any
) -> None:
    found = audit(pipeline, group_id, events, {FAULTY, HEALTHY}, {FAULTY, HEALTHY}, figures=figures, **kwargs)
    found.assert_clean()
    healthy = [pipeline.copies(group_id, event_id)[HEALTHY] for event_id in events]
    assert [copy["status"] for copy in healthy] == ["placed"] * len(events), healthy
    assert all(copy["attempts"] == 1 for copy in healthy), healthy


# --- the executor dies ---------------------------------------------------------------------------


def test_executor_error_on_second_record_fails_the_rest_of_the_batch_and_they_come_back(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, figures: Counter[str]
) -> None:
    group_id, token = two_followers(pipeline)
    events = ["E-1", "E-2", "E-3"]
    for event_id in events:
        assert pipeline.send(group_id, token, **market(event_id, qty=1)).status == 202

    def crash_once(delivery: Delivery, n: int) -> None:
        if n == 2:
            figures["faults_injected"] += 1
            raise RuntimeError("injected: the record handler blew up")

    seen = count_copy_events(monkeypatch, crash_once)
    url, messages = receive_batch(pipeline, group_id, FAULTY)
    assert len(messages) == 3
    result = pipeline.executor({"Records": sqs_records(messages, queue_arn(pipeline, url))}, FakeContext())
    failed = [item["itemIdentifier"] for item in result["batchItemFailures"]]
    assert failed == [messages[1]["MessageId"], messages[2]["MessageId"]]  # 1st done; 2nd and 3rd back
    pipeline.sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
    assert [pipeline.copies(group_id, e)[FAULTY]["status"] for e in events] == [
        "placed",
        "pending",
        "pending",
    ]

    pipeline.deliver()
    assert seen == ["E-1", "E-2", "E-2", "E-3"]  # E-3 was never started in the failed batch
    copies = [pipeline.copies(group_id, e)[FAULTY] for e in events]
    assert [(c["status"], c["attempts"]) for c in copies] == [("placed", 1), ("placed", 2), ("placed", 2)]
    assert pipeline.positions(FAULTY) == {SYMBOL: 3} and pipeline.positions(HEALTHY) == {SYMBOL: 6}
    figures["events_sent"] += len(events)
    final_audit(pipeline, group_id, events, figures)


class ProcessDied(BaseException):
    """Not an ``Exception``: nothing in the handler catches it, like a killed or timed-out process."""


def test_executor_process_dies_after_the_broker_accepted_and_nothing_is_doubled(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, figures: Counter[str]
) -> None:
    group_id, token = two_followers(pipeline)
    events = ["E-1", "E-2", "E-3"]
    for n, event_id in enumerate(events, start=1):
        assert pipeline.send(group_id, token, **market(event_id, qty=n)).status == 202
    accepted: list[str] = []

    def die_on_second_order(order: BrokerOrder) -> None:
        accepted.append(order.broker_order_id)
        if len(accepted) == 2:
            figures["faults_injected"] += 1
            raise ProcessDied("killed after the broker accepted the 2nd order")

    monkeypatch.setattr(deliveries, "open_broker", brokers_with_hooks({FAULTY: die_on_second_order}))
    url, messages = receive_batch(pipeline, group_id, FAULTY)
    assert len(messages) == 3
    with pytest.raises(ProcessDied):  # the invocation never returns: nothing is deleted
        pipeline.executor({"Records": sqs_records(messages, queue_arn(pipeline, url))}, FakeContext())
    assert depth(pipeline, url) == 3

    pipeline.deliver()  # all three reappear after the visibility timeout
    orders = pipeline.orders(FAULTY)
    assert len(orders) == 3 and accepted[1] in {o["broker_order_id"] for o in orders}
    copies = [pipeline.copies(group_id, e)[FAULTY] for e in events]
    assert [(c["status"], c["qty"], c["attempts"]) for c in copies] == [
        ("placed", 1, 1),  # recorded before the crash; the redelivery is a duplicate
        ("placed", 2, 2),  # the broker had it: the same client order id finds it
        ("placed", 3, 2),
    ]
    assert copies[1]["broker_order_id"] == accepted[1]
    assert pipeline.positions(FAULTY) == {SYMBOL: 6}
    figures["events_sent"] += len(events)
    final_audit(pipeline, group_id, events, figures)


def test_an_error_on_every_attempt_locks_the_follower_before_the_message_is_dead_lettered(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, figures: Counter[str]
) -> None:
    group_id, token = two_followers(pipeline)

    def always_on_e1(delivery: Delivery, n: int) -> None:
        if delivery.accepted.event.event_id == "E-1":
            figures["faults_injected"] += 1
            raise RuntimeError("injected: a bug in the record handler")

    count_copy_events(monkeypatch, always_on_e1)
    pipeline.send(group_id, token, **market("E-1", qty=2))
    pipeline.send(group_id, token, **market("E-2", qty=1))
    pipeline.deliver()
    pipeline.send(group_id, token, **market("E-3", qty=1))
    pipeline.deliver()
    figures["events_sent"] += 3
    # The brief: before a message can be dead-lettered the follower is locked with the reason, so
    # nothing later is copied out of order onto it.
    follower = next(
        f for f in pipeline.call("GET", f"/groups/{group_id}").body["followers"] if f["account_id"] == FAULTY
    )
    statuses = [pipeline.copies(group_id, e)[FAULTY]["status"] for e in ("E-1", "E-2", "E-3")]
    assert follower["state"] == "locked", (follower, statuses)
    assert statuses == ["failed", "skipped", "skipped"]


# --- the broker accepted, then its response was lost ---------------------------------------------


@pytest.mark.parametrize("action", ["modify", "cancel", "flatten"])
def test_broker_timeout_after_it_accepted_a_modify_cancel_or_flatten(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, figures: Counter[str], action: str
) -> None:
    group_id, token = two_followers(pipeline)
    armed: list[bool] = []

    def lose_response_once(order: BrokerOrder) -> None:
        if armed and armed.pop():
            figures["faults_injected"] += 1
            raise BrokerUnreachable(f"timed out after the broker accepted the {action}")

    monkeypatch.setattr(deliveries, "open_broker", brokers_with_hooks({FAULTY: lose_response_once}))
    pipeline.send(group_id, token, **limit("E-1", "L-7", qty=2, limit_price=21400.25))
    pipeline.send(group_id, token, **market("E-2", qty=3))
    pipeline.deliver()
    target = {
        "modify": order_modified("E-3", "L-7", qty=4, limit_price=21390),
        "cancel": order_cancelled("E-3", "L-7"),
        "flatten": flatten("E-3"),
    }[action]
    armed.append(True)
    assert pipeline.send(group_id, token, **target).status == 202
    pipeline.deliver()

    copy = pipeline.copies(group_id, "E-3")[FAULTY]
    assert (copy["status"], copy["attempts"]) == ("placed", 2), copy
    working = {o["client_order_id"]: o for o in pipeline.orders(FAULTY)}
    [limit_order] = [o for o in working.values() if o["order_type"] == "limit"]
    if action == "modify":
        assert (limit_order["qty"], limit_order["limit_price"], limit_order["status"]) == (
            4,
            21390,
            "working",
        )
        assert pipeline.positions(FAULTY) == {SYMBOL: 3}
    elif action == "cancel":
        assert limit_order["status"] == "cancelled" and pipeline.positions(FAULTY) == {SYMBOL: 3}
    else:
        assert limit_order["status"] == "cancelled" and pipeline.positions(FAULTY) == {}
        closing = [o for o in working.values() if o["client_order_id"] == copy["client_order_id"]]
        assert len(closing) == 1 and closing[0]["qty"] == 3  # closed once, not twice
    assert len(pipeline.orders(FAULTY)) == (3 if action == "flatten" else 2)
    figures["events_sent"] += 3
    final_audit(pipeline, group_id, ["E-1", "E-2", "E-3"], figures)


# --- DynamoDB throttles --------------------------------------------------------------------------


def _faulty_request(table: str, operation: str) -> Callable[[str, dict[str, Any]], bool]:
    """Requests of ``operation`` on ``table`` that concern the faulty follower."""

    def match(name: str, payload: dict[str, Any]) -> bool:
        text = str(payload)
        return name == operation and table in text and FAULTY in text

    return match


def test_dynamodb_throttling_within_the_client_retries_is_invisible(
    pipeline: Pipeline, pipeline_env: Any, fast_backoff: None, figures: Counter[str]
) -> None:
    group_id, token = two_followers(pipeline)
    client = aws.client("dynamodb")
    times = DYNAMODB_ATTEMPTS - 1  # in a row on each of the executor's calls: the last attempt goes through
    faults = [
        DynamoFaults(_faulty_request(pipeline_env.copier, "BatchGetItem"), times),
        DynamoFaults(_faulty_request(pipeline_env.paper, "TransactWriteItems"), times, "ThrottlingException"),
        # Data layer v2: the copy record is one conditional PutItem (a placed copy's is its order link item).
        DynamoFaults(_faulty_request(pipeline_env.copier, "PutItem"), times),
    ]
    assert pipeline.send(group_id, token, **market("E-1")).status == 202
    for fault in faults:
        client.meta.events.register("before-send.dynamodb", fault)
    try:
        pipeline.deliver()
    finally:
        for fault in faults:
            client.meta.events.unregister("before-send.dynamodb", fault)
    assert [f.injected for f in faults] == [times] * len(faults)
    figures["faults_injected"] += sum(f.injected for f in faults)
    copy = pipeline.copies(group_id, "E-1")[FAULTY]
    assert (copy["status"], copy["attempts"]) == ("placed", 1)
    figures["events_sent"] += 1
    final_audit(pipeline, group_id, ["E-1"], figures)


@pytest.mark.parametrize(
    ("table", "operation", "what"),
    [
        ("copier", "BatchGetItem", "load: the executor's consistent read"),
        ("paper", "TransactWriteItems", "broker: the paper broker's order write"),
        ("copier", "PutItem", "record: the copy record (the order link item), after the broker placed it"),
    ],
    ids=["load", "broker", "record"],
)
def test_dynamodb_throttling_past_the_client_retries_is_retried_by_sqs(
    pipeline: Pipeline,
    pipeline_env: Any,
    fast_backoff: None,
    figures: Counter[str],
    table: str,
    operation: str,
    what: str,
) -> None:
    group_id, token = two_followers(pipeline)
    # Every attempt of one call: the error reaches the executor, and SQS delivers the batch again.
    fault = DynamoFaults(_faulty_request(getattr(pipeline_env, table), operation), DYNAMODB_ATTEMPTS)
    assert pipeline.send(group_id, token, **market("E-1", qty=2)).status == 202
    assert pipeline.send(group_id, token, **market("E-2", qty=1, side="sell")).status == 202
    with hooked(aws.client("dynamodb"), "before-send.dynamodb", fault):
        pipeline.deliver()
    assert fault.injected == DYNAMODB_ATTEMPTS, what
    figures["faults_injected"] += fault.injected
    copies = [pipeline.copies(group_id, e)[FAULTY] for e in ("E-1", "E-2")]
    assert [(c["status"], c["attempts"]) for c in copies] == [("placed", 2), ("placed", 2)], copies
    assert len(pipeline.orders(FAULTY)) == 2 and pipeline.positions(FAULTY) == {SYMBOL: 1}
    follower = pipeline.call("GET", f"/groups/{group_id}").body["followers"]
    assert all(f["state"] == "active" for f in follower)
    figures["events_sent"] += 2
    final_audit(pipeline, group_id, ["E-1", "E-2"], figures)


# --- SNS publish fails at ingest -----------------------------------------------------------------


@pytest.fixture
def sns_faults() -> Iterator[SnsFaults]:
    faults = SnsFaults()
    client = aws.client("sns")
    with (
        hooked(client, "before-send.sns.Publish", faults.before_send),
        hooked(client, "after-call.sns.Publish", faults.after_call),
    ):
        yield faults


def test_sns_down_at_ingest_answers_503_records_nothing_and_the_retry_is_copied_once(
    pipeline: Pipeline, pipeline_env: Any, fast_backoff: None, sns_faults: SnsFaults, figures: Counter[str]
) -> None:
    group_id, token = two_followers(pipeline)
    sns_faults.down = SNS_ATTEMPTS  # every attempt of the client's retry policy
    reply = pipeline.send(group_id, token, **market("E-1"))
    assert (reply.status, reply.body["error"]["code"]) == (503, "publish_failed")
    assert pipeline.call("GET", f"/groups/{group_id}/events/E-1").status == 404  # nothing recorded
    assert sum(pipeline.queue_depths().values()) == 0
    figures["faults_injected"] += sns_faults.injected

    retried = pipeline.send(group_id, token, **market("E-1"))
    assert (retried.status, retried.body["status"]) == (202, "accepted")
    pipeline.deliver()
    assert len(pipeline.orders(FAULTY)) == 1 and pipeline.positions(HEALTHY) == {SYMBOL: 4}
    figures["events_sent"] += 2
    final_audit(pipeline, group_id, ["E-1"], figures)


def test_sns_response_lost_after_publishing_then_a_prompt_retry_is_copied_once(
    pipeline: Pipeline, sns_faults: SnsFaults, figures: Counter[str]
) -> None:
    group_id, token = two_followers(pipeline)
    sns_faults.lost = 1  # SNS took the message; ingest saw a timeout
    reply = pipeline.send(group_id, token, **market("E-1"))
    assert (reply.status, reply.body["error"]["code"]) == (503, "publish_failed")
    figures["faults_injected"] += sns_faults.injected
    pipeline.deliver_once()  # the message is there, the event is not recorded: retried, not copied
    assert pipeline.orders(FAULTY) == [] and pipeline.orders(HEALTHY) == []

    assert pipeline.send(group_id, token, **market("E-1")).status == 202  # the sender retries
    pipeline.deliver()
    assert len(pipeline.orders(FAULTY)) == 1 and len(pipeline.orders(HEALTHY)) == 1
    figures["events_sent"] += 2
    found = audit(pipeline, group_id, ["E-1"], {FAULTY, HEALTHY}, {FAULTY, HEALTHY}, figures=figures)
    found.assert_clean()
    assert {c["status"] for c in pipeline.copies(group_id, "E-1").values()} == {"placed"}


def test_sns_response_lost_then_a_late_retry_is_still_copied(
    pipeline: Pipeline, sns_faults: SnsFaults, figures: Counter[str]
) -> None:
    group_id, token = two_followers(pipeline)
    sns_faults.lost = 1
    assert pipeline.send(group_id, token, **market("E-1")).status == 503
    figures["faults_injected"] += sns_faults.injected
    pipeline.deliver()  # 3 receives of an unrecorded event: dropped, nothing placed (correct)
    assert pipeline.orders(FAULTY) == []
    # The sender retries later (still within SNS FIFO's 5-minute deduplication window): 202.
    assert pipeline.send(group_id, token, **market("E-1")).status == 202
    pipeline.deliver()
    figures["events_sent"] += 2
    copies = pipeline.copies(group_id, "E-1")
    assert {c["status"] for c in copies.values()} == {"placed"}, copies


# --- the follower's broker is down for minutes, then back ----------------------------------------


def test_follower_broker_down_then_back_locks_skips_and_resumes_without_replaying(
    pipeline: Pipeline, figures: Counter[str]
) -> None:
    group_id, token = two_followers(pipeline, simulate="disconnect")
    pipeline.send(group_id, token, **market("E-1", qty=2))
    pipeline.send(group_id, token, **market("E-2", qty=1))
    pipeline.deliver()  # E-1: 3 attempts, then the follower is locked; E-2 behind it is skipped
    figures["faults_injected"] += 3
    e1, e2 = (pipeline.copies(group_id, e)[FAULTY] for e in ("E-1", "E-2"))
    assert e1["status"] == "failed" and "attempt 3/3" in e1["reason"] and "locked" in e1["reason"]
    assert e2["status"] == "skipped" and "follower locked" in e2["reason"]
    [follower] = [
        f for f in pipeline.call("GET", f"/groups/{group_id}").body["followers"] if f["account_id"] == FAULTY
    ]
    assert follower["state"] == "locked" and "E-1" in follower["lock_reason"]
    assert "disconnect" in follower["lock_reason"]

    reply = pipeline.call("PATCH", f"/groups/{group_id}/followers/{FAULTY}", {"simulate": None})
    assert reply.status == 200 and reply.body["simulate"] is None  # the broker is back
    pipeline.send(group_id, token, **market("E-3", qty=1))
    pipeline.deliver()
    e3 = pipeline.copies(group_id, "E-3")[FAULTY]
    assert e3["status"] == "skipped" and "follower locked" in e3["reason"]  # recorded, not queued

    assert pipeline.call("POST", f"/groups/{group_id}/followers/{FAULTY}/unlock").status == 200
    pipeline.deliver()  # nothing was kept back to replay
    pipeline.send(group_id, token, **market("E-4", qty=1, side="sell"))
    pipeline.deliver()
    e4 = pipeline.copies(group_id, "E-4")[FAULTY]
    assert e4["status"] == "placed"
    [order] = pipeline.orders(FAULTY)  # no stale market order of E-1..E-3, ever
    assert order["client_order_id"] == e4["client_order_id"] and order["side"] == "sell"
    assert pipeline.positions(FAULTY) == {SYMBOL: -1}
    assert pipeline.positions(HEALTHY) == {SYMBOL: 6}  # 2·(2 + 1 + 1 − 1)
    assert depth(pipeline, queue_url(pipeline, group_id, FAULTY, dlq=True)) == 0  # nothing dead-lettered
    figures["events_sent"] += 4
    final_audit(pipeline, group_id, ["E-1", "E-2", "E-3", "E-4"], figures)


# --- a follower is removed while its copies are in flight ----------------------------------------


def test_follower_removed_while_its_copy_is_at_the_broker_keeps_the_order_on_record(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, figures: Counter[str]
) -> None:
    group_id, token = two_followers(pipeline)
    pipeline.send(group_id, token, **market("E-1", qty=2))
    pipeline.send(group_id, token, **market("E-2", qty=1))
    removed: list[int] = []

    def remove_meanwhile(order: BrokerOrder) -> None:
        if not removed:  # the DELETE lands while the executor holds the broker's answer
            removed.append(pipeline.call("DELETE", f"/groups/{group_id}/followers/{FAULTY}").status)
            figures["faults_injected"] += 1

    monkeypatch.setattr(deliveries, "open_broker", brokers_with_hooks({FAULTY: remove_meanwhile}))
    url, messages = receive_batch(pipeline, group_id, FAULTY)
    arn = queue_arn(pipeline, url)
    result = pipeline.executor({"Records": sqs_records(messages, arn)}, FakeContext())
    assert removed == [204] and result == {"batchItemFailures": []}
    pipeline.deliver()

    e1, e2 = (pipeline.copies(group_id, e)[FAULTY] for e in ("E-1", "E-2"))
    [order] = pipeline.orders(FAULTY)
    assert (e1["status"], e1["broker_order_id"]) == ("placed", order["broker_order_id"])  # not lost
    assert e2["status"] == "skipped" and "removed" in e2["reason"]
    assert all(arn != queue for _, queue in pipeline.follower_queues())
    figures["events_sent"] += 2
    final_audit(pipeline, group_id, ["E-1", "E-2"], figures)


def test_follower_removed_with_a_long_backlog_leaves_no_copy_pending(
    pipeline: Pipeline, figures: Counter[str]
) -> None:
    group_id, token = two_followers(pipeline)
    events = [f"E-{n:03d}" for n in range(205)]
    for event_id in events:
        assert pipeline.send(group_id, token, **market(event_id, qty=1)).status == 202
    figures["events_sent"] += len(events)
    assert pipeline.call("DELETE", f"/groups/{group_id}/followers/{FAULTY}").status == 204
    figures["faults_injected"] += 1
    pending = [e for e in events[:10] if pipeline.copies(group_id, e)[FAULTY]["status"] == "pending"]
    assert pending == [], f"{len(pending)} of the oldest copies stay pending: {pending}"
